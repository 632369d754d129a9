"""Activity workers over HTTP: polling for attempts, heartbeats and outcomes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from app.context import AppContext, context
from app.models.activities import (
    PollActivityTaskQueueResponse,
    RecordActivityTaskHeartbeatRequest,
    RecordActivityTaskHeartbeatResponse,
    RespondActivityTaskCanceledRequest,
    RespondActivityTaskCompletedRequest,
    RespondActivityTaskFailedRequest,
)
from app.models.worker import PollTaskQueueRequest
from app.models.workflows import EmptyResponse
from app.permissions import Permission, requires
from app.rate_limits.rules import Limit
from app.routers.disconnect import client_gone
from app.routers.docs import errors
from app.routers.strict_json import StrictJsonRoute
from app.services import activities as service

router = APIRouter(
    prefix="/api/v1/namespaces/{namespace}", tags=["Worker"], route_class=StrictJsonRoute
)


@router.post(
    "/task-queues/{task_queue}/activity-tasks/poll",
    response_model=PollActivityTaskQueueResponse,
    summary="PollActivityTaskQueue",
    **requires(
        Permission.WORKER_POLL,
        Limit.TASK_QUEUE_OPERATIONS,
        Limit.LONG_POLLS,
        Limit.ACTIVITY_EXECUTIONS,
    ),
    responses=errors(404),
)
async def poll_activity_task_queue(
    namespace: str,
    task_queue: str,
    request: Request,
    body: PollTaskQueueRequest | None = None,
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    """Wait for an activity attempt (up to `wait_timeout`, at most 50s): its input, attempt,
    timeouts and the heartbeat details of the previous attempt. With none, the response
    is empty (`task_token` "") and names the window it waited."""
    async with client_gone(request) as gone:
        return await service.poll(ctx, namespace, task_queue, body, gone)


@router.post(
    "/activities/heartbeat",
    response_model=RecordActivityTaskHeartbeatResponse,
    summary="RecordActivityTaskHeartbeat",
    **requires(Permission.WORKER_HEARTBEAT, Limit.HEARTBEATS),
    responses=errors(404),
)
async def record_activity_task_heartbeat(
    namespace: str,
    body: RecordActivityTaskHeartbeatRequest,
    ctx: AppContext = Depends(context),
) -> RecordActivityTaskHeartbeatResponse:
    """Report progress: keeps `details` for the next attempt, resets the heartbeat
    timeout, and answers whether the workflow asked to cancel the activity."""
    cancel_requested = await service.record_heartbeat(ctx, namespace, body)
    return RecordActivityTaskHeartbeatResponse(cancel_requested=cancel_requested)


@router.post(
    "/activities/complete",
    response_model=EmptyResponse,
    summary="RespondActivityTaskCompleted",
    **requires(Permission.WORKER_RESPOND, Limit.HISTORY_EVENTS),
    responses=errors(404),
)
async def respond_activity_task_completed(
    namespace: str,
    body: RespondActivityTaskCompletedRequest,
    ctx: AppContext = Depends(context),
) -> EmptyResponse:
    """The attempt succeeded: ActivityTaskStarted and ActivityTaskCompleted are written
    and the workflow gets a task. An attempt that already timed out is NOT_FOUND."""
    await service.respond_completed(ctx, namespace, body)
    return EmptyResponse()


@router.post(
    "/activities/fail",
    response_model=EmptyResponse,
    summary="RespondActivityTaskFailed",
    **requires(Permission.WORKER_RESPOND, Limit.HISTORY_EVENTS),
    responses=errors(404),
)
async def respond_activity_task_failed(
    namespace: str,
    body: RespondActivityTaskFailedRequest,
    ctx: AppContext = Depends(context),
) -> EmptyResponse:
    """The attempt failed. The server retries per the activity's retry policy (no
    history event); when retries end, ActivityTaskStarted and ActivityTaskFailed are
    written with the retry state."""
    await service.respond_failed(ctx, namespace, body)
    return EmptyResponse()


@router.post(
    "/activities/resolve-as-canceled",
    response_model=EmptyResponse,
    summary="RespondActivityTaskCanceled",
    **requires(Permission.WORKER_RESPOND, Limit.HISTORY_EVENTS),
    responses=errors(404),
)
async def respond_activity_task_canceled(
    namespace: str,
    body: RespondActivityTaskCanceledRequest,
    ctx: AppContext = Depends(context),
) -> EmptyResponse:
    """Confirm a cancellation the workflow requested (seen as `cancel_requested` on a
    heartbeat): writes ActivityTaskCanceled. Without a request it is FAILED_PRECONDITION."""
    await service.respond_canceled(ctx, namespace, body)
    return EmptyResponse()
