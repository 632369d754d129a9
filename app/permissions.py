"""Which permission each route needs, stated where the route is defined, and the
dependency that enforces it together with namespace (and task-queue) scoping."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from fastapi import Depends, Request

from app.auth import Principal, unauthenticated
from app.context import AppContext, context
from app.errors import permission_denied
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
    CLUSTER_API_KEYS = "temporal:cluster:api-keys"


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
    return ctx.authenticator.authenticate(authorization)


def requires(permission: Permission) -> dict[str, Any]:
    """Keyword arguments for a route decorator: the guard, and the permission named in
    the OpenAPI document."""

    async def guard(request: Request, ctx: AppContext = Depends(context)) -> Principal:
        principal = await authenticate(ctx, request.headers.get("authorization"))
        if not principal.may(permission):
            raise permission_denied(f"this credential lacks {permission.value}")
        namespace = request.path_params.get("namespace")
        if namespace and not principal.may_use_namespace(namespace):
            raise permission_denied(f"this credential may not act in namespace {namespace!r}")
        queue = request.path_params.get("task_queue")
        if queue and principal.task_queues is not None and queue not in principal.task_queues:
            raise permission_denied(f"this credential may not use task queue {queue!r}")
        request.state.principal = principal
        return principal

    return {"dependencies": [Depends(guard)], "openapi_extra": {"x-permission": permission.value}}
