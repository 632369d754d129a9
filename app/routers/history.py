"""GetWorkflowExecutionHistory, with paging and long polls."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from app.context import AppContext, context
from app.errors import bad_request
from app.models.common import parse_duration
from app.models.workflows import (
    GetWorkflowExecutionHistoryResponse,
    HistoryFilterField,
    WorkflowResultResponse,
)
from app.permissions import Permission, requires
from app.routers.docs import errors
from app.routers.run_routes import twin
from app.routers.strict_json import StrictJsonRoute
from app.services import history, results

router = APIRouter(
    prefix="/api/v1/namespaces/{namespace}/workflows",
    tags=["Workflows"],
    route_class=StrictJsonRoute,
)

DOC = """A page of a run's history. `history_event_filter_type=CLOSE_EVENT` returns only
the closing event. With `wait_new_event=true` the call waits (up to the server's window,
20s by default) for a new event — or, with CLOSE_EVENT, for the run to close — and at the
end of the window returns an empty page whose token continues the wait."""


PAGE_SIZE = Query(0, description="Events per page; 0 means the maximum, 256.")
PAGE_TOKEN = Query("", description="Token from the previous page.")
WAIT = Query(False, description="Long poll for new events.")
FILTER = Query(description="ALL_EVENT or CLOSE_EVENT (full proto names too).")


@twin(
    router,
    "/{workflow_id}/runs/{run_id}/history",
    "/{workflow_id}/history",
    "GET",
    "GetWorkflowExecutionHistory",
    response_model=GetWorkflowExecutionHistoryResponse,
    **requires(Permission.WORKFLOW_READ),
    responses=errors(404),
    description=DOC,
)
async def get_history(
    namespace: str,
    workflow_id: str,
    run_id: str,
    maximum_page_size: int = PAGE_SIZE,
    next_page_token: str = PAGE_TOKEN,
    wait_new_event: bool = WAIT,
    history_event_filter_type: Annotated[HistoryFilterField, FILTER] = "ALL_EVENT",
    ctx: AppContext = Depends(context),
) -> GetWorkflowExecutionHistoryResponse:
    page = await history.read_history(
        ctx,
        namespace,
        workflow_id,
        run_id,
        maximum_page_size,
        next_page_token,
        wait_new_event,
        history_event_filter_type,
    )
    return GetWorkflowExecutionHistoryResponse.model_validate(
        {"history": page.events, "next_page_token": page.next_page_token}
    )


RESULT_DOC = """Wait (up to `wait_timeout`, default 20s, at most 50s; `0s` answers at once) for the
run to close and return its outcome: `result` when COMPLETED, `failure` when FAILED,
`details` when CANCELED or TERMINATED, with the closing event. A run still open at the end
of the wait answers `status: RUNNING`."""
WAIT_TIMEOUT = Query(None, description="How long to wait for the outcome, e.g. '30s'.")


@twin(
    router,
    "/{workflow_id}/runs/{run_id}/result",
    "/{workflow_id}/result",
    "GET",
    "GetWorkflowResult",
    response_model=WorkflowResultResponse,
    response_model_exclude_none=True,
    **requires(Permission.WORKFLOW_READ),
    responses=errors(404),
    description=RESULT_DOC,
)
async def get_result(
    namespace: str,
    workflow_id: str,
    run_id: str,
    wait_timeout: str | None = WAIT_TIMEOUT,
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    try:  # the query string's duration; the service applies the default and the cap
        wait = parse_duration(wait_timeout).total_seconds() if wait_timeout else None
    except ValueError as exc:
        raise bad_request("wait_timeout", str(exc)) from None
    return await results.await_result(ctx, namespace, workflow_id, run_id, wait)
