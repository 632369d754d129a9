"""Transitions caused by time: the end of a first-task backoff (cron, start delay) and
the run timeout. Each checks that what the timer refers to still holds, so a timer that
fires twice, or late, does nothing the second time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.engine import activities, chains, sticky, workflow_tasks
from app.engine.events import EventType
from app.engine.state import MutableState, TimerKind, Transition, WorkflowStatus
from app.engine.workflow import force_close, record_external, schedule_workflow_task

ACTIVITY_TIMEOUTS = {
    TimerKind.ACTIVITY_SCHEDULE_TO_START,
    TimerKind.ACTIVITY_SCHEDULE_TO_CLOSE,
    TimerKind.ACTIVITY_START_TO_CLOSE,
    TimerKind.ACTIVITY_HEARTBEAT,
}


def end_first_task_backoff(state: MutableState, now: datetime) -> Transition:
    out = Transition()
    if state.is_running and state.awaiting_first_task_backoff:
        state.awaiting_first_task_backoff = False
        schedule_workflow_task(state, out, now)
    return out


def time_out_run(state: MutableState, now: datetime) -> Transition:
    """The run timeout fired. A retry policy (or else a cron schedule) may start the next
    run; the execution timeout ends the chain."""
    out = Transition()
    expires = state.run_expiration_time
    if not state.is_running or expires is None or expires > now:
        return out
    execution_expired = (
        state.execution_expiration_time is not None and state.execution_expiration_time <= now
    )
    out.next_run, extra = chains.after_failure(
        state,
        chains.run_timeout_failure(),
        now,
        execution_expired=execution_expired,
    )
    force_close(
        state, out, WorkflowStatus.TIMED_OUT, EventType.WORKFLOW_EXECUTION_TIMED_OUT, extra, now
    )
    return out


def fire_user_timer(
    state: MutableState, timer_id: str, started_event_id: int, now: datetime
) -> Transition:
    out = Transition()
    timer = state.user_timers.get(timer_id)
    if not state.is_running or timer is None or timer.started_event_id != started_event_id:
        return out
    del state.user_timers[timer_id]
    record_external(
        state,
        out,
        EventType.TIMER_FIRED,
        {"timer_id": timer_id, "started_event_id": started_event_id},
        now,
    )
    schedule_workflow_task(state, out, now)
    return out


def fire(kind: TimerKind, data: dict[str, Any], state: MutableState, now: datetime) -> Transition:
    if kind is TimerKind.WORKFLOW_BACKOFF:
        return end_first_task_backoff(state, now)
    if kind is TimerKind.WORKFLOW_TASK_RETRY:
        return workflow_tasks.offer_retry(
            state, int(data["scheduled_event_id"]), int(data["attempt"])
        )
    if kind is TimerKind.WORKFLOW_TASK_TIMEOUT:
        return workflow_tasks.time_out(
            state, int(data["scheduled_event_id"]), int(data["attempt"]), now
        )
    if kind is TimerKind.WORKFLOW_TASK_SCHEDULE_TO_START:
        return sticky.time_out_schedule_to_start(
            state, int(data["scheduled_event_id"]), int(data["attempt"]), now
        )
    if kind is TimerKind.ACTIVITY_RETRY:
        return activities.retry_due(
            state, int(data["scheduled_event_id"]), int(data["attempt"]), now
        )
    if kind in ACTIVITY_TIMEOUTS:
        return activities.time_out(
            state, kind, int(data["scheduled_event_id"]), int(data["attempt"]), now
        )
    if kind is TimerKind.USER_TIMER:
        return fire_user_timer(state, str(data["timer_id"]), int(data["started_event_id"]), now)
    return time_out_run(state, now)
