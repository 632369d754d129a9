"""RegisterWorker: a worker announces its task queue and what it can run."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from app.auth import Principal
from app.context import AppContext, context
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
    return await service.register_worker(ctx, namespace, principal, body)
