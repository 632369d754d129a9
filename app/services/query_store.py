"""Queries, answered by workers and never written to history. A query travels either as
a query task on the workflow's task queue (no workflow task pending) or attached to the
run's next workflow task (one is pending), as Temporal delivers them. Waiting queries are
rows, so a worker polling any gateway process receives them and an answer given to any
process reaches the caller, woken through the notifier (NOTIFY across processes)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.db.database import UnitOfWork
from app.db.statements import Statement
from app.db.tables import QueryRow, table_of
from app.errors import ApiError, ErrorCode
from app.services.notifier import Notifier, queue_key, wake_after_commit

MAX_ATTACHED_PER_RUN = 10
WORKFLOW_TASKS = "workflow"


def answer_key(query_id: str) -> tuple[str, ...]:
    return ("query", query_id)


RunKey = tuple[str, str, str]


_QUERIES = table_of(QueryRow)
# Built once: every poll and every workflow task answer looks for waiting queries,
# which are almost always absent.
_OLDEST_DIRECT = (
    select(QueryRow)
    .where(
        col(QueryRow.namespace_id) == bindparam("namespace_id"),
        col(QueryRow.task_queue) == bindparam("task_queue"),
        col(QueryRow.attached).is_(False),
        col(QueryRow.state) == "waiting",
    )
    .order_by(col(QueryRow.created_time), col(QueryRow.id))
    .limit(1)
)
_OLDEST_DIRECT_SKIP_LOCKED = _OLDEST_DIRECT.with_for_update(skip_locked=True)
_WAITING_ATTACHED = and_(
    _QUERIES.c.namespace_id == bindparam("run_namespace_id"),
    _QUERIES.c.workflow_id == bindparam("run_workflow_id"),
    _QUERIES.c.run_id == bindparam("run_run_id"),
    _QUERIES.c.attached.is_(True),
    _QUERIES.c.state == "waiting",
)
_ATTACHED = (
    select(QueryRow).where(_WAITING_ATTACHED).order_by(col(QueryRow.created_time), col(QueryRow.id))
)
_COUNT_ATTACHED = select(func.count()).select_from(_QUERIES).where(_WAITING_ATTACHED)
# Waiting queries are almost always absent: a point read says so before the ORM loads
# (or the update detaches) any.
_ANY_ATTACHED = Statement(select(_QUERIES.c.id).where(_WAITING_ATTACHED).limit(1))
_ANY_DIRECT = Statement(
    select(_QUERIES.c.id)
    .where(
        _QUERIES.c.namespace_id == bindparam("namespace_id"),
        _QUERIES.c.task_queue == bindparam("task_queue"),
        _QUERIES.c.attached.is_(False),
        _QUERIES.c.state == "waiting",
    )
    .limit(1)
)
_DETACH = (
    update(_QUERIES)
    .where(_WAITING_ATTACHED)
    .values(attached=False)
    .returning(_QUERIES.c.task_queue)
)


def _run_params(run_key: RunKey) -> dict[str, str]:
    namespace_id, workflow_id, run_id = run_key
    return {"run_namespace_id": namespace_id, "run_workflow_id": workflow_id, "run_run_id": run_id}


async def offer(uow: UnitOfWork, notifier: Notifier, query: QueryRow) -> None:
    """Queue a query for a worker; an attached one waits for the run's next task (at most
    ten per run, as Temporal buffers them)."""
    session = uow.session
    if query.attached:
        waiting = await session.execute(_COUNT_ATTACHED, _run_params(_run_key(query)))
        if int(waiting.scalar_one()) >= MAX_ATTACHED_PER_RUN:
            raise ApiError(
                ErrorCode.RESOURCE_EXHAUSTED,
                "Too many queries are waiting for this workflow's next task.",
                [{"type": "ResourceExhausted", "cause": "BUSY_WORKFLOW"}],
            )
    session.add(query)
    await session.flush()
    wake_after_commit(
        uow, notifier, queue_key(query.namespace_id, query.task_queue, WORKFLOW_TASKS), 1
    )


def _run_key(query: QueryRow) -> RunKey:
    return (query.namespace_id, query.workflow_id, query.run_id)


async def take_direct(
    session: AsyncSession, namespace_id: str, task_queue: str, *, skip_locked: bool
) -> QueryRow | None:
    """The oldest query task of the queue, marked delivered in the caller's transaction
    (a rollback puts it back)."""
    oldest = _OLDEST_DIRECT_SKIP_LOCKED if skip_locked else _OLDEST_DIRECT
    where = {"namespace_id": namespace_id, "task_queue": task_queue}
    if await _ANY_DIRECT.first(session, where) is None:
        return None
    query = (await session.execute(oldest, where)).scalar_one_or_none()
    if query is not None:
        query.state = "delivered"
        await session.flush()
    return query


async def take_attached(session: AsyncSession, run_key: RunKey) -> list[QueryRow]:
    """The run's waiting queries, handed to the workflow task being started."""
    if await _ANY_ATTACHED.first(session, _run_params(run_key)) is None:
        return []
    queries = list((await session.execute(_ATTACHED, _run_params(run_key))).scalars())
    for query in queries:
        query.state = "delivered"
    if queries:
        await session.flush()
    return queries


async def send_attached_on_their_own(uow: UnitOfWork, notifier: Notifier, run_key: RunKey) -> None:
    """No workflow task will come for the run: its waiting queries become query tasks."""
    if await _ANY_ATTACHED.first(uow.session, _run_params(run_key)) is None:
        return
    detached = await uow.session.execute(_DETACH, _run_params(run_key))
    for task_queue, count in Counter(detached.scalars()).items():
        wake_after_commit(uow, notifier, queue_key(run_key[0], task_queue, WORKFLOW_TASKS), count)


async def resolve(
    uow: UnitOfWork, notifier: Notifier, query_id: str, answer: dict[str, Any]
) -> bool:
    """Record a worker's answer; False when nobody waits for it any more."""
    answered = await uow.session.execute(
        update(QueryRow)
        .where(col(QueryRow.id) == query_id, col(QueryRow.state) == "delivered")
        .values(state="answered", answer=answer)
        .returning(col(QueryRow.id))
    )
    if answered.first() is None:
        return False
    wake_after_commit(uow, notifier, answer_key(query_id))
    return True


async def answer_of(session: AsyncSession, query_id: str) -> dict[str, Any] | None:
    row = await session.get(QueryRow, query_id, populate_existing=True)
    return row.answer if row is not None and row.state == "answered" else None


async def forget(session: AsyncSession, query_id: str) -> None:
    await session.execute(delete(QueryRow).where(col(QueryRow.id) == query_id))


async def forget_older_than(session: AsyncSession, moment: datetime) -> None:
    """Queries whose caller is long gone (its process died while waiting)."""
    await session.execute(delete(QueryRow).where(col(QueryRow.created_time) < moment))
