"""Reading a run: its description, and its history a page at a time, optionally waiting
for new events (long poll) without holding a transaction open."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.statements import Statement
from app.db.tables import HistoryEventRow, NamespaceRow, RunRecord, table_of
from app.engine.events import (
    CLOSE_EVENT_TYPES,
    EventType,
    HistoryEvent,
)
from app.engine.workflow_tasks import transient_events
from app.errors import bad_request
from app.models.workflows import HistoryEventFilterType
from app.payloads import render
from app.services import executions
from app.services.dependencies import (
    HasClock,
    HasDb,
    HasDraining,
    HasMetrics,
    HasNamespaces,
    HasNotifier,
    HasSettings,
    HasSigner,
)
from app.services.notifier import close_key, history_key
from app.services.tokens import TokenSigner

MAX_PAGE_SIZE = 256
TOKEN_KIND = "history"
REVERSE_TOKEN_KIND = "history-reverse"


class Paging(
    HasDb, HasClock, HasSettings, HasNotifier, HasSigner, HasDraining, HasMetrics, Protocol
):
    """A page of a run's history (get_page): read, signed, and perhaps waited for (a long
    poll on the notifier, within the settings' window, ended by draining, timed)."""


class Reading(
    HasDb,
    HasClock,
    HasSettings,
    HasNamespaces,
    HasNotifier,
    HasSigner,
    HasDraining,
    HasMetrics,
    Protocol,
):
    """GetWorkflowExecutionHistory by namespace name."""


class ReadingBackwards(HasDb, HasNamespaces, HasSigner, Protocol):
    """GetWorkflowExecutionHistoryReverse: never waits."""


@dataclass
class HistoryPage:
    events: list[dict[str, Any]]
    next_page_token: str
    run: RunRecord  # the run as it was when the page was read


# How a door shows stored data: REST renders json/plain payloads as their values
# (render, render_event); gRPC takes them as stored (raw, HistoryEvent.to_json).
PresentEvent = Callable[[HistoryEvent], dict[str, Any]]


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
_READ_EVENTS_BACKWARDS = Statement(
    select(_EVENTS.c.event_id, _EVENTS.c.event_type, _EVENTS.c.event_time, _EVENTS.c.attributes)
    .where(
        _EVENTS.c.namespace_id == bindparam("namespace_id"),
        _EVENTS.c.workflow_id == bindparam("workflow_id"),
        _EVENTS.c.run_id == bindparam("run_id"),
        _EVENTS.c.event_id <= bindparam("last_event_id"),
    )
    .order_by(_EVENTS.c.event_id.desc())
    .limit(bindparam("limit"))
)
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
    signer: TokenSigner,
    ns: NamespaceRow,
    row: RunRecord,
    task: list[int] | None = None,
    transient: Sequence[HistoryEvent] = (),
    present: PresentEvent = render_event,
    first_event_id: int = 1,
) -> tuple[list[dict[str, Any]], str]:
    """The first page of the run's history for a task handed to a worker (from
    ``first_event_id``), and the token of the next page ("" when it is all). With
    ``task`` ([scheduled event id, attempt]) the last page ends with that workflow task's
    ``transient`` events."""
    events = await read_events(session, row, first_event_id, MAX_PAGE_SIZE + 1)
    if len(events) > MAX_PAGE_SIZE:
        token = page_token(signer, ns, row, first_event_id + MAX_PAGE_SIZE, task)
        return [present(e) for e in events[:MAX_PAGE_SIZE]], token
    return [present(e) for e in [*events, *transient]], ""


async def get_page(
    ctx: Paging,
    ns: NamespaceRow,
    workflow_id: str,
    run_id: str,
    maximum_page_size: int,
    next_page_token: str,
    wait_new_event: bool,
    filter_type: HistoryEventFilterType,
    window: float | None = None,
    present: PresentEvent = render_event,
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
                next_token = page_token(ctx.signer, ns, row, next_id, task) if keep_going else ""
                rendered = [present(e) for e in events]
                if not more:
                    rendered += [present(e) for e in _transient_tail(row, task)]
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
                return HistoryPage([], page_token(ctx.signer, ns, row, first_event_id), row)
        finally:
            if wake is not None:
                ctx.notifier.unsubscribe(key, wake)


def page_token(
    signer: TokenSigner,
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
    return signer.encode(TOKEN_KIND, position)


def _transient_tail(row: RunRecord, task: list[int] | None) -> list[HistoryEvent]:
    if not task:
        return []
    state = executions.state_of(row)
    pending = state.workflow_task
    if pending is None or [pending.scheduled_event_id, pending.attempt] != task:
        return []
    return list(transient_events(state))


async def read_history_backwards(
    ctx: ReadingBackwards,
    namespace: str,
    workflow_id: str,
    run_id: str,
    maximum_page_size: int,
    next_page_token: str,
    present: PresentEvent = render_event,
) -> HistoryPage:
    """One page of the run's history from its last event backwards
    (GetWorkflowExecutionHistoryReverse)."""
    ns = await ctx.namespaces.get(ctx.db, namespace)
    size = page_size(maximum_page_size)
    executions.check_run_id(run_id)
    last_event_id = 2**62
    if next_page_token:
        token = ctx.signer.decode(REVERSE_TOKEN_KIND, next_page_token)
        if token.get("ns") != ns.id or token.get("wf") != workflow_id:
            raise bad_request("next_page_token", "next_page_token belongs to another workflow")
        run_id, last_event_id = token["run"], int(token["last"])
    async with ctx.db.read() as session:
        row = await executions.load(session, ns.id, workflow_id, run_id)
        rows = await _READ_EVENTS_BACKWARDS.all(
            session,
            {
                "namespace_id": row.namespace_id,
                "workflow_id": row.workflow_id,
                "run_id": row.run_id,
                "last_event_id": last_event_id,
                "limit": size + 1,
            },
        )
    events = [HistoryEvent(EventType(t), at, attributes, i) for i, t, at, attributes in rows]
    token_text = ""
    if len(events) > size:
        events = events[:size]
        position = {"ns": ns.id, "wf": row.workflow_id, "run": row.run_id}
        token_text = ctx.signer.encode(
            REVERSE_TOKEN_KIND, {**position, "last": events[-1].event_id - 1}
        )
    return HistoryPage([present(e) for e in events], token_text, row)


async def read_history(
    ctx: Reading,
    namespace: str,
    workflow_id: str,
    run_id: str,
    maximum_page_size: int,
    next_page_token: str,
    wait_new_event: bool,
    filter_type: HistoryEventFilterType,
    window: float | None = None,
    present: PresentEvent = render_event,
) -> HistoryPage:
    """GetWorkflowExecutionHistory as both doors call it (see get_page)."""
    ns = await ctx.namespaces.get(ctx.db, namespace)
    return await get_page(
        ctx,
        ns,
        workflow_id,
        run_id,
        maximum_page_size,
        next_page_token,
        wait_new_event,
        filter_type,
        window,
        present,
    )
