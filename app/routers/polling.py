"""Long polls on a task queue over HTTP, the same for workflow and activity tasks: the
request's checks, the window, and ending the poll when its client goes away."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import Request

from app.context import AppContext
from app.db.database import UnitOfWork
from app.db.tables import NamespaceRow
from app.errors import bad_request
from app.models.common import MAX_ID_LENGTH
from app.models.worker import PollTaskQueueRequest
from app.routers.disconnect import client_gone
from app.services import matching

T = TypeVar("T")
# (uow, ctx, ns, task_queue, identity, window) -> the task claimed, or None.
Claim = Callable[[UnitOfWork, AppContext, NamespaceRow, str, str, float], Awaitable[T | None]]


def check_poll_request(task_queue: str, body: PollTaskQueueRequest, namespace: str) -> None:
    if not task_queue or len(task_queue) > MAX_ID_LENGTH:
        raise bad_request("task_queue", f"task_queue must be 1 to {MAX_ID_LENGTH} characters")
    if body.namespace and body.namespace != namespace:
        raise bad_request("namespace", "namespace in the body does not match the path")
    named = body.task_queue.get("name") if isinstance(body.task_queue, dict) else body.task_queue
    if named and named != task_queue:
        raise bad_request("task_queue", "task_queue in the body does not match the path")


async def poll(
    request: Request,
    ctx: AppContext,
    namespace: str,
    task_queue: str,
    body: PollTaskQueueRequest | None,
    task_type: str,
    claim: Claim[T],
) -> tuple[T | None, float]:
    """The task claimed (None when the window ended first or the client left) and the
    window waited, in seconds."""
    body = body or PollTaskQueueRequest()
    check_poll_request(task_queue, body, namespace)
    ns = await ctx.namespaces.get(ctx.db, namespace)
    window = matching.poll_window(body.wait_timeout)
    identity = body.identity

    async def claim_one(uow: UnitOfWork) -> T | None:
        return await claim(uow, ctx, ns, task_queue, identity, window)

    async with client_gone(request) as gone:
        claimed = await matching.long_poll(
            ctx, ns, task_queue, task_type, identity, window, claim_one, gone, body.rate_per_second
        )
    return claimed, window
