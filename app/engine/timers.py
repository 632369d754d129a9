"""Transitions caused by time: the end of a first-task backoff (cron, start delay) and
the run timeout. Each checks that what the timer refers to still holds, so a timer that
fires twice, or late, does nothing the second time."""

from __future__ import annotations

from datetime import datetime

from app.engine.events import EventType
from app.engine.state import MutableState, TimerKind, Transition, WorkflowStatus
from app.engine.workflow import force_close, schedule_workflow_task


def end_first_task_backoff(state: MutableState, now: datetime) -> Transition:
    out = Transition()
    if state.is_running and state.awaiting_first_task_backoff:
        state.awaiting_first_task_backoff = False
        schedule_workflow_task(state, out, now)
    return out


def time_out_run(state: MutableState, now: datetime) -> Transition:
    out = Transition()
    expires = state.run_expiration_time
    if not state.is_running or expires is None or expires > now:
        return out
    execution_expired = (
        state.execution_expiration_time is not None and state.execution_expiration_time <= now
    )
    # Workflow retries and cron restarts after a timeout belong to the run chain; until
    # then a timed-out run reports why it was not retried.
    retry_state = "TIMEOUT" if execution_expired else "RETRY_POLICY_NOT_SET"
    force_close(
        state,
        out,
        WorkflowStatus.TIMED_OUT,
        EventType.WORKFLOW_EXECUTION_TIMED_OUT,
        {"retry_state": retry_state},
        now,
    )
    return out


def fire(kind: TimerKind, state: MutableState, now: datetime) -> Transition:
    if kind is TimerKind.WORKFLOW_BACKOFF:
        return end_first_task_backoff(state, now)
    return time_out_run(state, now)
