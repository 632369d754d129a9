"""QueryWorkflow, and the worker's answer to a query task."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from app.context import AppContext, context
from app.errors import bad_request
from app.models.queries import (
    QueryWorkflowRequest,
    QueryWorkflowResponse,
    RespondQueryTaskCompletedRequest,
)
from app.models.workflows import EmptyResponse
from app.payloads import render
from app.permissions import Permission, requires
from app.routers.docs import errors
from app.routers.run_routes import twin
from app.routers.strict_json import StrictJsonRoute
from app.services import queries

router = APIRouter(
    prefix="/api/v1/namespaces/{namespace}", tags=["Queries"], route_class=StrictJsonRoute
)

DOC = """Ask the workflow's worker a question; nothing is written to history. With no
workflow task pending the query goes out as a query task; otherwise it rides on the next
workflow task. `query_reject_condition` NOT_OPEN / NOT_COMPLETED_CLEANLY answers
`query_rejected` with the status instead. A worker's failure is INVALID_ARGUMENT with a
QueryFailed detail; no answer within 20s is FAILED_PRECONDITION; a query still waiting when
the gateway is told to stop is 503 UNAVAILABLE (retry it)."""


@twin(
    router,
    "/workflows/{workflow_id}/runs/{run_id}/query",
    "/workflows/{workflow_id}/query",
    "POST",
    "QueryWorkflow",
    response_model=QueryWorkflowResponse,
    response_model_exclude_none=True,
    **requires(Permission.WORKFLOW_QUERY),
    responses=errors(404),
    description=DOC,
)
async def query_workflow(
    namespace: str,
    workflow_id: str,
    run_id: str,
    body: QueryWorkflowRequest,
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    if body.execution is not None:
        if body.execution.workflow_id != workflow_id:
            raise bad_request("execution.workflow_id", "execution.workflow_id does not match")
        if body.execution.run_id and run_id and body.execution.run_id != run_id:
            raise bad_request("execution.run_id", "execution.run_id does not match the path")
    answer = await queries.query_workflow(ctx, namespace, workflow_id, run_id, body)
    if "query_result" in answer:
        answer["query_result"] = render(answer["query_result"])
    return answer


@router.post(
    "/query-tasks/complete",
    response_model=EmptyResponse,
    summary="RespondQueryTaskCompleted",
    **requires(Permission.WORKER_RESPOND),
    responses=errors(404),
)
async def respond_query_task_completed(
    namespace: str,
    body: RespondQueryTaskCompletedRequest,
    ctx: AppContext = Depends(context),
) -> EmptyResponse:
    """Answer a query task (a poll response with `query` set): `completed_type` ANSWERED
    with `query_result`, or FAILED with `error_message` / `failure`. A query whose caller
    stopped waiting is NOT_FOUND."""
    await queries.respond_query_task_completed(ctx, namespace, body)
    return EmptyResponse()
