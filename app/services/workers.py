"""Worker registrations: kept alive by registering again or by polling the task queue,
gone once silent for the registration TTL. ``register_worker`` is RegisterWorker as the
REST door calls it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth import Principal
from app.db.statements import Statement
from app.db.tables import WorkerRow, table_of
from app.errors import bad_request, permission_denied
from app.models.common import MAX_ID_LENGTH
from app.models.workers import RegisterWorkerRequest
from app.services.dependencies import HasClock, HasDb, HasNamespaces, HasSettings


class Registering(HasDb, HasClock, HasSettings, HasNamespaces, Protocol):
    """RegisterWorker: the namespace as its transaction sees it, the settings' TTL."""


async def register_worker(
    ctx: Registering, namespace: str, principal: Principal, body: RegisterWorkerRequest
) -> dict[str, Any]:
    """Register (or refresh) a worker on its task queue, in a transaction of its own, and
    describe the registration. The door's guard checks a task queue named in the path;
    this one is in the body, so it is checked here, before the transaction."""
    queue = queue_name(body)
    if not principal.may_use_task_queue(queue):
        raise permission_denied(f"this credential may not use task queue {queue!r}")
    ttl = ctx.settings.worker_registration_ttl_seconds
    async with ctx.db.write() as uow:
        ns = await ctx.namespaces.current(uow.session, namespace)
        row = await register(uow.session, ns.id, body, ctx.clock.now(), ttl)
        return describe(row, ttl)


def queue_name(body: RegisterWorkerRequest) -> str:
    raw = body.task_queue.get("name") if isinstance(body.task_queue, dict) else body.task_queue
    if not isinstance(raw, str) or not raw or len(raw) > MAX_ID_LENGTH:
        raise bad_request(
            "task_queue", f"task_queue must name a queue of 1 to {MAX_ID_LENGTH} characters"
        )
    return raw


async def register(
    session: AsyncSession, namespace_id: str, body: RegisterWorkerRequest, now: datetime, ttl: float
) -> WorkerRow:
    """Register (or refresh) a worker; registrations of the queue that expired go."""
    queue = queue_name(body)
    await session.execute(
        delete(WorkerRow).where(
            col(WorkerRow.namespace_id) == namespace_id,
            col(WorkerRow.task_queue) == queue,
            col(WorkerRow.last_heartbeat_time) < now - timedelta(seconds=ttl),
        )
    )
    row = await session.get(WorkerRow, (namespace_id, queue, body.identity))
    if row is None:
        row = WorkerRow(
            namespace_id=namespace_id,
            task_queue=queue,
            identity=body.identity,
            registered_time=now,
            last_heartbeat_time=now,
        )
        session.add(row)
    row.workflow_types = sorted(set(body.workflow_types))
    row.activity_types = sorted(set(body.activity_types))
    row.build_id = body.version_capabilities.build_id if body.version_capabilities else ""
    row.last_heartbeat_time = now
    await session.flush()
    return row


_WORKERS = table_of(WorkerRow)
# Built once: a poll records its poller (and so this) every second or so.
_HEARD_FROM = Statement(
    update(_WORKERS).where(
        _WORKERS.c.namespace_id == bindparam("key_namespace_id"),
        _WORKERS.c.task_queue == bindparam("key_task_queue"),
        _WORKERS.c.identity == bindparam("key_identity"),
    )
)


async def heard_from(
    session: AsyncSession, namespace_id: str, task_queue: str, identity: str, now: datetime
) -> None:
    """A poll is a heartbeat of the poller's registration, if it has one."""
    registration = {
        "key_namespace_id": namespace_id,
        "key_task_queue": task_queue,
        "key_identity": identity,
        "last_heartbeat_time": now,
    }
    await _HEARD_FROM.run(session, registration)


async def live(
    session: AsyncSession, namespace_id: str, task_queue: str, now: datetime, ttl: float
) -> list[dict[str, Any]]:
    """The queue's registrations heard from within the TTL."""
    rows = (
        await session.execute(
            select(WorkerRow)
            .where(
                col(WorkerRow.namespace_id) == namespace_id,
                col(WorkerRow.task_queue) == task_queue,
                col(WorkerRow.last_heartbeat_time) >= now - timedelta(seconds=ttl),
            )
            .order_by(col(WorkerRow.identity))
        )
    ).scalars()
    return [describe(row, ttl) for row in rows]


def describe(row: WorkerRow, ttl: float) -> dict[str, Any]:
    return {
        "identity": row.identity,
        "task_queue": row.task_queue,
        "workflow_types": row.workflow_types,
        "activity_types": row.activity_types,
        "build_id": row.build_id,
        "registered_time": row.registered_time,
        "last_heartbeat_time": row.last_heartbeat_time,
        "expiry_time": row.last_heartbeat_time + timedelta(seconds=ttl),
    }
