"""Finding workflows: List, Scan and Count with the SQL-like list query, and the
registration of custom search attributes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from app.context import AppContext, context
from app.models.visibility import (
    AddSearchAttributesRequest,
    CountWorkflowExecutionsResponse,
    ListSearchAttributesResponse,
    ListWorkflowExecutionsResponse,
    ScanWorkflowExecutionsRequest,
)
from app.models.workflows import EmptyResponse
from app.permissions import Permission, requires
from app.routers.docs import errors
from app.routers.strict_json import StrictJsonRoute
from app.services import search_attributes, visibility

router = APIRouter(
    prefix="/api/v1/namespaces/{namespace}", tags=["Visibility"], route_class=StrictJsonRoute
)

QUERY = Query(
    "",
    description="List filter, e.g. WorkflowType='W' AND ExecutionStatus='Running' "
    "ORDER BY StartTime DESC.",
)
PAGE_SIZE = Query(0, description="Runs per page; 0 means the maximum, 1000.")
PAGE_TOKEN = Query("", description="Token from the previous page.")


@router.get(
    "/workflows/count",
    response_model=CountWorkflowExecutionsResponse,
    response_model_exclude_none=True,
    summary="CountWorkflowExecutions",
    **requires(Permission.WORKFLOW_LIST),
    responses=errors(404),
)
async def count_workflows(
    namespace: str, query: str = QUERY, ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    """How many runs match the query; with `GROUP BY ExecutionStatus`, per status."""
    return await visibility.count_workflows(ctx, namespace, query)


@router.get(
    "/workflows",
    response_model=ListWorkflowExecutionsResponse,
    response_model_exclude_none=True,
    summary="ListWorkflowExecutions",
    **requires(Permission.WORKFLOW_LIST),
    responses=errors(404),
)
async def list_workflows(
    namespace: str,
    query: str = QUERY,
    page_size: int = PAGE_SIZE,
    next_page_token: str = PAGE_TOKEN,
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    """Runs matching the query, newest first unless the query says ORDER BY; page with
    `next_page_token` (runs started after the first page do not disturb the pages)."""
    executions, token = await visibility.list_workflows(
        ctx, namespace, query, page_size, next_page_token
    )
    return {"executions": executions, "next_page_token": token}


@router.post(
    "/workflows/scan",
    response_model=ListWorkflowExecutionsResponse,
    response_model_exclude_none=True,
    summary="ScanWorkflowExecutions",
    **requires(Permission.WORKFLOW_LIST),
    responses=errors(404),
)
async def scan_workflows(
    namespace: str,
    body: ScanWorkflowExecutionsRequest | None = None,
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    """Like List but in storage order, without ORDER BY: the cheapest way to visit every
    matching run."""
    body = body or ScanWorkflowExecutionsRequest()
    executions, token = await visibility.list_workflows(
        ctx, namespace, body.query, body.page_size, body.next_page_token, scan=True
    )
    return {"executions": executions, "next_page_token": token}


@router.get(
    "/search-attributes",
    response_model=ListSearchAttributesResponse,
    summary="ListSearchAttributes",
    **requires(Permission.NAMESPACE_READ),
    responses=errors(404),
)
async def list_search_attributes(
    namespace: str, ctx: AppContext = Depends(context)
) -> ListSearchAttributesResponse:
    """The namespace's custom search attributes and the system ones, with their types."""
    return ListSearchAttributesResponse.model_validate(
        await search_attributes.list_registered(ctx, namespace)
    )


@router.post(
    "/search-attributes",
    response_model=EmptyResponse,
    summary="AddSearchAttributes",
    **requires(Permission.NAMESPACE_UPDATE),
    responses=errors(404, 409),
)
async def add_search_attributes(
    namespace: str, body: AddSearchAttributesRequest, ctx: AppContext = Depends(context)
) -> EmptyResponse:
    """Register custom search attributes (name -> type). Registering an existing name
    with the same type is a no-op; with another type, ALREADY_EXISTS."""
    await search_attributes.register(ctx, namespace, body.search_attributes)
    return EmptyResponse()


@router.delete(
    "/search-attributes/{name}",
    response_model=EmptyResponse,
    summary="RemoveSearchAttribute",
    **requires(Permission.NAMESPACE_UPDATE),
    responses=errors(404),
)
async def remove_search_attribute(
    namespace: str, name: str, ctx: AppContext = Depends(context)
) -> EmptyResponse:
    """Unregister a custom search attribute; values already stored stay in the runs."""
    await search_attributes.unregister(ctx, namespace, [name])
    return EmptyResponse()
