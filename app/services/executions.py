"""Loading and saving runs: the execution row, its history, its tasks and timers, written
together in the caller's transaction. Every update is a compare-and-swap on db_version."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import json_codec
from app.db.database import UnitOfWork
from app.db.errors import RetryableConflict
from app.db.statements import Statement
from app.db.tables import (
    RUN_COLUMNS,
    CurrentExecutionRow,
    ExecutionRow,
    HistoryEventRow,
    RunRecord,
    TaskRow,
    TimerTaskRow,
    table_of,
)
from app.engine.state import (
    ActivityTaskDispatch,
    MutableState,
    Transition,
    WorkflowTaskDispatch,
)
from app.engine.workflow import StartParams
from app.errors import ApiError, ErrorCode, bad_request, workflow_not_found
from app.payloads import decode_payload
from app.rate_limits import work
from app.services import hand_off
from app.services.notifier import (
    Notifier,
    close_key,
    history_key,
    queue_key,
    wake_after_commit,
    wake_timers_after_commit,
)
from app.services.search_attributes import index as index_search_attributes

_HISTORY = table_of(HistoryEventRow)
_TASKS = table_of(TaskRow)
_TIMERS = table_of(TimerTaskRow)
_EXECUTIONS = table_of(ExecutionRow)
_CURRENT = table_of(CurrentExecutionRow)

# Built once: a statement built per call costs more to construct and key for the
# compiled-statement cache than to run.
_INSERT_RUN = Statement(insert(_EXECUTIONS))
_INSERT_CURRENT = Statement(insert(_CURRENT))
_INSERT = {table: Statement(insert(table)) for table in (_HISTORY, _TASKS, _TIMERS)}
# A closing run's timers have nothing left to do: deleted with the close instead of each
# firing later, in a transaction of its own, only to find its activity or task gone.
_DELETE_TIMERS = Statement(
    delete(_TIMERS).where(
        _TIMERS.c.namespace_id == bindparam("namespace_id"),
        _TIMERS.c.workflow_id == bindparam("workflow_id"),
        _TIMERS.c.run_id == bindparam("run_id"),
    )
)
_MOVE_CURRENT = Statement(
    update(_CURRENT).where(
        _CURRENT.c.namespace_id == bindparam("key_namespace_id"),
        _CURRENT.c.workflow_id == bindparam("key_workflow_id"),
        _CURRENT.c.run_id == bindparam("replaces"),
    )
)
_SAVE_RUN = Statement(
    update(_EXECUTIONS)
    .where(
        _EXECUTIONS.c.namespace_id == bindparam("key_namespace_id"),
        _EXECUTIONS.c.workflow_id == bindparam("key_workflow_id"),
        _EXECUTIONS.c.run_id == bindparam("key_run_id"),
        _EXECUTIONS.c.db_version == bindparam("read_version"),
    )
    .values(
        history_size_bytes=_EXECUTIONS.c.history_size_bytes + bindparam("added_bytes"),
    )
)


class ConcurrentUpdate(RetryableConflict):
    """Another writer changed the run first; the whole transaction is retried."""


def check_run_id(run_id: str) -> str:
    if run_id:
        try:
            uuid.UUID(run_id)
        except ValueError:
            raise bad_request("run_id", f"run_id {run_id[:64]!r} is not a valid UUID") from None
    return run_id


_current_run_id = select(_CURRENT.c.run_id).where(
    _CURRENT.c.namespace_id == bindparam("namespace_id"),
    _CURRENT.c.workflow_id == bindparam("workflow_id"),
)
_SELECT_CURRENT_RUN_ID = Statement(_current_run_id)
_SELECT_CURRENT_RUN_ID_FOR_UPDATE = Statement(_current_run_id.with_for_update())
_run = select(*RUN_COLUMNS).where(
    _EXECUTIONS.c.namespace_id == bindparam("namespace_id"),
    _EXECUTIONS.c.workflow_id == bindparam("workflow_id"),
    _EXECUTIONS.c.run_id == bindparam("run_id"),
)
_SELECT_RUN = Statement(_run)
_SELECT_RUN_FOR_UPDATE = Statement(_run.with_for_update())
_SELECT_RUN_FOR_UPDATE_NOWAIT = Statement(_run.with_for_update(nowait=True))
# The current run in one statement, for readers (writers lock the current-run row first).
_SELECT_CURRENT_RUN = Statement(
    select(*RUN_COLUMNS)
    .join(
        _CURRENT,
        and_(
            _CURRENT.c.namespace_id == _EXECUTIONS.c.namespace_id,
            _CURRENT.c.workflow_id == _EXECUTIONS.c.workflow_id,
            _CURRENT.c.run_id == _EXECUTIONS.c.run_id,
        ),
    )
    .where(
        _CURRENT.c.namespace_id == bindparam("namespace_id"),
        _CURRENT.c.workflow_id == bindparam("workflow_id"),
    )
)


async def current_run_id(
    session: AsyncSession, namespace_id: str, workflow_id: str, *, for_update: bool = False
) -> str | None:
    query = _SELECT_CURRENT_RUN_ID_FOR_UPDATE if for_update else _SELECT_CURRENT_RUN_ID
    found: str | None = await query.scalar(
        session, {"namespace_id": namespace_id, "workflow_id": workflow_id}
    )
    return found


async def load(
    session: AsyncSession,
    namespace_id: str,
    workflow_id: str,
    run_id: str,
    *,
    for_update: bool = False,
) -> RunRecord:
    """A run by id, or the current run when ``run_id`` is empty."""
    check_run_id(run_id)
    where = {"namespace_id": namespace_id, "workflow_id": workflow_id}
    if not run_id and not for_update:
        current = await _SELECT_CURRENT_RUN.first(session, where)
        if current is None:
            raise workflow_not_found(workflow_id, None)
        return RunRecord(*current)
    if not run_id:
        current_id = await current_run_id(session, namespace_id, workflow_id)
        if current_id is None:
            raise workflow_not_found(workflow_id, None)
        run_id = current_id
    row = await find(session, namespace_id, workflow_id, run_id, for_update=for_update)
    if row is None:
        raise workflow_not_found(workflow_id, run_id)
    return row


async def find(
    session: AsyncSession,
    namespace_id: str,
    workflow_id: str,
    run_id: str,
    *,
    for_update: bool = False,
    nowait: bool = False,
) -> RunRecord | None:
    """A run by its full key, or None. ``nowait``: a run locked by another transaction
    raises at once (app.db.errors.row_locked) instead of waiting for it."""
    if for_update:
        query = _SELECT_RUN_FOR_UPDATE_NOWAIT if nowait else _SELECT_RUN_FOR_UPDATE
    else:
        query = _SELECT_RUN
    key = {"namespace_id": namespace_id, "workflow_id": workflow_id, "run_id": run_id}
    row = await query.first(session, key)
    return None if row is None else RunRecord(*row)


_RUNNING_AT_OFFSET = Statement(
    select(_EXECUTIONS.c.run_id)
    .where(
        _EXECUTIONS.c.namespace_id == bindparam("namespace_id"),
        _EXECUTIONS.c.status == "RUNNING",
    )
    .offset(bindparam("skip"))
    .limit(1)
)


async def running_at_least(session: AsyncSession, namespace_id: str, count: int) -> bool:
    """Whether the namespace has ``count`` running executions (reads at most that many
    index entries, however many runs there are)."""
    found = await _RUNNING_AT_OFFSET.first(
        session, {"namespace_id": namespace_id, "skip": count - 1}
    )
    return found is not None


def state_of(row: RunRecord) -> MutableState:
    return MutableState.from_json(row.state)


def _columns(state: MutableState) -> dict[str, Any]:
    return {
        "status": state.status.value,
        "close_time": state.close_time,
        "history_length": state.next_event_id - 1,
        "state": state.to_json(),
        "sticky_task_queue": state.sticky_task_queue,
    }


async def _write_effects(
    uow: UnitOfWork,
    notifier: Notifier,
    namespace_id: str,
    state: MutableState,
    transition: Transition,
    now: datetime,
) -> None:
    """Append the transition's events, tasks and timers (Core inserts: the ORM's unit of
    work cost more than the statements) and wake whoever waits on them after the commit."""
    session = uow.session
    run = {"namespace_id": namespace_id, "workflow_id": state.workflow_id, "run_id": state.run_id}
    uow.after_commit.append(partial(work.record_history_events, len(transition.events)))
    events = [
        {
            **run,
            "event_id": event.event_id,
            "event_type": event.event_type.value,
            "event_time": event.event_time,
            "attributes": event.attributes,
        }
        for event in transition.events
    ]
    dispatches: list[tuple[str, WorkflowTaskDispatch | ActivityTaskDispatch]]
    dispatches = [("workflow", t) for t in transition.workflow_tasks]
    dispatches += [("activity", t) for t in transition.activity_tasks]
    tasks = [
        {
            **run,
            "task_queue": task.task_queue,
            "task_type": task_type,
            "partition": uow.partition_of(state.workflow_id, task.scheduled_event_id),
            "scheduled_event_id": task.scheduled_event_id,
            "created_time": now,
            "visible_time": now,
        }
        for task_type, task in dispatches
    ]
    timers = [
        {
            **run,
            "shard_id": uow.shard_of(namespace_id, state.workflow_id),
            "fire_time": timer.fire_time,
            "kind": timer.kind.value,
            "data": timer.data,
        }
        for timer in transition.timers
    ]
    closing = bool(transition.events) and not state.is_running
    if closing:
        await _DELETE_TIMERS.run(session, run)
    for table, rows in ((_HISTORY, events), (_TASKS, tasks), (_TIMERS, timers)):
        await _INSERT[table].run_many(session, rows)
    if transition.timers:
        wake_timers_after_commit(uow, notifier, min(t.fire_time for t in transition.timers))
    for (queue, task_type), count in Counter(
        (t.task_queue, kind) for kind, t in dispatches
    ).items():
        hand_off.tasks_written(uow, notifier, queue_key(namespace_id, queue, task_type), count)
    if transition.events:
        wake_after_commit(uow, notifier, history_key(namespace_id, state.workflow_id, state.run_id))
    if closing:
        wake_after_commit(uow, notifier, close_key(namespace_id, state.workflow_id, state.run_id))


@dataclass
class Lineage:
    """Where a new run sits: the chain it belongs to and its parent and root, if any."""

    first_execution_run_id: str
    root_workflow_id: str
    root_run_id: str
    parent_namespace_id: str = ""
    parent_workflow_id: str = ""
    parent_run_id: str = ""


async def create_run(
    uow: UnitOfWork,
    notifier: Notifier,
    namespace_id: str,
    params: StartParams,
    state: MutableState,
    transition: Transition,
    lineage: Lineage,
    now: datetime,
    replaces: str | None,
) -> None:
    """Write a new run (row, events, tasks, timers) and make it its workflow id's current
    run, in place of ``replaces`` — the current run the caller saw (None: there was none).
    If another writer moved the current run meanwhile, the transaction is retried."""
    run = {"namespace_id": namespace_id, "workflow_id": params.workflow_id, "run_id": params.run_id}
    search_attributes = params.search_attributes or {}
    session = uow.session
    await _INSERT_RUN.run(
        session,
        {
            **run,
            "workflow_type": params.workflow_type,
            "task_queue": params.task_queue,
            "start_time": now,
            "execution_time": now + timedelta(seconds=params.first_workflow_task_backoff),
            "start_request_id": params.request_id,
            "memo": params.memo or {},
            "search_attributes": search_attributes,
            "execution_duration_seconds": None,
            "history_size_bytes": _event_bytes(transition),
            "db_version": 1,
            **asdict(lineage),
            **_columns(state),
        },
    )
    await _write_effects(uow, notifier, namespace_id, state, transition, now)
    if replaces is None:
        # A concurrent start of the same id collides on the primary key and is retried.
        await _INSERT_CURRENT.run(session, run)
    else:
        moved = await _MOVE_CURRENT.run(
            session,
            {
                "key_namespace_id": namespace_id,
                "key_workflow_id": params.workflow_id,
                "replaces": replaces,
                "run_id": params.run_id,
            },
        )
        if moved != 1:
            raise ConcurrentUpdate(params.workflow_id)
    if search_attributes:
        await index_search_attributes(
            session, namespace_id, params.workflow_id, params.run_id, search_attributes
        )
    uow.after_commit.append(uow.metrics.workflow_started)


async def save(
    uow: UnitOfWork,
    notifier: Notifier,
    row: RunRecord,
    state: MutableState,
    transition: Transition,
    now: datetime,
) -> None:
    """Write a transition of an existing run, if nobody else wrote it since we read it."""
    memo, search_attributes = _merged_visibility(row, transition)
    columns = _columns(state)
    if row.status == "RUNNING" and not state.is_running:
        uow.after_commit.append(partial(uow.metrics.workflow_closed, columns["status"]))
    changed = await _SAVE_RUN.run(
        uow.session,
        {
            "key_namespace_id": row.namespace_id,
            "key_workflow_id": row.workflow_id,
            "key_run_id": row.run_id,
            "read_version": row.db_version,
            **columns,
            "memo": memo,
            "search_attributes": search_attributes,
            "execution_duration_seconds": _duration(row, state),
            "added_bytes": _event_bytes(transition),
            "db_version": row.db_version + 1,
        },
    )
    if changed != 1:
        raise ConcurrentUpdate(row.workflow_id)
    # Keep the loaded row in step, so a second save in this transaction starts from here.
    row.db_version += 1
    row.memo, row.search_attributes = memo, search_attributes
    for name, value in columns.items():
        setattr(row, name, value)
    await _write_effects(uow, notifier, row.namespace_id, state, transition, now)
    if transition.search_attributes_upsert:
        await index_search_attributes(
            uow.session, row.namespace_id, row.workflow_id, row.run_id, search_attributes
        )


def _event_bytes(transition: Transition) -> int:
    """The size the transition's events add to the history (HistorySizeBytes)."""
    return sum(json_codec.size(e.attributes) for e in transition.events)


def _duration(row: RunRecord, state: MutableState) -> float | None:
    """ExecutionDuration, as Temporal defines it: close time minus execution time."""
    if state.close_time is None:
        return None
    return max(0.0, (state.close_time - row.execution_time).total_seconds())


def _merged_visibility(
    row: RunRecord, transition: Transition
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Memo and search attributes after the transition's upserts; a null payload removes
    a memo key, as Temporal's WorkflowPropertiesModified does."""
    memo = row.memo
    if transition.memo_upsert:
        fields = {**memo.get("fields", {}), **transition.memo_upsert}
        memo = {"fields": {k: v for k, v in fields.items() if decode_payload(v) is not None}}
    attributes = row.search_attributes
    if transition.search_attributes_upsert:
        attributes = {
            "indexed_fields": {
                **attributes.get("indexed_fields", {}),
                **transition.search_attributes_upsert,
            }
        }
    return memo, attributes


def too_many(what: str, limit: int) -> ApiError:
    return ApiError(
        ErrorCode.INVALID_ARGUMENT,
        f"{what} limit of {limit} reached.",
        [{"type": "LimitExceeded", "limit": limit}],
    )
