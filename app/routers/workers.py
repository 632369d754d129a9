"""RegisterWorker: a worker announces its task queue and what it can run."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from app.auth import Principal
from app.context import AppContext, context
from app.errors import permission_denied
from app.models.workers import RegisteredWorker, RegisterWorkerRequest
from app.permissions import Permission, caller, requires
from app.routers.docs import errors
from app.routers.strict_json import StrictJsonRoute
from app.services import workers as service

router = APIRouter(
    prefix="/api/v1/namespaces/{namespace}/workers", tags=["Worker"], route_class=StrictJsonRoute
)


@router.post(
    "",
    response_model=RegisteredWorker,
    summary="RegisterWorker",
    **requires(Permission.WORKER_REGISTER),
    responses=errors(404),
)
async def register_worker(
    namespace: str,
    body: RegisterWorkerRequest,
    ctx: AppContext = Depends(context),
    principal: Principal = Depends(caller),
) -> dict[str, Any]:
    """Register a worker on a task queue with the workflow and activity types it runs.
    The registration is listed by DescribeTaskQueue until it lapses: it is kept alive by
    registering again or by polling the queue with the same identity."""
    # The guard checks a task queue in the path; this one is in the body.
    queue = service.queue_name(body)
    if not principal.may_use_task_queue(queue):
        raise permission_denied(f"this credential may not use task queue {queue!r}")
    ttl = ctx.settings.worker_registration_ttl_seconds
    async with ctx.db.write() as uow:
        ns = await ctx.namespaces.current(uow.session, namespace)
        row = await service.register(uow.session, ns.id, body, ctx.clock.now(), ttl)
        return service.describe(row, ttl)
