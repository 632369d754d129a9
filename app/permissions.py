"""Which permission each route needs, stated where the route is defined, and the
dependency that enforces it together with namespace (and task-queue) scoping."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from functools import partial
from typing import Any

from fastapi import Depends, Request
from slowapi.util import get_remote_address

from app.auth import Principal, unauthenticated
from app.context import AppContext, context
from app.errors import ApiError, permission_denied
from app.rate_limits import work
from app.rate_limits.limiter import RateLimiter, Slot, Usage, nearest
from app.rate_limits.middleware import SETTLE_KEY
from app.rate_limits.rules import Limit
from app.services import api_keys


class Permission(StrEnum):
    NAMESPACE_CREATE = "temporal:namespace:create"
    NAMESPACE_READ = "temporal:namespace:read"
    NAMESPACE_UPDATE = "temporal:namespace:update"
    NAMESPACE_DELETE = "temporal:namespace:delete"
    WORKFLOW_START = "temporal:workflow:start"
    WORKFLOW_SIGNAL = "temporal:workflow:signal"
    WORKFLOW_QUERY = "temporal:workflow:query"
    WORKFLOW_READ = "temporal:workflow:read"
    WORKFLOW_LIST = "temporal:workflow:list"
    WORKFLOW_TERMINATE = "temporal:workflow:terminate"
    WORKFLOW_CANCEL = "temporal:workflow:cancel"
    # Beyond the spec: the worker API has its own branch, so a worker credential cannot
    # start or terminate workflows and a client credential cannot poll.
    WORKER_POLL = "temporal:worker:poll"
    WORKER_RESPOND = "temporal:worker:respond"
    WORKER_HEARTBEAT = "temporal:worker:heartbeat"
    WORKER_REGISTER = "temporal:worker:register"
    CLUSTER_API_KEYS = "temporal:cluster:api-keys"
    CLUSTER_READ = "temporal:cluster:read"
    CLUSTER_MANAGE = "temporal:cluster:manage"


async def authenticate(ctx: AppContext, authorization: str | None) -> Principal:
    """A gateway-issued API key, or else a JWT (see app.auth)."""
    credential = (
        (authorization or "")[7:].strip()
        if (authorization or "").lower().startswith("bearer ")
        else ""
    )
    if ctx.settings.auth_enabled and api_keys.is_api_key(credential):
        async with ctx.db.read() as session:
            principal = await api_keys.principal_for(session, credential, ctx.clock.now())
        if principal is None:
            raise unauthenticated("invalid, expired or revoked API key")
        return principal
    return await ctx.authenticator.authenticate(authorization)


async def caller(request: Request) -> Principal:
    """The principal the route's guard admitted (see `requires`). Async: FastAPI runs a
    plain function dependency on a worker thread, a hop the worker routes need not pay."""
    principal: Principal = request.state.principal
    return principal


async def admit(
    ctx: AppContext,
    authorization: str | None,
    address: str,
    permission: Permission,
    budgets: tuple[Limit, ...],
    namespace: str | None,
    task_queue: str | None = None,
    note_usage: Callable[[Usage | None], None] = lambda _: None,
) -> tuple[Principal, dict[Limit, str]]:
    """Admit one call through either door: authenticate, draw on the cluster's and the
    client's budgets, check the permission and the namespace (and task-queue) scope,
    then draw on the call's own budgets. ``note_usage`` hears each usage the reply's
    rate-limit headers could report, the nearest to its limit last."""
    limiter = ctx.rate_limiter
    try:
        principal = await authenticate(ctx, authorization)
    except ApiError:
        note_usage(await limiter.take(_per_request(address)))
        raise
    client = principal.subject if ctx.settings.auth_enabled else address
    usages = [await limiter.take(_per_request(client))]
    note_usage(usages[0])
    authorize(principal, permission, namespace, task_queue)
    scopes = _scopes(namespace or "", task_queue or "", client)
    usages.append(await limiter.take([(b, scopes[b]) for b in budgets if b in DRAWN]))
    usages += [await limiter.check(b, scopes[b]) for b in budgets if b in CHARGED_AFTER]
    note_usage(nearest(usages))
    return principal, scopes


async def hold(
    ctx: AppContext, scopes: dict[Limit, str], budgets: tuple[Limit, ...]
) -> Callable[[], Awaitable[None]] | None:
    """For a call whose budgets are held while it runs (a long-poll slot) or charged by
    what it did: take the slot and start counting; the caller awaits what this returns
    when the call ends. None when the call has no such budget."""
    if Limit.LONG_POLLS not in budgets and not any(b in CHARGED_AFTER for b in budgets):
        return None
    limiter = ctx.rate_limiter
    slot = None
    if Limit.LONG_POLLS in budgets:
        slot = await limiter.enter(Limit.LONG_POLLS, scopes[Limit.LONG_POLLS])
    done = work.begin()
    return partial(_settle, limiter, slot, done, scopes, budgets)


def requires(permission: Permission, *budgets: Limit) -> dict[str, Any]:
    """Keyword arguments for a route decorator: the guard, and the permission and
    rate-limit budgets named in the OpenAPI document. Every API request also draws on
    the cluster's budget and its client's."""

    async def guard(request: Request) -> None:
        # The context is taken here, not as a sub-dependency: FastAPI solves each
        # dependency level per request (~1 % of the CPU of the bench's end to end).
        ctx = await context(request)
        state = request.state
        state.rate_limit = None  # the headers come from this guard, not the middleware
        params = request.path_params
        state.principal, scopes = await admit(
            ctx,
            request.headers.get("authorization"),
            get_remote_address(request),
            permission,
            budgets,
            params.get("namespace"),
            params.get("task_queue"),
            partial(setattr, state, "rate_limit"),
        )
        # Budgets held while the request runs or charged by what it did: settled by
        # the rate-limit middleware when the request ends (a dependency that yields
        # cost FastAPI an exit stack and a cancel scope per request, ~4 % of the CPU
        # of the bench's end to end).
        settle = await hold(ctx, scopes, budgets)
        if settle is not None:
            setattr(state, SETTLE_KEY, settle)

    extra: dict[str, Any] = {"x-permission": permission.value}
    if budgets:
        extra["x-rate-limits"] = [budget.value for budget in budgets]
    return {"dependencies": [Depends(guard)], "openapi_extra": extra}


def requires_unmetered(permission: Permission) -> dict[str, Any]:
    """Like `requires`, but an admitted request draws on no budget: for GET /metrics,
    which a scraper calls every few seconds, often from an address its workers share
    (one "client" in loopback mode), and which must answer when the budgets are spent,
    the moment it is looked at. A credential that fails still draws on its address's
    budgets, so guessing credentials here costs what it costs elsewhere."""

    async def guard(request: Request) -> None:
        ctx = await context(request)
        try:
            principal = await authenticate(ctx, request.headers.get("authorization"))
        except ApiError:
            await ctx.rate_limiter.take(_per_request(get_remote_address(request)))
            raise
        params = request.path_params
        authorize(principal, permission, params.get("namespace"), params.get("task_queue"))
        request.state.principal = principal

    extra = {"x-permission": permission.value, "x-unmetered": True}
    return {"dependencies": [Depends(guard)], "openapi_extra": extra}


async def _settle(
    limiter: RateLimiter,
    slot: Slot | None,
    done: work.RequestWork,
    scopes: dict[Limit, str],
    budgets: tuple[Limit, ...],
) -> None:
    """At the request's end: release its long-poll slot, charge what it did."""
    await limiter.leave(slot)
    for budget, amount in (
        (Limit.HISTORY_EVENTS, done.history_events),
        (Limit.ACTIVITY_EXECUTIONS, done.activity_tasks),
    ):
        if budget in budgets:
            await limiter.spend(budget, scopes[budget], amount)


# Budgets drawn on before the work (one unit per request) and those charged after it by
# what it wrote (refused up front only once spent).
DRAWN = (Limit.WORKFLOW_STARTS, Limit.TASK_QUEUE_OPERATIONS, Limit.HEARTBEATS)
CHARGED_AFTER = (Limit.HISTORY_EVENTS, Limit.ACTIVITY_EXECUTIONS)


def _per_request(client: str) -> list[tuple[Limit, str]]:
    return [(Limit.CLUSTER, "cluster"), (Limit.CLIENT, f"client:{client}")]


def authorize(
    principal: Principal, permission: Permission, namespace: str | None, task_queue: str | None
) -> None:
    if not principal.may(permission):
        raise permission_denied(f"this credential lacks {permission.value}")
    if namespace and not principal.may_use_namespace(namespace):
        raise permission_denied(f"this credential may not act in namespace {namespace!r}")
    if task_queue and not principal.may_use_task_queue(task_queue):
        raise permission_denied(f"this credential may not use task queue {task_queue!r}")


def _scopes(namespace: str, task_queue: str, client: str) -> dict[Limit, str]:
    return {
        Limit.WORKFLOW_STARTS: f"namespace:{namespace}",
        Limit.ACTIVITY_EXECUTIONS: f"namespace:{namespace}",
        Limit.HISTORY_EVENTS: f"namespace:{namespace}",
        Limit.TASK_QUEUE_OPERATIONS: f"task_queue:{namespace}/{task_queue}",
        Limit.HEARTBEATS: f"client:{client}",
        Limit.LONG_POLLS: f"client:{client}",
    }
