"""Workflow execution operations. Runs are addressed as
``/workflows/{workflow_id}/runs/{run_id}``, or ``/workflows/{workflow_id}`` for the
current run: each operation on a run is defined once and registered on both paths
(run_routes.twin). The handlers only translate HTTP; the work is app/services/workflows.py's,
which the gRPC door calls too."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Query

from app.context import AppContext, context
from app.errors import bad_request
from app.models.workflows import (
    EmptyResponse,
    GetWorkflowExecutionResponse,
    RequestCancelWorkflowExecutionRequest,
    SignalWithStartWorkflowExecutionRequest,
    SignalWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
    StartWorkflowExecutionResponse,
    TerminateWorkflowExecutionRequest,
)
from app.permissions import Permission, requires
from app.rate_limits.rules import Limit
from app.routers.docs import errors
from app.routers.run_routes import Handler, twin
from app.routers.strict_json import StrictJsonRoute
from app.services import descriptions
from app.services import workflows as service

router = APIRouter(
    prefix="/api/v1/namespaces/{namespace}/workflows",
    tags=["Workflows"],
    route_class=StrictJsonRoute,
)
RUN = "/{workflow_id}/runs/{run_id}"
CURRENT = "/{workflow_id}"

Body = (
    StartWorkflowExecutionRequest
    | SignalWorkflowExecutionRequest
    | RequestCancelWorkflowExecutionRequest
    | TerminateWorkflowExecutionRequest
)


def _check_body(workflow_id: str, run_id: str, body: Body | None) -> None:
    """The rule of every body route, applied in one place (``_body_checked``): where the
    body repeats the path's workflow id or run id, it must agree (400 INVALID_ARGUMENT
    naming the field). Its namespace is checked for every route (StrictJsonRoute)."""
    if body is None:
        return
    if isinstance(body, StartWorkflowExecutionRequest):  # and signal-with-start
        if workflow_id and body.workflow_id and body.workflow_id != workflow_id:
            raise bad_request("workflow_id", "workflow_id in the body does not match the path")
        return
    service.check_body_matches(workflow_id, run_id, body.workflow_execution)


def _body_checked(handler: Handler) -> Handler:
    """The handler, behind the body rule if it takes a body. A plain call in the
    handler's own coroutine, not a FastAPI dependency (each dependency is solved per
    request, and the start route is the hot one)."""
    if "body" not in inspect.signature(handler).parameters:
        return handler

    @functools.wraps(handler)
    async def checked(**values: Any) -> Any:
        _check_body(
            values.get("workflow_id", ""),
            values.get("run_id", ""),
            values["body"],
        )
        return await handler(**values)

    return checked


def _route(method: str, path: str, summary: str, handler: Handler, **route: Any) -> Handler:
    endpoint = _body_checked(handler)
    router.add_api_route(path, endpoint, methods=[method], summary=summary, **route)
    return handler


def _single(method: str, path: str, summary: str, **route: Any) -> Callable[[Handler], Handler]:
    """Register an operation on one path."""

    def register(handler: Handler) -> Handler:
        return _route(method, path, summary, handler, **route)

    return register


def _twin(method: str, suffix: str, summary: str, **route: Any) -> Callable[[Handler], Handler]:
    """Register an operation on a run and on the current run (see run_routes.twin)."""
    return twin(
        router, RUN + suffix, CURRENT + suffix, method, summary, wrap=_body_checked, **route
    )


@_single(
    "POST",
    "",
    "StartWorkflowExecution",
    response_model=StartWorkflowExecutionResponse,
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
    return await service.start_workflow(ctx, namespace, body)


@_single(
    "POST",
    CURRENT + "/signal-with-start",
    "SignalWithStartWorkflowExecution",
    response_model=StartWorkflowExecutionResponse,
    **requires(Permission.WORKFLOW_START, Limit.WORKFLOW_STARTS, Limit.HISTORY_EVENTS),
    responses=errors(404, 409),
)
async def signal_with_start_workflow(
    namespace: str,
    workflow_id: str,
    body: SignalWithStartWorkflowExecutionRequest,
    ctx: AppContext = Depends(context),
) -> StartWorkflowExecutionResponse:
    """Signal the running run of the workflow id, or start a new run and signal it:
    history [WorkflowExecutionStarted, WorkflowExecutionSignaled, WorkflowTaskScheduled],
    `started` true. A running run is signalled (a workflow task scheduled if none is
    pending) and answered with `started` false; the conflict policy defaults to
    USE_EXISTING (TERMINATE_EXISTING starts a new run instead; FAIL is invalid). A closed
    run is replaced as the id reuse policy allows, else WORKFLOW_EXECUTION_ALREADY_STARTED.
    `request_id` names the start and the signal: a retry while the run is open is
    answered with its run_id and records no second signal. A signal-with-start ends a
    start delay or cron wait at once. Temporal treats it as a start: it takes the start
    permission and the workflow-starts budget, not the signal permission."""
    if not body.workflow_id:
        body = body.model_copy(update={"workflow_id": workflow_id})
    return await service.signal_with_start_workflow(ctx, namespace, body)


PAGE_SIZE = Query(0, description="Events per page; 0 means the maximum, 256.")
PAGE_TOKEN = Query("", description="Token from the previous page.")


@_twin(
    "GET",
    "",
    "GetWorkflowExecution",
    current_description="The current (latest) run of a workflow id, as GetWorkflowExecution.",
    response_model=GetWorkflowExecutionResponse,
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
    return await descriptions.get_workflow_execution(
        ctx, namespace, workflow_id, run_id, maximum_page_size, next_page_token
    )


@_twin(
    "POST",
    "/signal",
    "SignalWorkflowExecution",
    response_model=EmptyResponse,
    **requires(Permission.WORKFLOW_SIGNAL, Limit.HISTORY_EVENTS),
    responses=errors(404, 409),
)
async def signal_workflow(
    namespace: str,
    workflow_id: str,
    run_id: str,
    body: SignalWorkflowExecutionRequest,
    ctx: AppContext = Depends(context),
) -> EmptyResponse:
    """Record a signal (WorkflowExecutionSignaled) and schedule a workflow task
    if none is pending. A repeated request_id is applied once. A closed run is
    WORKFLOW_EXECUTION_COMPLETED."""
    await service.signal_workflow(ctx, namespace, workflow_id, run_id, body)
    return EmptyResponse()


@_twin(
    "POST",
    "/cancel",
    "RequestCancelWorkflowExecution",
    response_model=EmptyResponse,
    **requires(Permission.WORKFLOW_CANCEL, Limit.HISTORY_EVENTS),
    responses=errors(404),
)
async def cancel_workflow(
    namespace: str,
    workflow_id: str,
    run_id: str,
    body: RequestCancelWorkflowExecutionRequest | None = None,
    ctx: AppContext = Depends(context),
) -> EmptyResponse:
    """Ask the workflow to cancel itself: records WorkflowExecutionCancelRequested
    and schedules a workflow task; the workflow decides. Repeating the request, or asking a
    closed run, succeeds without effect."""
    request = body or RequestCancelWorkflowExecutionRequest()
    await service.request_cancel_workflow(ctx, namespace, workflow_id, run_id, request)
    return EmptyResponse()


@_twin(
    "POST",
    "/terminate",
    "TerminateWorkflowExecution",
    response_model=EmptyResponse,
    **requires(Permission.WORKFLOW_TERMINATE, Limit.HISTORY_EVENTS),
    responses=errors(404, 409),
)
async def terminate_workflow(
    namespace: str,
    workflow_id: str,
    run_id: str,
    body: TerminateWorkflowExecutionRequest | None = None,
    ctx: AppContext = Depends(context),
) -> EmptyResponse:
    """Close the run at once with WorkflowExecutionTerminated; no workflow code
    runs. A closed run is WORKFLOW_EXECUTION_COMPLETED."""
    request = body or TerminateWorkflowExecutionRequest()
    await service.terminate_workflow(ctx, namespace, workflow_id, run_id, request)
    return EmptyResponse()
