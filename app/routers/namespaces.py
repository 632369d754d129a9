"""Namespace operations."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from app.auth import Principal
from app.context import AppContext, context
from app.models.namespaces import (
    DeleteNamespaceResponse,
    DescribeNamespaceResponse,
    ListNamespacesResponse,
    RegisterNamespaceRequest,
    UpdateNamespaceRequest,
)
from app.permissions import Permission, caller, requires
from app.routers.docs import errors
from app.routers.strict_json import StrictJsonRoute
from app.services import namespace_operations as service

router = APIRouter(prefix="/api/v1/namespaces", tags=["Namespaces"], route_class=StrictJsonRoute)


@router.post(
    "",
    response_model=DescribeNamespaceResponse,
    summary="RegisterNamespace",
    **requires(Permission.NAMESPACE_CREATE),
    responses=errors(409),
)
async def register_namespace(
    body: RegisterNamespaceRequest,
    ctx: AppContext = Depends(context),
    principal: Principal = Depends(caller),
) -> DescribeNamespaceResponse:
    """Register a new namespace. Retention defaults to 72h and must be at least 1h (24h for
    a global namespace). A duplicate name is ALREADY_EXISTS. A credential limited to some
    namespaces registers only those (PERMISSION_DENIED otherwise)."""
    return await service.register_namespace(ctx, principal, body)


@router.get(
    "",
    response_model=ListNamespacesResponse,
    summary="ListNamespaces",
    **requires(Permission.NAMESPACE_READ),
    responses=errors(),
)
async def list_namespaces(
    page_size: int = Query(0, description="Namespaces per page; 0 means 100, at most 1000."),
    next_page_token: str = Query("", description="Token from the previous page."),
    ctx: AppContext = Depends(context),
    principal: Principal = Depends(caller),
) -> ListNamespacesResponse:
    """List namespaces by name, a page at a time: those the caller may act in."""
    return await service.list_namespaces(ctx, principal, page_size, next_page_token)


@router.get(
    "/{namespace}",
    response_model=DescribeNamespaceResponse,
    summary="DescribeNamespace",
    **requires(Permission.NAMESPACE_READ),
    responses=errors(404),
)
async def describe_namespace(
    namespace: str, ctx: AppContext = Depends(context)
) -> DescribeNamespaceResponse:
    """A namespace's info, configuration and replication settings."""
    return await service.describe_namespace(ctx, namespace)


@router.post(
    "/{namespace}/update",
    response_model=DescribeNamespaceResponse,
    summary="UpdateNamespace",
    **requires(Permission.NAMESPACE_UPDATE),
    responses=errors(404),
)
async def update_namespace(
    namespace: str, body: UpdateNamespaceRequest, ctx: AppContext = Depends(context)
) -> DescribeNamespaceResponse:
    """Change a namespace. Only the fields present are applied; `data` is merged.
    Setting `update_info.state` to DEPRECATED stops new workflows from starting."""
    return await service.update_namespace(ctx, namespace, body)


@router.delete(
    "/{namespace}",
    response_model=DeleteNamespaceResponse,
    summary="DeleteNamespace",
    **requires(Permission.NAMESPACE_DELETE),
    responses=errors(404),
)
async def delete_namespace(
    namespace: str, ctx: AppContext = Depends(context)
) -> DeleteNamespaceResponse:
    """Delete a namespace and, in the same transaction, every workflow run, history event,
    task and timer in it."""
    return await service.delete_namespace(ctx, namespace)
