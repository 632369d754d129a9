"""Transitions of a workflow run that come from outside the worker: start, signal,
cancel request, terminate. Pure: the caller passes the time and persists the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.engine.events import EventType, HistoryEvent, format_seconds, format_time
from app.engine.state import (
    MutableState,
    TimerKind,
    TimerToSet,
    Transition,
    WorkflowStatus,
    WorkflowTask,
    WorkflowTaskDispatch,
)

STARTED_JUST_BEFORE = -1


class IllegalTransition(Exception):
    """The run is not in a state that allows the change (e.g. it has closed)."""


@dataclass
class StartParams:
    workflow_id: str
    run_id: str
    workflow_type: str
    task_queue: str
    request_id: str
    identity: str = ""
    input: dict[str, Any] | None = None
    execution_timeout: float = 0.0
    run_timeout: float = 0.0
    workflow_task_timeout: float = 10.0
    retry_policy: dict[str, Any] | None = None
    cron_schedule: str = ""
    first_workflow_task_backoff: float = 0.0
    memo: dict[str, Any] | None = None
    search_attributes: dict[str, Any] | None = None
    header: dict[str, Any] | None = None
    attempt: int = 1
    first_execution_run_id: str = ""
    # Set on the later runs of a chain.
    initiator: str = ""
    continued_execution_run_id: str = ""
    continued_failure: dict[str, Any] | None = None
    last_completion_result: dict[str, Any] | None = None
    execution_expiration_time: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def append_event(
    state: MutableState,
    out: Transition,
    event_type: EventType,
    attributes: dict[str, Any],
    now: datetime,
) -> HistoryEvent:
    if attributes.get("started_event_id") == STARTED_JUST_BEFORE:
        # An activity outcome is written right after its Started event; its id is known
        # only now (buffered events get their ids when flushed).
        attributes = {**attributes, "started_event_id": state.next_event_id - 1}
    event = HistoryEvent(event_type, now, attributes, state.next_event_id)
    state.next_event_id += 1
    out.events.append(event)
    if event_type is EventType.CHILD_WORKFLOW_EXECUTION_STARTED:
        child = state.children.get(str(attributes.get("initiated_event_id")))
        if child is not None:
            child["started_event_id"] = event.event_id
    return event


def record_external(
    state: MutableState,
    out: Transition,
    event_type: EventType,
    attributes: dict[str, Any],
    now: datetime,
    *,
    more_follow: bool = False,
) -> None:
    """Events caused from outside are buffered while a workflow task is in flight and
    written after it completes, so the worker's view of history stays consistent.
    ``more_follow`` keeps a pair (activity Started + outcome) together."""
    task = state.workflow_task
    if task is not None and task.started:
        state.buffered_events.append(HistoryEvent(event_type, now, attributes))
        return
    append_event(state, out, event_type, attributes, now)
    if task is not None and task.transient and not more_follow:
        # New events end a run of failing attempts: the retry becomes a normal task.
        state.workflow_task = None
        schedule_workflow_task(state, out, now)


def schedule_workflow_task(
    state: MutableState, out: Transition, now: datetime, attempt: int = 1
) -> None:
    """Schedule a workflow task unless one is already pending (or the first one still
    waits for its backoff). A retry (attempt > 1) is transient: no event is written. A
    run with a sticky queue has its task put there, bounded by the sticky timeout."""
    if not state.is_running or state.workflow_task is not None:
        return
    if state.awaiting_first_task_backoff:
        return
    transient = attempt > 1
    queue = state.sticky_task_queue or state.task_queue
    if transient:
        scheduled_event_id = state.next_event_id
    else:
        scheduled_event_id = append_event(
            state,
            out,
            EventType.WORKFLOW_TASK_SCHEDULED,
            scheduled_attributes(state, attempt, queue),
            now,
        ).event_id
    state.workflow_task = WorkflowTask(
        scheduled_event_id=scheduled_event_id,
        attempt=attempt,
        task_queue=queue,
        start_to_close_timeout=state.workflow_task_timeout,
        scheduled_time=now,
        transient=transient,
    )
    out.workflow_tasks.append(WorkflowTaskDispatch(queue, scheduled_event_id))
    if queue != state.task_queue:
        out.timers.append(
            TimerToSet(
                TimerKind.WORKFLOW_TASK_SCHEDULE_TO_START,
                now + timedelta(seconds=state.sticky_schedule_to_start_timeout),
                {"scheduled_event_id": scheduled_event_id, "attempt": attempt},
            )
        )


def task_queue_attribute(state: MutableState, queue: str) -> dict[str, Any]:
    """A queue of the run as events show it: its own, or a worker's sticky queue."""
    if queue == state.task_queue:
        return {"name": queue, "kind": "NORMAL"}
    return {"name": queue, "kind": "STICKY", "normal_name": state.task_queue}


def scheduled_attributes(
    state: MutableState, attempt: int, queue: str | None = None
) -> dict[str, Any]:
    return {
        "task_queue": task_queue_attribute(state, queue or state.task_queue),
        "start_to_close_timeout": format_seconds(state.workflow_task_timeout),
        "attempt": attempt,
    }


def start(params: StartParams, now: datetime) -> tuple[MutableState, Transition]:
    state = MutableState(
        workflow_id=params.workflow_id,
        run_id=params.run_id,
        workflow_type=params.workflow_type,
        task_queue=params.task_queue,
        status=WorkflowStatus.RUNNING,
        start_time=now,
        workflow_task_timeout=params.workflow_task_timeout,
        run_timeout=params.run_timeout,
        execution_timeout=params.execution_timeout,
    )
    state.attempt = params.attempt
    state.first_execution_run_id = params.first_execution_run_id or params.run_id
    state.retry_policy = params.retry_policy
    state.cron_schedule = params.cron_schedule
    if params.execution_expiration_time is not None:
        state.execution_expiration_time = params.execution_expiration_time
    elif params.execution_timeout:
        state.execution_expiration_time = now + timedelta(seconds=params.execution_timeout)
    out = Transition()
    attributes: dict[str, Any] = {
        "workflow_type": {"name": params.workflow_type},
        "task_queue": {"name": params.task_queue, "kind": "NORMAL"},
        "input": params.input,
        "workflow_execution_timeout": (
            format_seconds(params.execution_timeout) if params.execution_timeout else None
        ),
        "workflow_run_timeout": format_seconds(params.run_timeout) if params.run_timeout else None,
        "workflow_task_timeout": format_seconds(params.workflow_task_timeout),
        "original_execution_run_id": params.run_id,
        "identity": params.identity,
        "first_execution_run_id": params.first_execution_run_id or params.run_id,
        "retry_policy": params.retry_policy,
        "attempt": params.attempt,
        "workflow_execution_expiration_time": (
            format_time(state.execution_expiration_time)
            if state.execution_expiration_time
            else None
        ),
        "cron_schedule": params.cron_schedule or None,
        "first_workflow_task_backoff": format_seconds(params.first_workflow_task_backoff),
        "initiator": params.initiator or ("CRON_SCHEDULE" if params.cron_schedule else None),
        "continued_execution_run_id": params.continued_execution_run_id or None,
        "continued_failure": params.continued_failure,
        "last_completion_result": params.last_completion_result,
        "memo": params.memo,
        "search_attributes": params.search_attributes,
        "header": params.header,
        "workflow_id": params.workflow_id,
        **params.extra,
    }
    append_event(
        state,
        out,
        EventType.WORKFLOW_EXECUTION_STARTED,
        {k: v for k, v in attributes.items() if v is not None and v != ""},
        now,
    )

    run_start = now
    if params.first_workflow_task_backoff:
        state.awaiting_first_task_backoff = True
        run_start = now + timedelta(seconds=params.first_workflow_task_backoff)
        out.timers.append(TimerToSet(TimerKind.WORKFLOW_BACKOFF, run_start))
    state.scheduled_start_time = run_start
    expiration = state.execution_expiration_time
    if params.run_timeout:
        state.run_expiration_time = run_start + timedelta(seconds=params.run_timeout)
        if expiration is not None:
            state.run_expiration_time = min(state.run_expiration_time, expiration)
    elif expiration is not None:
        state.run_expiration_time = expiration
    if state.run_expiration_time is not None:
        out.timers.append(TimerToSet(TimerKind.WORKFLOW_RUN_TIMEOUT, state.run_expiration_time))
    schedule_workflow_task(state, out, now)
    return state, out


def _require_running(state: MutableState) -> None:
    if not state.is_running:
        raise IllegalTransition(state.status.value)


def signal(
    state: MutableState,
    *,
    signal_name: str,
    input: dict[str, Any] | None,
    identity: str,
    header: dict[str, Any] | None,
    request_id: str,
    now: datetime,
    external_workflow_execution: dict[str, str] | None = None,
) -> Transition:
    _require_running(state)
    out = Transition()
    attributes: dict[str, Any] = {
        "signal_name": signal_name,
        "input": input,
        "identity": identity,
        "header": header,
        "request_id": request_id,
        "external_workflow_execution": external_workflow_execution,
    }
    record_external(
        state,
        out,
        EventType.WORKFLOW_EXECUTION_SIGNALED,
        {k: v for k, v in attributes.items() if v not in (None, "")},
        now,
    )
    state.signal_count += 1
    schedule_workflow_task(state, out, now)
    return out


def request_cancel(
    state: MutableState,
    *,
    reason: str,
    identity: str,
    now: datetime,
    external_initiated_event_id: int = 0,
    external_workflow_execution: dict[str, str] | None = None,
) -> Transition:
    """Cooperative: records the request and wakes the workflow, which decides. A repeated
    request is a no-op, as in Temporal."""
    _require_running(state)
    out = Transition()
    if state.cancel_requested:
        return out
    state.cancel_requested = True
    # A cancel request does not wait for a cron or start-delay backoff: the workflow
    # gets a task at once to react to it.
    state.awaiting_first_task_backoff = False
    attributes = {
        "cause": reason,
        "identity": identity,
        "external_initiated_event_id": external_initiated_event_id,
        "external_workflow_execution": external_workflow_execution,
    }
    record_external(
        state,
        out,
        EventType.WORKFLOW_EXECUTION_CANCEL_REQUESTED,
        {k: v for k, v in attributes.items() if v},
        now,
    )
    schedule_workflow_task(state, out, now)
    return out


def close_run(state: MutableState, status: WorkflowStatus, now: datetime) -> None:
    state.status = status
    state.close_time = now
    state.workflow_task = None
    state.awaiting_first_task_backoff = False


def force_close(
    state: MutableState,
    out: Transition,
    status: WorkflowStatus,
    event_type: EventType,
    attributes: dict[str, Any],
    now: datetime,
) -> None:
    """Close the run from outside its code. A workflow task in flight is failed first
    (FORCE_CLOSE_COMMAND) and buffered events are written before the closing event."""
    task = state.workflow_task
    # A transient attempt's events were never written; nothing may refer to them.
    if task is not None and task.started and not task.transient:
        append_event(
            state,
            out,
            EventType.WORKFLOW_TASK_FAILED,
            {
                "scheduled_event_id": task.scheduled_event_id,
                "started_event_id": task.started_event_id,
                "cause": "FORCE_CLOSE_COMMAND",
                "identity": "history-service",
            },
            now,
        )
    for event in state.buffered_events:
        append_event(state, out, event.event_type, event.attributes, event.event_time)
    state.buffered_events = []
    append_event(
        state, out, event_type, {k: v for k, v in attributes.items() if v not in (None, "")}, now
    )
    close_run(state, status, now)


def terminate(
    state: MutableState,
    *,
    reason: str,
    details: dict[str, Any] | None,
    identity: str,
    now: datetime,
) -> Transition:
    """Forced close, at once; no workflow code runs."""
    _require_running(state)
    out = Transition()
    force_close(
        state,
        out,
        WorkflowStatus.TERMINATED,
        EventType.WORKFLOW_EXECUTION_TERMINATED,
        {"reason": reason, "details": details, "identity": identity},
        now,
    )
    return out
