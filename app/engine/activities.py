"""Activities, as Temporal runs them: scheduled by a command, retried by the server
(invisibly: ActivityTaskStarted is written only with the final outcome), bounded by four
timeouts, cancellable. Pure."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from app.engine import retry
from app.engine.events import EventType, format_seconds
from app.engine.state import (
    ActivityInfo,
    ActivityTaskDispatch,
    MutableState,
    TimerKind,
    TimerToSet,
    Transition,
)
from app.engine.workflow import STARTED_JUST_BEFORE, append_event, record_external
from app.engine.workflow import schedule_workflow_task as schedule_wft


class StaleActivityTask(Exception):
    """The token names an attempt that is no longer running."""


class CancelNotRequested(Exception):
    pass


def find(state: MutableState, scheduled_event_id: int, attempt: int) -> ActivityInfo:
    info = state.activities.get(str(scheduled_event_id))
    if not state.is_running or info is None or info.attempt != attempt or not info.started:
        raise StaleActivityTask
    return info


def by_activity_id(state: MutableState, activity_id: str) -> ActivityInfo | None:
    return next((a for a in state.activities.values() if a.activity_id == activity_id), None)


def _dispatch(info: ActivityInfo, out: Transition, now: datetime, eager: bool = False) -> None:
    out.activity_tasks.append(
        ActivityTaskDispatch(info.task_queue, info.scheduled_event_id, eager=eager)
    )
    if info.schedule_to_start_timeout and not eager:
        out.timers.append(
            _timer(
                TimerKind.ACTIVITY_SCHEDULE_TO_START,
                info,
                now + timedelta(seconds=info.schedule_to_start_timeout),
            )
        )


def _timer(kind: TimerKind, info: ActivityInfo, at: datetime) -> TimerToSet:
    return TimerToSet(
        kind, at, {"scheduled_event_id": info.scheduled_event_id, "attempt": info.attempt}
    )


def schedule(
    state: MutableState,
    out: Transition,
    info: ActivityInfo,
    scheduled_attributes: dict[str, Any],
    now: datetime,
    *,
    eager: bool = False,
) -> None:
    """Record ActivityTaskScheduled (from the SCHEDULE_ACTIVITY_TASK command) and
    dispatch the first attempt: to its task queue, or, if ``eager``, to be started by
    ``start_eagerly`` once the workflow task's commands are all applied."""
    event = append_event(state, out, EventType.ACTIVITY_TASK_SCHEDULED, scheduled_attributes, now)
    info.scheduled_event_id = event.event_id
    state.activities[str(event.event_id)] = info
    _dispatch(info, out, now, eager)
    if info.schedule_to_close_timeout:
        out.timers.append(
            _timer(
                TimerKind.ACTIVITY_SCHEDULE_TO_CLOSE,
                info,
                now + timedelta(seconds=info.schedule_to_close_timeout),
            )
        )


def request_cancel(
    state: MutableState, out: Transition, scheduled_event_id: int, wtc: int, now: datetime
) -> bool:
    """REQUEST_CANCEL_ACTIVITY_TASK. An activity not running right now (never started,
    or waiting to retry) is canceled at once; a running one learns of it from its next
    heartbeat. Returns False if no such activity is pending."""
    info = state.activities.get(str(scheduled_event_id))
    if info is None:
        return False
    requested = append_event(
        state,
        out,
        EventType.ACTIVITY_TASK_CANCEL_REQUESTED,
        {
            "scheduled_event_id": scheduled_event_id,
            "workflow_task_completed_event_id": wtc,
        },
        now,
    )
    info.cancel_requested_event_id = requested.event_id
    if not info.started:
        append_event(
            state,
            out,
            EventType.ACTIVITY_TASK_CANCELED,
            {
                "latest_cancel_requested_event_id": requested.event_id,
                "scheduled_event_id": scheduled_event_id,
                "started_event_id": 0,
            },
            now,
        )
        del state.activities[str(scheduled_event_id)]
        state.needs_workflow_task = True
    return True


def start(
    state: MutableState, scheduled_event_id: int, *, identity: str, request_id: str, now: datetime
) -> tuple[ActivityInfo, Transition]:
    """A poller took the attempt. Nothing is written to history yet."""
    info = state.activities.get(str(scheduled_event_id))
    if not state.is_running or info is None or info.started:
        raise StaleActivityTask
    out = Transition()
    info.started_time = now
    info.started_identity = identity
    info.request_id = request_id
    info.last_heartbeat_time = None
    if info.start_to_close_timeout:
        out.timers.append(
            _timer(
                TimerKind.ACTIVITY_START_TO_CLOSE,
                info,
                now + timedelta(seconds=info.start_to_close_timeout),
            )
        )
    if info.heartbeat_timeout:
        out.timers.append(
            _timer(
                TimerKind.ACTIVITY_HEARTBEAT, info, now + timedelta(seconds=info.heartbeat_timeout)
            )
        )
    return info, out


def give_back(
    state: MutableState, scheduled_event_id: int, attempt: int, now: datetime
) -> Transition:
    """The poller that took the attempt never received it: the attempt goes back on its
    queue as if never started (nothing of the start was written to history). Its
    schedule-to-start bound still runs from the scheduling; its start's timers find it
    not started, or started again later, and do nothing."""
    info = find(state, scheduled_event_id, attempt)
    info.started_time = None
    info.started_identity = ""
    info.request_id = ""
    info.last_heartbeat_time = None
    out = Transition()
    out.activity_tasks.append(ActivityTaskDispatch(info.task_queue, info.scheduled_event_id))
    return out


def start_eagerly(
    state: MutableState, out: Transition, identity: str, now: datetime
) -> list[ActivityInfo]:
    """Eager execution, as Temporal does it: the first attempts this workflow task's
    commands asked to run eagerly start now, for the worker that completed the task, and
    never reach a task queue. None if the same task closed the run; one it also canceled
    is gone already."""
    eager = [task for task in out.activity_tasks if task.eager]
    out.activity_tasks = [task for task in out.activity_tasks if not task.eager]
    started: list[ActivityInfo] = []
    for task in eager:
        if not state.is_running or str(task.scheduled_event_id) not in state.activities:
            continue
        # No task row to name the start: an id derived from the run and the attempt.
        request_id = str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"{state.run_id}/{task.scheduled_event_id}")
        )
        info, timers = start(
            state, task.scheduled_event_id, identity=identity, request_id=request_id, now=now
        )
        out.timers += timers.timers
        started.append(info)
    return started


def heartbeat(
    state: MutableState,
    scheduled_event_id: int,
    attempt: int,
    details: dict[str, Any] | None,
    now: datetime,
) -> tuple[bool, Transition]:
    """Keep details for the next attempt and push the heartbeat deadline back. Returns
    whether cancellation was requested."""
    info = find(state, scheduled_event_id, attempt)
    out = Transition()
    if details is not None:
        info.heartbeat_details = details
    info.last_heartbeat_time = now
    if info.heartbeat_timeout:
        out.timers.append(
            _timer(
                TimerKind.ACTIVITY_HEARTBEAT, info, now + timedelta(seconds=info.heartbeat_timeout)
            )
        )
    return info.cancel_requested_event_id > 0, out


def _started_event(info: ActivityInfo) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "scheduled_event_id": info.scheduled_event_id,
        "identity": info.started_identity,
        "request_id": info.request_id,
        "attempt": info.attempt,
        "last_failure": info.last_failure,
    }
    return {k: v for k, v in attributes.items() if v not in (None, "")}


def _finish(
    state: MutableState,
    out: Transition,
    info: ActivityInfo,
    event_type: EventType,
    attributes: dict[str, Any],
    now: datetime,
) -> None:
    """Write the final outcome (after ActivityTaskStarted, if it ever started) and wake
    the workflow."""
    del state.activities[str(info.scheduled_event_id)]
    started_id = 0
    if info.started:
        record_external(
            state,
            out,
            EventType.ACTIVITY_TASK_STARTED,
            _started_event(info),
            info.started_time or now,
            more_follow=True,
        )
        started_id = STARTED_JUST_BEFORE
    outcome = {
        "scheduled_event_id": info.scheduled_event_id,
        "started_event_id": started_id,
        **attributes,
    }
    record_external(
        state, out, event_type, {k: v for k, v in outcome.items() if v is not None}, now
    )
    schedule_wft(state, out, now)


def complete(
    state: MutableState,
    scheduled_event_id: int,
    attempt: int,
    result: dict[str, Any] | None,
    identity: str,
    now: datetime,
) -> Transition:
    info = find(state, scheduled_event_id, attempt)
    out = Transition()
    _finish(
        state,
        out,
        info,
        EventType.ACTIVITY_TASK_COMPLETED,
        {"result": result, "identity": identity or info.started_identity},
        now,
    )
    return out


def canceled(
    state: MutableState,
    scheduled_event_id: int,
    attempt: int,
    details: dict[str, Any] | None,
    identity: str,
    now: datetime,
) -> Transition:
    info = find(state, scheduled_event_id, attempt)
    if not info.cancel_requested_event_id:
        raise CancelNotRequested
    out = Transition()
    _finish(
        state,
        out,
        info,
        EventType.ACTIVITY_TASK_CANCELED,
        {
            "details": details,
            "latest_cancel_requested_event_id": info.cancel_requested_event_id,
            "identity": identity or info.started_identity,
        },
        now,
    )
    return out


def retry_delay(
    info: ActivityInfo, failure: dict[str, Any], now: datetime
) -> tuple[float | None, str]:
    """Seconds until the next attempt, or None and the retry state that ends retrying.
    A requested cancel ends retrying; the schedule-to-close timeout bounds it."""
    if info.cancel_requested_event_id:
        return None, "CANCEL_REQUESTED"
    expiration = None
    if info.schedule_to_close_timeout:
        expiration = info.scheduled_time + timedelta(seconds=info.schedule_to_close_timeout)
    return retry.next_delay(info.retry_policy, info.attempt, failure, expiration, now)


def _retry(
    state: MutableState,
    out: Transition,
    info: ActivityInfo,
    failure: dict[str, Any],
    delay: float,
    now: datetime,
) -> None:
    """Schedule the next attempt after the backoff; no event, no workflow task."""
    info.attempt += 1
    info.last_failure = _without_heartbeat_details(failure)
    info.started_time = None
    info.started_identity = ""
    info.request_id = ""
    out.timers.append(_timer(TimerKind.ACTIVITY_RETRY, info, now + timedelta(seconds=delay)))


def fail(
    state: MutableState,
    scheduled_event_id: int,
    attempt: int,
    failure: dict[str, Any],
    identity: str,
    last_heartbeat_details: dict[str, Any] | None,
    now: datetime,
) -> Transition:
    info = find(state, scheduled_event_id, attempt)
    out = Transition()
    if last_heartbeat_details is not None:
        info.heartbeat_details = last_heartbeat_details
    delay, retry_state = retry_delay(info, failure, now)
    if delay is not None:
        _retry(state, out, info, failure, delay, now)
        return out
    _finish(
        state,
        out,
        info,
        EventType.ACTIVITY_TASK_FAILED,
        {
            "failure": failure,
            "identity": identity or info.started_identity,
            "retry_state": retry_state,
        },
        now,
    )
    return out


def retry_due(
    state: MutableState, scheduled_event_id: int, attempt: int, now: datetime
) -> Transition:
    """The backoff ended: dispatch the next attempt."""
    out = Transition()
    info = state.activities.get(str(scheduled_event_id))
    if not state.is_running or info is None or info.attempt != attempt or info.started:
        return out
    info.attempt_scheduled_time = now
    _dispatch(info, out, now)
    return out


def _without_heartbeat_details(failure: dict[str, Any]) -> dict[str, Any]:
    """A failure kept as the cause of later ones: heartbeat details are carried once, on
    the final failure, not copied into every cause."""
    info = failure.get("timeout_failure_info")
    if not info or "last_heartbeat_details" not in info:
        return failure
    trimmed = {k: v for k, v in info.items() if k != "last_heartbeat_details"}
    return {**failure, "timeout_failure_info": trimmed}


def _timeout_failure(info: ActivityInfo, timeout_type: str) -> dict[str, Any]:
    failure: dict[str, Any] = {
        "message": f"activity {retry.pascal(timeout_type)} timeout",
        "source": "Server",
        "timeout_failure_info": {"timeout_type": timeout_type},
    }
    if info.heartbeat_details is not None:
        failure["timeout_failure_info"]["last_heartbeat_details"] = info.heartbeat_details
    if info.last_failure is not None:
        failure["cause"] = info.last_failure
    return failure


def time_out(
    state: MutableState, kind: TimerKind, scheduled_event_id: int, attempt: int, now: datetime
) -> Transition:
    """One of the four activity timeouts fired; a no-op if it no longer applies."""
    out = Transition()
    info = state.activities.get(str(scheduled_event_id))
    if not state.is_running or info is None:
        return out
    if kind is TimerKind.ACTIVITY_SCHEDULE_TO_CLOSE:
        _finish(
            state,
            out,
            info,
            EventType.ACTIVITY_TASK_TIMED_OUT,
            {
                "failure": _timeout_failure(info, "SCHEDULE_TO_CLOSE"),
                "retry_state": "NON_RETRYABLE_FAILURE",
            },
            now,
        )
        return out
    if info.attempt != attempt:
        return out
    if kind is TimerKind.ACTIVITY_SCHEDULE_TO_START:
        if info.started:
            return out
        _finish(
            state,
            out,
            info,
            EventType.ACTIVITY_TASK_TIMED_OUT,
            {
                "failure": _timeout_failure(info, "SCHEDULE_TO_START"),
                "retry_state": "NON_RETRYABLE_FAILURE",
            },
            now,
        )
        return out
    if not info.started or info.started_time is None:
        return out
    if kind is TimerKind.ACTIVITY_HEARTBEAT:
        last = info.last_heartbeat_time or info.started_time
        if last + timedelta(seconds=info.heartbeat_timeout) > now:
            return out
        timeout_type = "HEARTBEAT"
    else:
        # An attempt given back and started again keeps its first start's timer.
        if info.started_time + timedelta(seconds=info.start_to_close_timeout) > now:
            return out
        timeout_type = "START_TO_CLOSE"
    failure = _timeout_failure(info, timeout_type)
    delay, retry_state = retry_delay(info, failure, now)
    if delay is not None:
        _retry(state, out, info, failure, delay, now)
        return out
    if retry_state == "TIMEOUT":
        # No time left for another attempt: reported as the schedule-to-close bound.
        failure = _timeout_failure(info, "SCHEDULE_TO_CLOSE")
    _finish(
        state,
        out,
        info,
        EventType.ACTIVITY_TASK_TIMED_OUT,
        {"failure": failure, "retry_state": retry_state},
        now,
    )
    return out


def normalized_timeouts(attrs: dict[str, float], run_timeout: float) -> dict[str, float]:
    """Temporal's defaults: schedule-to-close bounds the others; without it, the run
    timeout stands in; everything is clamped to the run timeout; heartbeat never exceeds
    start-to-close."""
    s2c, s2s = attrs["schedule_to_close"], attrs["schedule_to_start"]
    stc, heartbeat = attrs["start_to_close"], attrs["heartbeat"]
    if s2c:
        s2s = min(s2s, s2c) if s2s else s2c
        stc = min(stc, s2c) if stc else s2c
    else:
        s2c = run_timeout
        s2s = s2s or run_timeout
    if run_timeout:
        s2c, s2s, stc, heartbeat = (
            min(v, run_timeout) if v else v for v in (s2c, s2s, stc, heartbeat)
        )
    if heartbeat and stc:
        heartbeat = min(heartbeat, stc)
    return {
        "schedule_to_close": s2c,
        "schedule_to_start": s2s,
        "start_to_close": stc,
        "heartbeat": heartbeat,
    }


def durations(timeouts: dict[str, float]) -> dict[str, str]:
    return {f"{name}_timeout": format_seconds(value) for name, value in timeouts.items()}
