"""Activity workers over HTTP: polling for attempts, heartbeats and outcomes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request

from app.context import AppContext, context
from app.db.database import UnitOfWork
from app.engine import activities as engine
from app.engine import command_values
from app.engine.events import format_seconds
from app.engine.state import MutableState, Transition
from app.errors import bad_request
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
from app.payloads import encode_payloads
from app.permissions import Permission, requires
from app.rate_limits import work
from app.rate_limits.rules import Limit
from app.routers import polling
from app.routers.docs import errors
from app.routers.strict_json import StrictJsonRoute
from app.services import activities as service

router = APIRouter(
    prefix="/api/v1/namespaces/{namespace}", tags=["Worker"], route_class=StrictJsonRoute
)
Change = Callable[[MutableState, int, int, datetime], Transition]


def _payloads(value: Any) -> dict[str, Any] | None:
    return encode_payloads(value) if value is not None else None


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
    claimed, window = await polling.poll(
        request, ctx, namespace, task_queue, body, service.TASK_TYPE, service.claim
    )
    if claimed is None:
        return {"poll_window": format_seconds(window)}
    work.record_activity_task()
    return claimed


async def _apply(
    ctx: AppContext, namespace: str, body_namespace: str | None, token: str, change: Change
) -> None:
    if body_namespace and body_namespace != namespace:
        raise bad_request("namespace", "namespace in the body does not match the path")

    async def work(uow: UnitOfWork) -> None:
        ns = await ctx.namespaces.current(uow.session, namespace)
        await service.apply(uow, ctx, ns, token, change)

    await ctx.db.run(work)


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
    cancel_requested = False

    def change(state: MutableState, sched: int, attempt: int, now: datetime) -> Transition:
        nonlocal cancel_requested
        cancel_requested, transition = engine.heartbeat(
            state, sched, attempt, _payloads(body.details), now
        )
        return transition

    await _apply(ctx, namespace, body.namespace, body.task_token, change)
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
    result = _payloads(body.result)
    await _apply(
        ctx,
        namespace,
        body.namespace,
        body.task_token,
        lambda s, sched, attempt, now: engine.complete(
            s, sched, attempt, result, body.identity, now
        ),
    )
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
    try:
        failure = command_values.encode_failure(body.failure, "")
    except command_values.BadCommand as bad:
        raise bad_request("failure", bad.message) from None
    details = _payloads(body.last_heartbeat_details)
    await _apply(
        ctx,
        namespace,
        body.namespace,
        body.task_token,
        lambda s, sched, attempt, now: engine.fail(
            s, sched, attempt, failure, body.identity, details, now
        ),
    )
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
    details = _payloads(body.details)
    await _apply(
        ctx,
        namespace,
        body.namespace,
        body.task_token,
        lambda s, sched, attempt, now: engine.canceled(
            s, sched, attempt, details, body.identity, now
        ),
    )
    return EmptyResponse()
