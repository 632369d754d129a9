"""Workflow execution operations. Runs are addressed as
``/workflows/{workflow_id}/runs/{run_id}``, or ``/workflows/{workflow_id}`` for the
current run."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from app.context import AppContext, context
from app.models.workflows import (
    EmptyResponse,
    GetWorkflowExecutionResponse,
    HistoryEventFilterType,
    RequestCancelWorkflowExecutionRequest,
    SignalWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
    StartWorkflowExecutionResponse,
    TerminateWorkflowExecutionRequest,
)
from app.permissions import Permission, requires
from app.rate_limits.rules import Limit
from app.routers.docs import errors
from app.routers.strict_json import StrictJsonRoute
from app.services import history
from app.services import workflows as service

router = APIRouter(
    prefix="/api/v1/namespaces/{namespace}/workflows",
    tags=["Workflows"],
    route_class=StrictJsonRoute,
)
RUN = "/{workflow_id}/runs/{run_id}"
CURRENT = "/{workflow_id}"


@router.post(
    "",
    response_model=StartWorkflowExecutionResponse,
    summary="StartWorkflowExecution",
    **requires(Permission.WORKFLOW_START, Limit.WORKFLOW_STARTS, Limit.HISTORY_EVENTS),
    responses=errors(404, 409),
)
async def start_workflow(
    namespace: str, body: StartWorkflowExecutionRequest, ctx: AppContext = Depends(context)
) -> StartWorkflowExecutionResponse:
    """Start a workflow run: writes WorkflowExecutionStarted and the first
    WorkflowTaskScheduled (or, for cron and start delays, the first-task backoff) in one
    transaction. A running duplicate id is WORKFLOW_EXECUTION_ALREADY_STARTED with the
    running run_id in the details; a retry with the same request_id returns the same run."""
    service.check_body_matches(namespace, body.namespace, body.workflow_id, "", None)
    return await service.start_workflow(ctx, namespace, body)


async def _describe(
    ctx: AppContext,
    namespace: str,
    workflow_id: str,
    run_id: str,
    maximum_page_size: int,
    next_page_token: str,
) -> dict[str, Any]:
    ns = await ctx.namespaces.get(ctx.db, namespace)
    page = await history.get_page(
        ctx,
        ns,
        workflow_id,
        run_id,
        maximum_page_size,
        next_page_token,
        False,
        HistoryEventFilterType.ALL_EVENT,
    )
    return {
        **history.describe(page.run),
        "workflow_execution_history": page.events,
        "next_page_token": page.next_page_token,
    }


PAGE_SIZE = Query(0, description="Events per page; 0 means the maximum, 256.")
PAGE_TOKEN = Query("", description="Token from the previous page.")


@router.get(
    RUN,
    response_model=GetWorkflowExecutionResponse,
    summary="GetWorkflowExecution",
    **requires(Permission.WORKFLOW_READ),
    responses=errors(404),
)
async def get_workflow(
    namespace: str,
    workflow_id: str,
    run_id: str,
    maximum_page_size: int = PAGE_SIZE,
    next_page_token: str = PAGE_TOKEN,
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    """A run's execution info and the first page of its history."""
    return await _describe(ctx, namespace, workflow_id, run_id, maximum_page_size, next_page_token)


@router.get(
    CURRENT,
    response_model=GetWorkflowExecutionResponse,
    summary="GetWorkflowExecution (current run)",
    **requires(Permission.WORKFLOW_READ),
    responses=errors(404),
)
async def get_current_workflow(
    namespace: str,
    workflow_id: str,
    maximum_page_size: int = PAGE_SIZE,
    next_page_token: str = PAGE_TOKEN,
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    """The current (latest) run of a workflow id, as GetWorkflowExecution."""
    return await _describe(ctx, namespace, workflow_id, "", maximum_page_size, next_page_token)


async def _signal(
    ctx: AppContext,
    namespace: str,
    workflow_id: str,
    run_id: str,
    body: SignalWorkflowExecutionRequest,
) -> EmptyResponse:
    service.check_body_matches(
        namespace, body.namespace, workflow_id, run_id, body.workflow_execution
    )
    await service.signal_workflow(ctx, namespace, workflow_id, run_id, body)
    return EmptyResponse()


SIGNAL_DOC = """Record a signal (WorkflowExecutionSignaled) and schedule a workflow task
if none is pending. A repeated request_id is applied once. A closed run is
WORKFLOW_EXECUTION_COMPLETED."""


@router.post(
    RUN + "/signal",
    response_model=EmptyResponse,
    summary="SignalWorkflowExecution",
    **requires(Permission.WORKFLOW_SIGNAL, Limit.HISTORY_EVENTS),
    responses=errors(404, 409),
    description=SIGNAL_DOC,
)
async def signal_workflow(
    namespace: str,
    workflow_id: str,
    run_id: str,
    body: SignalWorkflowExecutionRequest,
    ctx: AppContext = Depends(context),
) -> EmptyResponse:
    return await _signal(ctx, namespace, workflow_id, run_id, body)


@router.post(
    CURRENT + "/signal",
    response_model=EmptyResponse,
    summary="SignalWorkflowExecution (current run)",
    **requires(Permission.WORKFLOW_SIGNAL, Limit.HISTORY_EVENTS),
    responses=errors(404, 409),
    description=SIGNAL_DOC,
)
async def signal_current_workflow(
    namespace: str,
    workflow_id: str,
    body: SignalWorkflowExecutionRequest,
    ctx: AppContext = Depends(context),
) -> EmptyResponse:
    return await _signal(ctx, namespace, workflow_id, "", body)


async def _cancel(
    ctx: AppContext,
    namespace: str,
    workflow_id: str,
    run_id: str,
    body: RequestCancelWorkflowExecutionRequest,
) -> EmptyResponse:
    service.check_body_matches(
        namespace, body.namespace, workflow_id, run_id, body.workflow_execution
    )
    await service.request_cancel_workflow(ctx, namespace, workflow_id, run_id, body)
    return EmptyResponse()


CANCEL_DOC = """Ask the workflow to cancel itself: records WorkflowExecutionCancelRequested
and schedules a workflow task; the workflow decides. Repeating the request, or asking a
closed run, succeeds without effect."""


@router.post(
    RUN + "/cancel",
    response_model=EmptyResponse,
    summary="RequestCancelWorkflowExecution",
    **requires(Permission.WORKFLOW_CANCEL, Limit.HISTORY_EVENTS),
    responses=errors(404),
    description=CANCEL_DOC,
)
async def cancel_workflow(
    namespace: str,
    workflow_id: str,
    run_id: str,
    body: RequestCancelWorkflowExecutionRequest | None = None,
    ctx: AppContext = Depends(context),
) -> EmptyResponse:
    return await _cancel(
        ctx, namespace, workflow_id, run_id, body or RequestCancelWorkflowExecutionRequest()
    )


@router.post(
    CURRENT + "/cancel",
    response_model=EmptyResponse,
    summary="RequestCancelWorkflowExecution (current run)",
    **requires(Permission.WORKFLOW_CANCEL, Limit.HISTORY_EVENTS),
    responses=errors(404),
    description=CANCEL_DOC,
)
async def cancel_current_workflow(
    namespace: str,
    workflow_id: str,
    body: RequestCancelWorkflowExecutionRequest | None = None,
    ctx: AppContext = Depends(context),
) -> EmptyResponse:
    return await _cancel(
        ctx, namespace, workflow_id, "", body or RequestCancelWorkflowExecutionRequest()
    )


async def _terminate(
    ctx: AppContext,
    namespace: str,
    workflow_id: str,
    run_id: str,
    body: TerminateWorkflowExecutionRequest,
) -> EmptyResponse:
    service.check_body_matches(
        namespace, body.namespace, workflow_id, run_id, body.workflow_execution
    )
    await service.terminate_workflow(ctx, namespace, workflow_id, run_id, body)
    return EmptyResponse()


TERMINATE_DOC = """Close the run at once with WorkflowExecutionTerminated; no workflow code
runs. A closed run is WORKFLOW_EXECUTION_COMPLETED."""


@router.post(
    RUN + "/terminate",
    response_model=EmptyResponse,
    summary="TerminateWorkflowExecution",
    **requires(Permission.WORKFLOW_TERMINATE, Limit.HISTORY_EVENTS),
    responses=errors(404, 409),
    description=TERMINATE_DOC,
)
async def terminate_workflow(
    namespace: str,
    workflow_id: str,
    run_id: str,
    body: TerminateWorkflowExecutionRequest | None = None,
    ctx: AppContext = Depends(context),
) -> EmptyResponse:
    return await _terminate(
        ctx, namespace, workflow_id, run_id, body or TerminateWorkflowExecutionRequest()
    )


@router.post(
    CURRENT + "/terminate",
    response_model=EmptyResponse,
    summary="TerminateWorkflowExecution (current run)",
    **requires(Permission.WORKFLOW_TERMINATE, Limit.HISTORY_EVENTS),
    responses=errors(404, 409),
    description=TERMINATE_DOC,
)
async def terminate_current_workflow(
    namespace: str,
    workflow_id: str,
    body: TerminateWorkflowExecutionRequest | None = None,
    ctx: AppContext = Depends(context),
) -> EmptyResponse:
    return await _terminate(
        ctx, namespace, workflow_id, "", body or TerminateWorkflowExecutionRequest()
    )
