"""Reading a run: its description, and its history a page at a time, optionally waiting
for new events (long poll) without holding a transaction open."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import AppContext
from app.db.statements import Statement
from app.db.tables import HistoryEventRow, NamespaceRow, RunRecord, table_of
from app.engine.events import (
    CLOSE_EVENT_TYPES,
    EventType,
    HistoryEvent,
    format_seconds,
    format_time,
)
from app.engine.workflow_tasks import transient_events
from app.errors import bad_request
from app.models.workflows import HistoryEventFilterType
from app.payloads import render
from app.services import executions
from app.services.notifier import close_key, history_key

MAX_PAGE_SIZE = 256
TOKEN_KIND = "history"


@dataclass
class HistoryPage:
    events: list[dict[str, Any]]
    next_page_token: str
    run: RunRecord  # the run as it was when the page was read


def render_event(event: HistoryEvent) -> dict[str, Any]:
    rendered: dict[str, Any] = render(event.to_json())
    return rendered


def page_size(requested: int) -> int:
    if requested < 0:
        raise bad_request("maximum_page_size", "maximum_page_size cannot be negative")
    return min(requested or MAX_PAGE_SIZE, MAX_PAGE_SIZE)


_EVENTS = table_of(HistoryEventRow)
# Built once: history is read on every poll, describe and history page.
_read_events = (
    select(_EVENTS.c.event_id, _EVENTS.c.event_type, _EVENTS.c.event_time, _EVENTS.c.attributes)
    .where(
        _EVENTS.c.namespace_id == bindparam("namespace_id"),
        _EVENTS.c.workflow_id == bindparam("workflow_id"),
        _EVENTS.c.run_id == bindparam("run_id"),
        _EVENTS.c.event_id >= bindparam("first_event_id"),
    )
    .order_by(_EVENTS.c.event_id)
    .limit(bindparam("limit"))
)
_READ_EVENTS = Statement(_read_events)
_READ_CLOSE_EVENTS = Statement(
    _read_events.where(_EVENTS.c.event_type.in_([literal(t.value) for t in CLOSE_EVENT_TYPES]))
)


async def read_events(
    session: AsyncSession,
    row: RunRecord,
    first_event_id: int,
    limit: int,
    close_only: bool = False,
) -> list[HistoryEvent]:
    statement = _READ_CLOSE_EVENTS if close_only else _READ_EVENTS
    rows = await statement.all(
        session,
        {
            "namespace_id": row.namespace_id,
            "workflow_id": row.workflow_id,
            "run_id": row.run_id,
            "first_event_id": first_event_id,
            "limit": limit,
        },
    )
    return [
        HistoryEvent(EventType(event_type), event_time, attributes, event_id)
        for event_id, event_type, event_time, attributes in rows
    ]


async def first_page(
    session: AsyncSession,
    ctx: AppContext,
    ns: NamespaceRow,
    row: RunRecord,
    task: list[int] | None = None,
    transient: Sequence[HistoryEvent] = (),
) -> tuple[list[dict[str, Any]], str]:
    """The first page of the run's history for a task handed to a worker, and the token
    of the next page ("" when it is all). With ``task`` ([scheduled event id, attempt])
    the last page ends with that workflow task's ``transient`` events."""
    events = await read_events(session, row, 1, MAX_PAGE_SIZE + 1)
    if len(events) > MAX_PAGE_SIZE:
        token = page_token(ctx, ns, row, MAX_PAGE_SIZE + 1, task)
        return [render_event(e) for e in events[:MAX_PAGE_SIZE]], token
    return [render_event(e) for e in [*events, *transient]], ""


def execution_info(row: RunRecord) -> dict[str, Any]:
    """The run as visibility shows it (WorkflowExecutionInfo)."""
    execution = {"workflow_id": row.workflow_id, "run_id": row.run_id}
    info: dict[str, Any] = {
        "execution": execution,
        "type": {"name": row.workflow_type},
        "start_time": format_time(row.start_time),
        "close_time": format_time(row.close_time) if row.close_time else None,
        "status": row.status,
        "history_length": row.history_length,
        "history_size_bytes": row.history_size_bytes,
        "state_transition_count": row.db_version,
        "execution_time": format_time(row.execution_time),
        "memo": render(row.memo),
        "search_attributes": render(row.search_attributes),
        "task_queue": row.task_queue,
        "first_run_id": row.first_execution_run_id,
        "root_execution": {"workflow_id": row.root_workflow_id, "run_id": row.root_run_id},
    }
    if row.parent_workflow_id:
        info["parent_namespace_id"] = row.parent_namespace_id
        info["parent_execution"] = {
            "workflow_id": row.parent_workflow_id,
            "run_id": row.parent_run_id,
        }
    return info


def describe(row: RunRecord) -> dict[str, Any]:
    state = executions.state_of(row)
    info = execution_info(row)

    config = {
        "task_queue": {"name": row.task_queue, "kind": "NORMAL"},
        "workflow_execution_timeout": format_seconds(state.execution_timeout),
        "workflow_run_timeout": format_seconds(state.run_timeout),
        "default_workflow_task_timeout": format_seconds(state.workflow_task_timeout),
    }
    pending = None
    task = state.workflow_task
    if task is not None:
        pending = {
            "state": "STARTED" if task.started else "SCHEDULED",
            "scheduled_time": format_time(task.scheduled_time),
            "started_time": format_time(task.started_time) if task.started_time else None,
            "attempt": task.attempt,
        }
    extended = {
        "execution_expiration_time": _time(state.execution_expiration_time),
        "run_expiration_time": _time(state.run_expiration_time),
        "cancel_requested": state.cancel_requested,
        "original_start_time": format_time(row.start_time),
    }
    return {
        "execution_info": info,
        "execution_config": config,
        "pending_workflow_task": pending,
        "workflow_extended_info": extended,
    }


def _time(moment: datetime | None) -> str | None:
    return format_time(moment) if moment else None


async def get_page(
    ctx: AppContext,
    ns: NamespaceRow,
    workflow_id: str,
    run_id: str,
    maximum_page_size: int,
    next_page_token: str,
    wait_new_event: bool,
    filter_type: HistoryEventFilterType,
    window: float | None = None,
) -> HistoryPage:
    """One page of history. With ``wait_new_event`` and nothing new to return, wait until
    an event is appended (or, for CLOSE_EVENT, until the run closes) or the window ends;
    at the end of the window the page is empty and its token continues the wait."""
    size = page_size(maximum_page_size)
    close_only = filter_type == HistoryEventFilterType.CLOSE_EVENT
    executions.check_run_id(run_id)
    first_event_id = 1
    task: list[int] | None = None
    if next_page_token:
        token = ctx.signer.decode(TOKEN_KIND, next_page_token)
        if (
            token.get("ns") != ns.id
            or token.get("wf") != workflow_id
            or (run_id and token.get("run") != run_id)
        ):
            raise bad_request("next_page_token", "next_page_token belongs to another workflow")
        run_id, first_event_id = token["run"], int(token["next"])
        task = token.get("task")
    window = ctx.settings.history_long_poll_seconds if window is None else window
    deadline = ctx.clock.now() + timedelta(seconds=window)
    if not run_id and wait_new_event:  # a waiter must know its run to be woken
        async with ctx.db.read() as session:
            run_id = (await executions.load(session, ns.id, workflow_id, "")).run_id
    key = (close_key if close_only else history_key)(ns.id, workflow_id, run_id)
    while True:
        wake = ctx.notifier.subscribe(key) if wait_new_event else None
        try:
            async with ctx.db.read() as session:
                row = await executions.load(session, ns.id, workflow_id, run_id)
                events = await read_events(session, row, first_event_id, size + 1, close_only)
            closed = row.status != "RUNNING"
            if events:
                more = len(events) > size
                events = events[:size]
                next_id = events[-1].event_id + 1
                keep_going = more or (wait_new_event and not closed and not close_only)
                next_token = page_token(ctx, ns, row, next_id, task) if keep_going else ""
                rendered = [render_event(e) for e in events]
                if not more:
                    rendered += _transient_tail(row, task)
                return HistoryPage(rendered, next_token, row)
            if closed or wake is None:
                return HistoryPage([], "", row)
            remaining = (deadline - ctx.clock.now()).total_seconds()
            # Stopping ends the wait as the window's end would: the empty page whose
            # token continues it (on another server, or this one restarted).
            if (
                remaining <= 0
                or ctx.draining.is_set()
                or not await ctx.metrics.long_poll("history", ctx.clock.wait(wake, remaining))
            ):
                return HistoryPage([], page_token(ctx, ns, row, first_event_id), row)
        finally:
            if wake is not None:
                ctx.notifier.unsubscribe(key, wake)


def page_token(
    ctx: AppContext,
    ns: NamespaceRow,
    row: RunRecord,
    next_event_id: int,
    task: list[int] | None = None,
) -> str:
    """``task`` ([scheduled event id, attempt]) marks the pages of a workflow task's
    history: its last page ends with the task's unwritten (transient) events."""
    position: dict[str, Any] = {
        "ns": ns.id,
        "wf": row.workflow_id,
        "run": row.run_id,
        "next": next_event_id,
    }
    if task:
        position["task"] = task
    return ctx.signer.encode(TOKEN_KIND, position)


def _transient_tail(row: RunRecord, task: list[int] | None) -> list[dict[str, Any]]:
    if not task:
        return []
    state = executions.state_of(row)
    pending = state.workflow_task
    if pending is None or [pending.scheduled_event_id, pending.attempt] != task:
        return []
    return [render_event(e) for e in transient_events(state)]
