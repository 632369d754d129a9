"""The workflow task lifecycle: a poller starts it, the worker completes it with
commands or fails it, or its start-to-close timeout fires. Pure."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.engine import activities, command_values, commands, search_attributes, sticky
from app.engine.events import EventType, HistoryEvent
from app.engine.state import (
    ActivityInfo,
    MutableState,
    TimerKind,
    TimerToSet,
    Transition,
    WorkflowTask,
    WorkflowTaskDispatch,
)
from app.engine.workflow import append_event, schedule_workflow_task, scheduled_attributes


class StaleWorkflowTask(Exception):
    """The task the worker names is not the run's current started task."""


@dataclass
class Completion:
    commands: list[dict[str, Any]]
    identity: str = ""
    binary_checksum: str = ""
    force_create_new_workflow_task: bool = False
    memo_update: dict[str, Any] | None = None
    sdk_metadata: dict[str, Any] | None = None
    search_attribute_types: dict[str, str] = field(default_factory=dict)
    # The completing worker's own queue for the run's next tasks ("" for none).
    sticky_task_queue: str = ""
    sticky_schedule_to_start_timeout: float = 0.0


@dataclass
class CompletionResult:
    transition: Transition
    failed_cause: str | None = None
    failure_message: str = ""
    new_task_scheduled: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    eager_activities: list[ActivityInfo] = field(default_factory=list)


def current(
    state: MutableState, scheduled_event_id: int, attempt: int, *, started: bool
) -> WorkflowTask:
    task = state.workflow_task
    if (
        not state.is_running
        or task is None
        or task.scheduled_event_id != scheduled_event_id
        or task.attempt != attempt
        or task.started != started
    ):
        raise StaleWorkflowTask
    return task


def start(
    state: MutableState, scheduled_event_id: int, *, identity: str, request_id: str, now: datetime
) -> Transition:
    """A poller took the task: record WorkflowTaskStarted (only in state for a transient
    retry) and set its start-to-close timeout."""
    task = current(
        state,
        scheduled_event_id,
        state.workflow_task.attempt if state.workflow_task else 0,
        started=False,
    )
    out = Transition()
    if task.transient:
        task.started_event_id = task.scheduled_event_id + 1
    else:
        task.started_event_id = append_event(
            state,
            out,
            EventType.WORKFLOW_TASK_STARTED,
            started_attributes(task, identity, request_id),
            now,
        ).event_id
    task.started_time = now
    task.identity = identity
    task.request_id = request_id
    out.timers.append(
        TimerToSet(
            TimerKind.WORKFLOW_TASK_TIMEOUT,
            now + timedelta(seconds=task.start_to_close_timeout),
            {"scheduled_event_id": task.scheduled_event_id, "attempt": task.attempt},
        )
    )
    return out


def started_attributes(task: WorkflowTask, identity: str, request_id: str) -> dict[str, Any]:
    attributes = {
        "scheduled_event_id": task.scheduled_event_id,
        "identity": identity,
        "request_id": request_id,
    }
    return {k: v for k, v in attributes.items() if v}


def transient_events(state: MutableState) -> list[HistoryEvent]:
    """The unwritten Scheduled/Started events of a transient task, which the worker sees
    at the end of its history."""
    task = state.workflow_task
    if task is None or not task.transient:
        return []
    events = [
        HistoryEvent(
            EventType.WORKFLOW_TASK_SCHEDULED,
            task.scheduled_time,
            scheduled_attributes(state, task.attempt),
            task.scheduled_event_id,
        )
    ]
    if task.started and task.started_time is not None:
        events.append(
            HistoryEvent(
                EventType.WORKFLOW_TASK_STARTED,
                task.started_time,
                started_attributes(task, task.identity, task.request_id),
                task.started_event_id,
            )
        )
    return events


def _persist_transient(state: MutableState, out: Transition) -> None:
    for event in transient_events(state):
        append_event(state, out, event.event_type, event.attributes, event.event_time)
    assert state.workflow_task is not None
    state.workflow_task.transient = False


def _flush_buffered(state: MutableState, out: Transition) -> bool:
    flushed = bool(state.buffered_events)
    for event in state.buffered_events:
        append_event(state, out, event.event_type, event.attributes, event.event_time)
    state.buffered_events = []
    return flushed


RETRY_BACKOFF_FROM_ATTEMPT = 3
MAX_RETRY_BACKOFF_SECONDS = 600.0


def retry_backoff(attempt: int) -> float:
    """How long a task a worker keeps failing waits before it is offered again: 1s before
    attempt 3, doubling, at most 10 minutes; earlier attempts go out at once."""
    if attempt < RETRY_BACKOFF_FROM_ATTEMPT:
        return 0.0
    return min(2.0 ** (attempt - RETRY_BACKOFF_FROM_ATTEMPT), MAX_RETRY_BACKOFF_SECONDS)


def _retry(
    state: MutableState, out: Transition, attempt: int, now: datetime, *, back_off: bool = False
) -> None:
    """After a failed or timed-out task: flush what arrived meanwhile and schedule the
    next attempt, transient unless new events were written. A worker that keeps failing
    a task gets it again only after a backoff, so it cannot spin on it."""
    state.workflow_task = None
    if _flush_buffered(state, out):
        schedule_workflow_task(state, out, now)
        return
    schedule_workflow_task(state, out, now, attempt=attempt + 1)
    task = state.workflow_task
    delay = retry_backoff(attempt + 1) if back_off else 0.0
    if task is not None and delay and out.workflow_tasks:
        out.workflow_tasks.pop()
        out.timers.append(
            TimerToSet(
                TimerKind.WORKFLOW_TASK_RETRY,
                now + timedelta(seconds=delay),
                {"scheduled_event_id": task.scheduled_event_id, "attempt": task.attempt},
            )
        )


def offer_retry(state: MutableState, scheduled_event_id: int, attempt: int) -> Transition:
    """The backoff of a retried task ended: put it on its queue."""
    out = Transition()
    task = state.workflow_task
    if (
        state.is_running
        and task is not None
        and not task.started
        and task.scheduled_event_id == scheduled_event_id
        and task.attempt == attempt
    ):
        out.workflow_tasks.append(WorkflowTaskDispatch(task.task_queue, scheduled_event_id))
    return out


def fail(
    state: MutableState,
    scheduled_event_id: int,
    attempt: int,
    *,
    cause: str,
    failure: dict[str, Any] | None,
    identity: str,
    now: datetime,
) -> Transition:
    task = current(state, scheduled_event_id, attempt, started=True)
    out = Transition()
    sticky.clear(state)
    if not task.transient:
        attributes: dict[str, Any] = {
            "scheduled_event_id": task.scheduled_event_id,
            "started_event_id": task.started_event_id,
            "cause": cause,
            "failure": failure,
            "identity": identity,
        }
        append_event(
            state,
            out,
            EventType.WORKFLOW_TASK_FAILED,
            {k: v for k, v in attributes.items() if v},
            now,
        )
    _retry(state, out, task.attempt, now, back_off=True)
    return out


def time_out(
    state: MutableState, scheduled_event_id: int, attempt: int, now: datetime
) -> Transition:
    """The start-to-close timeout fired; a no-op if the task already finished."""
    try:
        task = current(state, scheduled_event_id, attempt, started=True)
    except StaleWorkflowTask:
        return Transition()
    out = Transition()
    sticky.clear(state)
    state.timed_out_workflow_task = [task.scheduled_event_id, task.attempt]
    if not task.transient:
        append_event(
            state,
            out,
            EventType.WORKFLOW_TASK_TIMED_OUT,
            {
                "scheduled_event_id": task.scheduled_event_id,
                "started_event_id": task.started_event_id,
                "timeout_type": "START_TO_CLOSE",
            },
            now,
        )
    _retry(state, out, task.attempt, now)
    return out


def complete(
    state: MutableState,
    scheduled_event_id: int,
    attempt: int,
    completion: Completion,
    now: datetime,
) -> CompletionResult:
    """Apply the worker's commands. A bad command fails the task with its cause and
    nothing of the batch is kept; a close command while events wait in the buffer fails
    it with UNHANDLED_COMMAND so the worker sees them first."""
    task = current(state, scheduled_event_id, attempt, started=True)
    commands.check_sequence(completion.commands)
    if state.buffered_events and commands.has_close_command(completion.commands):
        return _failed(
            state,
            task,
            "UNHANDLED_COMMAND",
            "Workflow task completion ignored: new events arrived during it.",
            completion.identity,
            now,
        )
    candidate = copy.deepcopy(state)
    out = Transition()
    if task.transient:
        _persist_transient(candidate, out)
    completed = append_event(
        candidate,
        out,
        EventType.WORKFLOW_TASK_COMPLETED,
        {
            k: v
            for k, v in {
                "scheduled_event_id": task.scheduled_event_id,
                "started_event_id": task.started_event_id,
                "identity": completion.identity,
                "binary_checksum": completion.binary_checksum,
                "sdk_metadata": completion.sdk_metadata,
            }.items()
            if v
        },
        now,
    )
    candidate.workflow_task = None
    candidate.previous_started_event_id = task.started_event_id
    sticky.stick(
        candidate, completion.sticky_task_queue, completion.sticky_schedule_to_start_timeout
    )
    try:
        commands.apply_all(
            candidate, out, completion.commands, completed.event_id, now, completion.identity
        )
        if completion.memo_update:
            commands.modify_properties(
                candidate, out, {"upserted_memo": completion.memo_update}, completed.event_id, now
            )
        problem = search_attributes.check(
            completion.search_attribute_types,
            out.search_attributes_upsert or {},
            "search_attributes",
        )
        if problem:
            raise command_values.BadCommand("BAD_SEARCH_ATTRIBUTES", problem)
    except command_values.BadCommand as bad:
        return _failed(state, task, bad.cause, bad.message, completion.identity, now)
    eager = activities.start_eagerly(candidate, out, completion.identity, now)
    flushed = _flush_buffered(candidate, out)
    if candidate.is_running and (
        flushed or completion.force_create_new_workflow_task or candidate.needs_workflow_task
    ):
        schedule_workflow_task(candidate, out, now)
    candidate.needs_workflow_task = False
    _adopt(state, candidate)
    return CompletionResult(
        out, new_task_scheduled=bool(out.workflow_tasks), eager_activities=eager
    )


def _failed(
    state: MutableState, task: WorkflowTask, cause: str, message: str, identity: str, now: datetime
) -> CompletionResult:
    out = fail(
        state,
        task.scheduled_event_id,
        task.attempt,
        cause=cause,
        failure={"message": message, "server_failure_info": {}},
        identity=identity,
        now=now,
    )
    return CompletionResult(out, failed_cause=cause, failure_message=message)


def _adopt(state: MutableState, candidate: MutableState) -> None:
    state.__dict__.update(candidate.__dict__)
