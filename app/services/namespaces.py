"""Namespaces: register, describe, list, update, delete, and the lookup every other
route does first."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import bindparam, delete, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.db.statements import Statement
from app.db.tables import (
    CurrentExecutionRow,
    ExecutionRow,
    HistoryEventRow,
    NamespaceRow,
    RequestIdRow,
    TaskRow,
    TimerTaskRow,
    table_of,
)
from app.errors import ApiError, ErrorCode, bad_request, namespace_not_found
from app.models.common import MAX_ID_LENGTH, format_duration
from app.models.namespaces import (
    ArchivalConfig,
    ArchivalState,
    DescribeNamespaceResponse,
    NamespaceConfig,
    NamespaceInfo,
    NamespaceReplicationConfig,
    NamespaceState,
    RegisterNamespaceRequest,
    UpdateNamespaceRequest,
)
from app.models.namespaces import ClusterReplicationConfig as ClusterConfig

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MIN_RETENTION_LOCAL = timedelta(hours=1)
MIN_RETENTION_GLOBAL = timedelta(hours=24)
DEFAULT_RETENTION = timedelta(hours=72)
ARCHIVAL_SCHEMES = ("file", "s3", "gs")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def validate_name(name: str) -> None:
    if not name:
        raise bad_request("namespace", "namespace is required and cannot be empty")
    if len(name) > MAX_ID_LENGTH:
        raise bad_request("namespace", f"namespace is longer than {MAX_ID_LENGTH} characters")
    if not NAME_PATTERN.match(name):
        raise bad_request(
            "namespace",
            "namespace may contain only letters, digits, '.', '_' and '-', "
            "and must start with a letter or digit",
        )


def _validate_retention(retention: timedelta, is_global: bool, field: str) -> None:
    minimum = MIN_RETENTION_GLOBAL if is_global else MIN_RETENTION_LOCAL
    if retention < minimum:
        raise bad_request(
            field,
            f"{field} must be at least {format_duration(minimum)} for a "
            f"{'global' if is_global else 'local'} namespace",
        )


def _validate_archival(state: str, uri: str, field: str) -> None:
    if not uri:
        if state == ArchivalState.ENABLED:
            raise bad_request(f"{field}.uri", f"{field}.uri is required when archival is ENABLED")
        return
    scheme = urlparse(uri).scheme
    if scheme not in ARCHIVAL_SCHEMES:
        raise bad_request(
            f"{field}.uri",
            f"archival URI scheme {scheme!r} is not supported; use one of "
            + ", ".join(f"{s}://" for s in ARCHIVAL_SCHEMES),
        )


def _validate_clusters(names: list[str], active: str, known: str) -> tuple[list[str], str]:
    names = names or [known]
    for name in names:
        if name != known:
            raise bad_request("clusters", f"unknown cluster {name!r}; this cluster is {known!r}")
    active = active or known
    if active not in names:
        raise bad_request("active_cluster_name", f"active cluster {active!r} is not in clusters")
    return names, active


def describe(row: NamespaceRow) -> DescribeNamespaceResponse:
    return DescribeNamespaceResponse(
        namespace_info=NamespaceInfo(
            name=row.name,
            state=row.state,
            description=row.description,
            owner_email=row.owner_email,
            data=row.data,
            id=row.id,
        ),
        config=NamespaceConfig(
            workflow_execution_retention_ttl=format_duration(
                timedelta(seconds=row.retention_seconds)
            ),
            history_archival_state=row.history_archival_state,
            history_archival_uri=row.history_archival_uri,
            visibility_archival_state=row.visibility_archival_state,
            visibility_archival_uri=row.visibility_archival_uri,
        ),
        replication_config=NamespaceReplicationConfig(
            active_cluster_name=row.active_cluster_name,
            clusters=[ClusterConfig(cluster_name=c) for c in row.clusters],
        ),
        failover_version=row.failover_version,
        is_global_namespace=row.is_global,
    )


_NAMESPACES = table_of(NamespaceRow)
# For writes that only need a namespace's id, name or search attribute types (a child's
# start, a signal to another workflow, indexing a run's search attributes): built once,
# run on the writer's connection, no ORM object.
_ID_BY_NAME = Statement(select(_NAMESPACES.c.id).where(_NAMESPACES.c.name == bindparam("name")))
_NAME_BY_ID = Statement(select(_NAMESPACES.c.name).where(_NAMESPACES.c.id == bindparam("id")))
_TYPES_BY_ID = Statement(
    select(_NAMESPACES.c.search_attribute_types).where(_NAMESPACES.c.id == bindparam("id"))
)


async def id_of(session: AsyncSession, name: str) -> str | None:
    """The id of the namespace of that name (in whatever state), or None."""
    found: str | None = await _ID_BY_NAME.scalar(session, {"name": name})
    return found


async def name_of(session: AsyncSession, namespace_id: str) -> str | None:
    """The name of the namespace of that id (in whatever state), or None."""
    found: str | None = await _NAME_BY_ID.scalar(session, {"id": namespace_id})
    return found


async def search_attribute_types_of(session: AsyncSession, namespace_id: str) -> dict[str, str]:
    """The custom search attributes registered in the namespace of that id (none if gone)."""
    found: dict[str, str] | None = await _TYPES_BY_ID.scalar(session, {"id": namespace_id})
    return found or {}


async def get_by_name(session: AsyncSession, name: str) -> NamespaceRow:
    row = (
        await session.execute(select(NamespaceRow).where(col(NamespaceRow.name) == name))
    ).scalar_one_or_none()
    if row is None or row.state == NamespaceState.DELETED:
        raise namespace_not_found(name)
    return row


def check_active(row: NamespaceRow) -> NamespaceRow:
    """The namespace, if new work may be started in it: not deprecated."""
    name = row.name
    if row.state != NamespaceState.REGISTERED:
        raise ApiError(
            ErrorCode.FAILED_PRECONDITION,
            f"Namespace {name!r} is {row.state}; new workflows cannot start in it.",
            [
                {
                    "type": "NamespaceInvalidState",
                    "namespace": name,
                    "state": row.state,
                    "allowed_states": [NamespaceState.REGISTERED.value],
                }
            ],
        )
    return row


async def register(
    session: AsyncSession, req: RegisterNamespaceRequest, cluster_name: str, now: datetime
) -> NamespaceRow:
    validate_name(req.namespace)
    retention = req.workflow_execution_retention_period
    if retention is None:
        raise bad_request(
            "workflow_execution_retention_period", "workflow_execution_retention_period is required"
        )
    _validate_retention(retention, req.is_global_namespace, "workflow_execution_retention_period")
    history = req.history_archival_config or ArchivalConfig()
    visibility = req.visibility_archival_config or ArchivalConfig()
    _validate_archival(history.state, history.uri, "history_archival_config")
    _validate_archival(visibility.state, visibility.uri, "visibility_archival_config")
    clusters, active = _validate_clusters(
        [c.cluster_name for c in req.clusters], req.active_cluster_name, cluster_name
    )
    existing = (
        await session.execute(
            select(col(NamespaceRow.id)).where(col(NamespaceRow.name) == req.namespace)
        )
    ).first()
    if existing is not None:
        raise _already_exists(req.namespace)
    row = NamespaceRow(
        id=str(uuid.uuid4()),
        name=req.namespace,
        state=NamespaceState.REGISTERED.value,
        description=req.description,
        owner_email=req.owner_email,
        data=dict(req.data),
        retention_seconds=retention.total_seconds(),
        history_archival_state=history.state or ArchivalState.DISABLED,
        history_archival_uri=history.uri,
        visibility_archival_state=visibility.state or ArchivalState.DISABLED,
        visibility_archival_uri=visibility.uri,
        is_global=req.is_global_namespace,
        active_cluster_name=active,
        clusters=clusters,
        created_time=now,
        updated_time=now,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:
        raise _already_exists(req.namespace) from None
    return row


async def _exists(session: AsyncSession, name: str) -> bool:
    query = select(col(NamespaceRow.id)).where(col(NamespaceRow.name) == name)
    return (await session.execute(query)).first() is not None


def _already_exists(name: str) -> ApiError:
    return ApiError(
        ErrorCode.ALREADY_EXISTS,
        f"Namespace {name!r} already exists.",
        [{"type": "NamespaceAlreadyExists", "namespace": name}],
    )


async def update(
    session: AsyncSession,
    name: str,
    req: UpdateNamespaceRequest,
    cluster_name: str,
    now: datetime,
) -> NamespaceRow:
    if req.namespace is not None and req.namespace != name:
        raise bad_request("namespace", "namespace in the body does not match the path")
    row = await get_by_name(session, name)
    info, config, replication = req.update_info, req.config, req.replication_config
    if info is not None:
        if info.description is not None:
            row.description = info.description
        if info.owner_email is not None:
            row.owner_email = info.owner_email
        if info.data is not None:
            row.data = {**row.data, **info.data}
        if info.state is not None:
            if info.state == NamespaceState.DELETED:
                raise bad_request("update_info.state", "use DELETE to delete a namespace")
            row.state = info.state.value
    if config is not None:
        _apply_config(row, config)
    if replication is not None:
        clusters = (
            [c.cluster_name for c in replication.clusters]
            if replication.clusters is not None
            else row.clusters
        )
        row.clusters, row.active_cluster_name = _validate_clusters(
            clusters, replication.active_cluster_name or row.active_cluster_name, cluster_name
        )
    row.updated_time = now
    session.add(row)
    await session.flush()
    return row


def _apply_config(row: NamespaceRow, config: Any) -> None:
    if config.workflow_execution_retention_ttl is not None:
        _validate_retention(
            config.workflow_execution_retention_ttl,
            row.is_global,
            "config.workflow_execution_retention_ttl",
        )
        row.retention_seconds = config.workflow_execution_retention_ttl.total_seconds()
    for kind in ("history", "visibility"):
        state = getattr(config, f"{kind}_archival_state")
        uri = getattr(config, f"{kind}_archival_uri")
        new_state = state.value if state is not None else getattr(row, f"{kind}_archival_state")
        new_uri = uri if uri is not None else getattr(row, f"{kind}_archival_uri")
        _validate_archival(new_state, new_uri, f"config.{kind}_archival")
        setattr(row, f"{kind}_archival_state", new_state)
        setattr(row, f"{kind}_archival_uri", new_uri)


async def list_page(
    session: AsyncSession,
    page_size: int,
    after_name: str | None,
    visible: frozenset[str] | None = None,
) -> tuple[list[NamespaceRow], str | None]:
    """One page ordered by name, and the last name if more may follow; only the names in
    `visible` when it is given (a namespace-scoped caller's)."""
    if page_size < 0 or page_size > MAX_PAGE_SIZE:
        raise bad_request("page_size", f"page_size must be between 0 and {MAX_PAGE_SIZE}")
    size = page_size or DEFAULT_PAGE_SIZE
    query = select(NamespaceRow).where(col(NamespaceRow.state) != NamespaceState.DELETED.value)
    if visible is not None:
        query = query.where(col(NamespaceRow.name).in_(sorted(visible)))
    if after_name is not None:
        query = query.where(col(NamespaceRow.name) > after_name)
    rows = list(
        (await session.execute(query.order_by(NamespaceRow.name).limit(size + 1))).scalars()
    )
    if len(rows) > size:
        return rows[:size], rows[size - 1].name
    return rows, None


async def delete_namespace(session: AsyncSession, name: str) -> int:
    """Delete a namespace with every run, event, task and timer in it."""
    row = await get_by_name(session, name)
    count = (
        await session.execute(
            select(func.count())
            .select_from(ExecutionRow)
            .where(col(ExecutionRow.namespace_id) == row.id)
        )
    ).scalar_one()
    for table in (
        HistoryEventRow,
        RequestIdRow,
        TaskRow,
        TimerTaskRow,
        CurrentExecutionRow,
        ExecutionRow,
    ):
        await session.execute(delete(table).where(col(table.namespace_id) == row.id))
    await session.delete(row)
    await session.flush()
    return int(count)


async def ensure_default(session: AsyncSession, cluster_name: str, now: datetime) -> None:
    exists = (
        await session.execute(
            select(col(NamespaceRow.id)).where(col(NamespaceRow.name) == "default")
        )
    ).first()
    if exists is None:
        await register(
            session,
            RegisterNamespaceRequest(
                namespace="default",
                description="Default namespace",
                workflow_execution_retention_period=DEFAULT_RETENTION,
            ),
            cluster_name,
            now,
        )
