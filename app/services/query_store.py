"""Queries, answered by workers and never written to history. A query travels either as
a query task on the workflow's task queue (no workflow task pending) or attached to the
run's next workflow task (one is pending), as Temporal delivers them. Waiting queries are
rows, so a worker polling any gateway process receives them and an answer given to any
process reaches the caller, woken through the notifier (NOTIFY across processes)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, update
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
_COLUMNS = tuple(column.key for column in _QUERIES.c)
# Built once and run on the session's connection: every poll and every workflow task
# answer looks for waiting queries, which are almost always absent; and a query is
# offered, delivered, answered and forgotten without the ORM, whose writes each took a
# savepoint of their own.
_oldest_direct = (
    select(*_QUERIES.c)
    .where(
        _QUERIES.c.namespace_id == bindparam("namespace_id"),
        _QUERIES.c.task_queue == bindparam("task_queue"),
        _QUERIES.c.attached.is_(False),
        _QUERIES.c.state == "waiting",
    )
    .order_by(_QUERIES.c.created_time, _QUERIES.c.id)
    .limit(1)
)
_OLDEST_DIRECT = Statement(_oldest_direct)
_OLDEST_DIRECT_SKIP_LOCKED = Statement(_oldest_direct.with_for_update(skip_locked=True))
_WAITING_ATTACHED = and_(
    _QUERIES.c.namespace_id == bindparam("run_namespace_id"),
    _QUERIES.c.workflow_id == bindparam("run_workflow_id"),
    _QUERIES.c.run_id == bindparam("run_run_id"),
    _QUERIES.c.attached.is_(True),
    _QUERIES.c.state == "waiting",
)
_ATTACHED = Statement(
    select(*_QUERIES.c).where(_WAITING_ATTACHED).order_by(_QUERIES.c.created_time, _QUERIES.c.id)
)
_COUNT_ATTACHED = Statement(select(func.count()).select_from(_QUERIES).where(_WAITING_ATTACHED))
# Waiting queries are almost always absent: a point read says so before any are loaded
# (or the update detaches any).
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
_INSERT = Statement(insert(_QUERIES))
# The state moves on only from the one expected (``key_state``).
_MOVE_ON = Statement(
    update(_QUERIES).where(
        _QUERIES.c.id == bindparam("key_id"), _QUERIES.c.state == bindparam("key_state")
    )
)
# A workflow task's completion names the queries it answers; only those handed to that
# task's run are taken, so a worker cannot answer another run's (or namespace's) query.
_MOVE_ON_IN_RUN = Statement(
    update(_QUERIES).where(
        _QUERIES.c.id == bindparam("key_id"),
        _QUERIES.c.state == bindparam("key_state"),
        _QUERIES.c.namespace_id == bindparam("run_namespace_id"),
        _QUERIES.c.workflow_id == bindparam("run_workflow_id"),
        _QUERIES.c.run_id == bindparam("run_run_id"),
    )
)
_DELETE = Statement(delete(_QUERIES).where(_QUERIES.c.id == bindparam("key_id")))
_ANSWER = Statement(
    select(_QUERIES.c.state, _QUERIES.c.answer).where(_QUERIES.c.id == bindparam("key_id"))
)


def _delivered(row: tuple[Any, ...]) -> QueryRow:
    return QueryRow(**{**dict(zip(_COLUMNS, row, strict=True)), "state": "delivered"})


def _run_params(run_key: RunKey) -> dict[str, str]:
    namespace_id, workflow_id, run_id = run_key
    return {"run_namespace_id": namespace_id, "run_workflow_id": workflow_id, "run_run_id": run_id}


async def offer(uow: UnitOfWork, notifier: Notifier, query: QueryRow) -> None:
    """Queue a query for a worker; an attached one waits for the run's next task (at most
    ten per run, as Temporal buffers them)."""
    session = uow.session
    if query.attached:
        waiting = await _COUNT_ATTACHED.scalar(session, _run_params(_run_key(query)))
        if int(waiting) >= MAX_ATTACHED_PER_RUN:
            raise ApiError(
                ErrorCode.RESOURCE_EXHAUSTED,
                "Too many queries are waiting for this workflow's next task.",
                [{"type": "ResourceExhausted", "cause": "BUSY_WORKFLOW"}],
            )
    await _INSERT.run(session, {key: getattr(query, key) for key in _COLUMNS})
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
    row = await oldest.first(session, where)
    if row is None:
        return None
    query = _delivered(row)
    await _MOVE_ON.run(session, {"key_id": query.id, "key_state": "waiting", "state": "delivered"})
    return query


async def take_attached(session: AsyncSession, run_key: RunKey) -> list[QueryRow]:
    """The run's waiting queries, handed to the workflow task being started."""
    if await _ANY_ATTACHED.first(session, _run_params(run_key)) is None:
        return []
    queries = [_delivered(row) for row in await _ATTACHED.all(session, _run_params(run_key))]
    moves = [{"key_id": q.id, "key_state": "waiting", "state": "delivered"} for q in queries]
    await _MOVE_ON.run_many(session, moves)
    return queries


async def send_attached_on_their_own(uow: UnitOfWork, notifier: Notifier, run_key: RunKey) -> None:
    """No workflow task will come for the run: its waiting queries become query tasks."""
    if await _ANY_ATTACHED.first(uow.session, _run_params(run_key)) is None:
        return
    detached = await uow.session.execute(_DETACH, _run_params(run_key))
    for task_queue, count in Counter(detached.scalars()).items():
        wake_after_commit(uow, notifier, queue_key(run_key[0], task_queue, WORKFLOW_TASKS), count)


async def resolve(
    uow: UnitOfWork,
    notifier: Notifier,
    query_id: str,
    answer: dict[str, Any],
    run_key: RunKey | None = None,
) -> bool:
    """Record a worker's answer; False when nobody waits for it any more (or, given the
    run it must belong to, when it is not that run's)."""
    move = {"key_id": query_id, "key_state": "delivered", "state": "answered", "answer": answer}
    if run_key is None:
        answered = await _MOVE_ON.run(uow.session, move)
    else:
        answered = await _MOVE_ON_IN_RUN.run(uow.session, {**move, **_run_params(run_key)})
    if not answered:
        return False
    wake_after_commit(uow, notifier, answer_key(query_id))
    return True


async def give_back(
    uow: UnitOfWork, notifier: Notifier, query_ids: list[str], key: tuple[str, ...]
) -> None:
    """Queries delivered to a poller that never received them wait again (an attached
    one for the run's next task, a direct one for the next poll on ``key``)."""
    moves = [{"key_id": i, "key_state": "delivered", "state": "waiting"} for i in query_ids]
    if moves:
        await _MOVE_ON.run_many(uow.session, moves)
        wake_after_commit(uow, notifier, key, 1)


async def answer_of(session: AsyncSession, query_id: str) -> dict[str, Any] | None:
    row = await _ANSWER.first(session, {"key_id": query_id})
    if row is None or row[0] != "answered":
        return None
    answer: dict[str, Any] = row[1]
    return answer


async def forget(session: AsyncSession, query_id: str) -> None:
    await _DELETE.run(session, {"key_id": query_id})


async def forget_older_than(session: AsyncSession, moment: datetime) -> None:
    """Queries whose caller is long gone (its process died while waiting)."""
    await session.execute(delete(QueryRow).where(col(QueryRow.created_time) < moment))
