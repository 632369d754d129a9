"""The namespace operations as both doors call them (REST routes, gRPC RPCs): each runs
its own transaction over app.services.namespaces."""

from __future__ import annotations

from typing import Protocol

from app.auth import Principal
from app.errors import namespace_not_found, permission_denied
from app.models.namespaces import (
    DeleteNamespaceResponse,
    DescribeNamespaceResponse,
    ListNamespacesResponse,
    RegisterNamespaceRequest,
    UpdateNamespaceRequest,
)
from app.services import namespaces
from app.services.dependencies import (
    HasClock,
    HasDb,
    HasNamespaces,
    HasSettings,
    HasSigner,
    Namespaced,
)

PAGE_TOKEN_KIND = "namespaces"


class Writing(HasDb, HasClock, HasSettings, Protocol):
    """Register: the cluster's name and the time go into the row."""


class Updating(HasDb, HasClock, HasSettings, HasNamespaces, Protocol):
    """Update: a write, then the namespace cache told of the change."""


class Listing(HasDb, HasSigner, Protocol):
    """List: pages under signed tokens."""


async def register_namespace(
    ctx: Writing, principal: Principal, request: RegisterNamespaceRequest
) -> DescribeNamespaceResponse:
    """A credential limited to some namespaces registers only those."""
    if not principal.may_use_namespace(request.namespace):
        raise permission_denied(
            f"this credential may not act in namespace {request.namespace[:255]!r}"
        )
    async with ctx.db.write() as uow:
        row = await namespaces.register(
            uow.session, request, ctx.settings.cluster_name, ctx.clock.now()
        )
    return namespaces.describe(row)


async def list_namespaces(
    ctx: Listing, principal: Principal, page_size: int, next_page_token: str
) -> ListNamespacesResponse:
    """The namespaces the caller may act in, by name, a page at a time."""
    after = (
        ctx.signer.decode(PAGE_TOKEN_KIND, next_page_token)["after"] if next_page_token else None
    )
    async with ctx.db.read() as session:
        rows, last = await namespaces.list_page(session, page_size, after, principal.namespaces)
    token = ctx.signer.encode(PAGE_TOKEN_KIND, {"after": last}) if last else ""
    return ListNamespacesResponse(
        namespaces=[namespaces.describe(r) for r in rows], next_page_token=token
    )


async def describe_namespace(ctx: HasDb, name: str) -> DescribeNamespaceResponse:
    async with ctx.db.read() as session:
        row = await namespaces.get_by_name(session, name)
    return namespaces.describe(row)


async def describe_namespace_by_id(
    ctx: HasDb, principal: Principal, namespace_id: str
) -> DescribeNamespaceResponse:
    """DescribeNamespace by id (Temporal's alternative to the name): the caller must be
    allowed the namespace the id names; an id no namespace has is NOT_FOUND."""
    async with ctx.db.read() as session:
        name = await namespaces.name_of(session, namespace_id)
        if name is None:
            raise namespace_not_found(namespace_id)
        if not principal.may_use_namespace(name):
            raise permission_denied(f"this credential may not act in namespace {name!r}")
        row = await namespaces.get_by_name(session, name)
    return namespaces.describe(row)


async def update_namespace(
    ctx: Updating, name: str, request: UpdateNamespaceRequest
) -> DescribeNamespaceResponse:
    async with ctx.db.write() as uow:
        row = await namespaces.update(
            uow.session, name, request, ctx.settings.cluster_name, ctx.clock.now()
        )
    ctx.namespaces.changed()
    return namespaces.describe(row)


async def delete_namespace(ctx: Namespaced, name: str) -> DeleteNamespaceResponse:
    async with ctx.db.write() as uow:
        count = await namespaces.delete_namespace(uow.session, name)
    ctx.namespaces.changed()
    return DeleteNamespaceResponse(deleted_namespace=name, deleted_executions=count)
