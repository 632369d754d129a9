"""The worker API over HTTP: long polls on task queues and the answers to tasks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from app.auth import Principal
from app.context import AppContext, context
from app.models.worker import (
    PollTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
    RespondWorkflowTaskCompletedRequest,
    RespondWorkflowTaskCompletedResponse,
    RespondWorkflowTaskFailedRequest,
)
from app.models.workflows import EmptyResponse
from app.permissions import Permission, caller, requires
from app.rate_limits.rules import Limit
from app.routers.disconnect import client_gone
from app.routers.docs import errors
from app.routers.strict_json import StrictJsonRoute
from app.services import workflow_tasks as service

router = APIRouter(
    prefix="/api/v1/namespaces/{namespace}", tags=["Worker"], route_class=StrictJsonRoute
)


@router.post(
    "/task-queues/{task_queue}/workflow-tasks/poll",
    response_model=PollWorkflowTaskQueueResponse,
    summary="PollWorkflowTaskQueue",
    **requires(
        Permission.WORKER_POLL, Limit.TASK_QUEUE_OPERATIONS, Limit.LONG_POLLS, Limit.HISTORY_EVENTS
    ),
    responses=errors(404),
)
async def poll_workflow_task_queue(
    namespace: str,
    task_queue: str,
    request: Request,
    body: PollTaskQueueRequest | None = None,
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    """Wait for a workflow task (up to `wait_timeout`, at most 50s). The task is returned
    with the run's history; with none, the response is empty (`task_token` "") and names
    the window it waited."""
    async with client_gone(request) as gone:
        return await service.poll(ctx, namespace, task_queue, body, gone)


@router.post(
    "/workflow-tasks/complete",
    response_model=RespondWorkflowTaskCompletedResponse,
    summary="RespondWorkflowTaskCompleted",
    **requires(Permission.WORKER_RESPOND, Limit.HISTORY_EVENTS, Limit.ACTIVITY_EXECUTIONS),
    responses=errors(404),
)
async def respond_workflow_task_completed(
    namespace: str,
    body: RespondWorkflowTaskCompletedRequest,
    ctx: AppContext = Depends(context),
    principal: Principal = Depends(caller),
) -> dict[str, Any]:
    """Answer a workflow task with commands. A command with bad attributes fails the task
    (WorkflowTaskFailed with its cause, a new attempt is scheduled) and the call answers
    INVALID_ARGUMENT naming the cause; a stale or unknown task is NOT_FOUND. Activities
    scheduled on the workflow's own task queue with `request_eager_execution` start at
    once and come back in `activity_tasks`, as a poll would return them."""
    return await service.respond_completed(ctx, namespace, principal, body)


@router.post(
    "/workflow-tasks/fail",
    response_model=EmptyResponse,
    summary="RespondWorkflowTaskFailed",
    **requires(Permission.WORKER_RESPOND, Limit.HISTORY_EVENTS),
    responses=errors(404),
)
async def respond_workflow_task_failed(
    namespace: str,
    body: RespondWorkflowTaskFailedRequest,
    ctx: AppContext = Depends(context),
) -> EmptyResponse:
    """Report that the worker could not process a workflow task; the next attempt is
    scheduled (consecutive failures are written to history once)."""
    await service.respond_failed(ctx, namespace, body)
    return EmptyResponse()
