"""The worker API over HTTP: long polls on task queues and the answers to tasks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from app.auth import Principal
from app.context import AppContext, context
from app.db.database import UnitOfWork
from app.db.tables import NamespaceRow
from app.engine.events import format_seconds
from app.errors import bad_request
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
from app.rate_limits.work import record_activity_task
from app.routers import polling
from app.routers.docs import errors
from app.routers.strict_json import StrictJsonRoute
from app.services import query_store
from app.services import workflow_tasks as service
from app.services.workflow_tasks import CompletionOutcome

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
    claimed, window = await polling.poll(
        request, ctx, namespace, task_queue, body, service.TASK_TYPE, _claim
    )
    if claimed is None:
        return {"poll_window": format_seconds(window)}
    return claimed.response


async def _claim(
    uow: UnitOfWork,
    ctx: AppContext,
    ns: NamespaceRow,
    task_queue: str,
    identity: str,
    window: float,
) -> service.ClaimedTask | None:
    """A waiting query goes first (it is cheap and a caller is blocked on it); then the
    oldest workflow task."""
    skip_locked = not ctx.db.is_sqlite
    query = await query_store.take_direct(uow.session, ns.id, task_queue, skip_locked=skip_locked)
    if query is not None:
        task = await service.query_task(uow, ctx, ns, query, window)
        if task is not None:
            return task
    claimed = await service.claim(uow, ctx, ns, task_queue, identity, window)
    if claimed is not None and claimed.response.get("started_event_id"):
        await service.attach_queries(uow.session, ns, claimed.response)
    return claimed


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
    if body.namespace and body.namespace != namespace:
        raise bad_request("namespace", "namespace in the body does not match the path")
    # A child, signal or cancel request naming a namespace the credential may not act in
    # is PERMISSION_DENIED before anything is written.
    service.authorize_commands(principal, body.commands)

    async def work(uow: UnitOfWork) -> CompletionOutcome:
        ns = await ctx.namespaces.current(uow.session, namespace)
        outcome = await service.respond_completed(uow, ctx, ns, body)
        await service.settle_queries(
            uow, ctx, outcome.claims, body.query_results, outcome.task_pending
        )
        return outcome

    outcome = await ctx.db.run(work)
    if outcome.failed is not None:
        raise outcome.failed
    for _ in outcome.activity_tasks:
        record_activity_task()
    return {"workflow_task": outcome.new_task, "activity_tasks": outcome.activity_tasks}


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
    if body.namespace and body.namespace != namespace:
        raise bad_request("namespace", "namespace in the body does not match the path")

    async def work(uow: UnitOfWork) -> None:
        ns = await ctx.namespaces.current(uow.session, namespace)
        await service.respond_failed(uow, ctx, ns, body)

    await ctx.db.run(work)
    return EmptyResponse()
