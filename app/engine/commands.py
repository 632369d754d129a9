"""Commands a worker answers a workflow task with, validated as Temporal does and turned
into history events. Payload fields arrive as plain JSON and are stored as Payloads."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from app.engine import activities
from app.engine.events import EventType, format_seconds
from app.engine.state import (
    ActivityInfo,
    MutableState,
    TimerKind,
    TimerToSet,
    Transition,
    UserTimer,
    WorkflowStatus,
)
from app.engine.workflow import append_event, close_run
from app.payloads import encode_payload, encode_payloads

MAX_ID_LENGTH = 1000
CLOSE_COMMANDS = {
    "COMPLETE_WORKFLOW_EXECUTION",
    "FAIL_WORKFLOW_EXECUTION",
    "CANCEL_WORKFLOW_EXECUTION",
    "CONTINUE_AS_NEW_WORKFLOW_EXECUTION",
}
_DURATION = re.compile(r"^(\d+)(?:\.(\d{1,9}))?s$")


class BadCommand(Exception):
    """The command's attributes are invalid: the task fails with ``cause``."""

    def __init__(self, cause: str, message: str) -> None:
        super().__init__(message)
        self.cause = cause
        self.message = message


class InvalidCommandSequence(Exception):
    """The request itself is malformed (unknown command, close command not last); it is
    rejected without touching the run."""


def command_type(command: dict[str, Any]) -> str:
    value = str(command.get("command_type", "")).upper()
    return value.removeprefix("COMMAND_TYPE_")


def attributes(command: dict[str, Any]) -> dict[str, Any]:
    name = f"{command_type(command).lower()}_command_attributes"
    value = command.get(name) or {}
    if not isinstance(value, dict):
        raise BadCommand(_cause(command_type(command)), f"{name} must be an object")
    return value


def has_close_command(commands: list[dict[str, Any]]) -> bool:
    return any(command_type(c) in CLOSE_COMMANDS for c in commands)


def check_sequence(commands: list[dict[str, Any]]) -> None:
    for index, command in enumerate(commands):
        kind = command_type(command)
        if kind not in _HANDLERS:
            raise InvalidCommandSequence(f"unknown or unsupported command type {kind!r}")
        if kind in CLOSE_COMMANDS and index != len(commands) - 1:
            raise InvalidCommandSequence(f"command {kind} must be the last command")


def _cause(kind: str) -> str:
    return {
        "COMPLETE_WORKFLOW_EXECUTION": "BAD_COMPLETE_WORKFLOW_EXECUTION_ATTRIBUTES",
        "FAIL_WORKFLOW_EXECUTION": "BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES",
        "CANCEL_WORKFLOW_EXECUTION": "BAD_CANCEL_WORKFLOW_EXECUTION_ATTRIBUTES",
        "SCHEDULE_ACTIVITY_TASK": "BAD_SCHEDULE_ACTIVITY_ATTRIBUTES",
        "REQUEST_CANCEL_ACTIVITY_TASK": "BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES",
        "START_TIMER": "BAD_START_TIMER_ATTRIBUTES",
        "CANCEL_TIMER": "BAD_CANCEL_TIMER_ATTRIBUTES",
        "RECORD_MARKER": "BAD_RECORD_MARKER_ATTRIBUTES",
        "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES": "BAD_SEARCH_ATTRIBUTES",
        "MODIFY_WORKFLOW_PROPERTIES": "BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES",
    }.get(kind, "UNHANDLED_COMMAND")


def duration(value: Any, field: str, cause: str) -> float:
    if value in (None, ""):
        return 0.0
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match:
        raise BadCommand(cause, f"{field} must be a non-negative duration such as '10s'")
    return int(match.group(1)) + float("0." + (match.group(2) or "0"))


def identifier(value: Any, field: str, cause: str) -> str:
    if not isinstance(value, str) or not value:
        raise BadCommand(cause, f"{field} is required")
    if len(value) > MAX_ID_LENGTH:
        raise BadCommand(cause, f"{field} is longer than {MAX_ID_LENGTH} characters")
    return value


def encode_failure(failure: Any, cause: str) -> dict[str, Any]:
    """A Temporal Failure; its detail payloads are stored as Payloads."""
    if not isinstance(failure, dict):
        raise BadCommand(cause, "failure must be an object with a message")
    stored = dict(failure)
    info = stored.get("application_failure_info")
    if isinstance(info, dict) and info.get("details") is not None:
        stored["application_failure_info"] = {**info, "details": encode_payloads(info["details"])}
    if isinstance(stored.get("cause"), dict):
        stored["cause"] = encode_failure(stored["cause"], cause)
    return stored


def _payload_fields(values: Any, field: str, cause: str) -> dict[str, Any]:
    """``{"fields": {k: {"data": v}}}`` (or ``{k: v}``) into stored Payloads; a null value
    is kept as a null payload, which deletes the key when merged into a memo."""
    fields = values.get("fields", values) if isinstance(values, dict) else None
    if not isinstance(fields, dict):
        raise BadCommand(cause, f"{field} must be an object of fields")
    return {
        key: encode_payload(v.get("data") if isinstance(v, dict) and set(v) <= {"data"} else v)
        for key, v in fields.items()
    }


def _complete(
    state: MutableState, out: Transition, attrs: dict[str, Any], wtc: int, now: datetime
) -> None:
    event = {
        "result": encode_payloads(attrs["result"]) if attrs.get("result") is not None else None,
        "workflow_task_completed_event_id": wtc,
    }
    append_event(state, out, EventType.WORKFLOW_EXECUTION_COMPLETED, _compact(event), now)
    close_run(state, WorkflowStatus.COMPLETED, now)


def _fail(
    state: MutableState, out: Transition, attrs: dict[str, Any], wtc: int, now: datetime
) -> None:
    failure = encode_failure(attrs.get("failure"), "BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES")
    append_event(
        state,
        out,
        EventType.WORKFLOW_EXECUTION_FAILED,
        {
            "failure": failure,
            "retry_state": "RETRY_POLICY_NOT_SET",
            "workflow_task_completed_event_id": wtc,
        },
        now,
    )
    close_run(state, WorkflowStatus.FAILED, now)


def _cancel(
    state: MutableState, out: Transition, attrs: dict[str, Any], wtc: int, now: datetime
) -> None:
    details = attrs.get("details")
    append_event(
        state,
        out,
        EventType.WORKFLOW_EXECUTION_CANCELED,
        _compact(
            {
                "workflow_task_completed_event_id": wtc,
                "details": encode_payloads(details) if details is not None else None,
            }
        ),
        now,
    )
    close_run(state, WorkflowStatus.CANCELED, now)


def _start_timer(
    state: MutableState, out: Transition, attrs: dict[str, Any], wtc: int, now: datetime
) -> None:
    cause = "BAD_START_TIMER_ATTRIBUTES"
    timer_id = identifier(attrs.get("timer_id"), "timer_id", cause)
    seconds = duration(attrs.get("start_to_fire_timeout"), "start_to_fire_timeout", cause)
    if seconds <= 0:
        raise BadCommand(cause, "start_to_fire_timeout must be greater than 0")
    if timer_id in state.user_timers:
        raise BadCommand("START_TIMER_DUPLICATE_ID", f"timer {timer_id!r} is already running")
    event = append_event(
        state,
        out,
        EventType.TIMER_STARTED,
        {
            "timer_id": timer_id,
            "start_to_fire_timeout": format_seconds(seconds),
            "workflow_task_completed_event_id": wtc,
        },
        now,
    )
    fire_time = now + timedelta(seconds=seconds)
    state.user_timers[timer_id] = UserTimer(timer_id, event.event_id, fire_time)
    out.timers.append(
        TimerToSet(
            TimerKind.USER_TIMER,
            fire_time,
            {"timer_id": timer_id, "started_event_id": event.event_id},
        )
    )


def _cancel_timer(
    state: MutableState, out: Transition, attrs: dict[str, Any], wtc: int, now: datetime
) -> None:
    cause = "BAD_CANCEL_TIMER_ATTRIBUTES"
    timer_id = identifier(attrs.get("timer_id"), "timer_id", cause)
    timer = state.user_timers.pop(timer_id, None)
    if timer is None:
        raise BadCommand(cause, f"no running timer {timer_id!r}")
    state.buffered_events = [
        e
        for e in state.buffered_events
        if not (e.event_type is EventType.TIMER_FIRED and e.attributes.get("timer_id") == timer_id)
    ]
    append_event(
        state,
        out,
        EventType.TIMER_CANCELED,
        {
            "timer_id": timer_id,
            "started_event_id": timer.started_event_id,
            "workflow_task_completed_event_id": wtc,
        },
        now,
    )


def _record_marker(
    state: MutableState, out: Transition, attrs: dict[str, Any], wtc: int, now: datetime
) -> None:
    cause = "BAD_RECORD_MARKER_ATTRIBUTES"
    name = identifier(attrs.get("marker_name"), "marker_name", cause)
    details = attrs.get("details") or {}
    if not isinstance(details, dict):
        raise BadCommand(cause, "details must be an object")
    append_event(
        state,
        out,
        EventType.MARKER_RECORDED,
        _compact(
            {
                "marker_name": name,
                "details": {key: encode_payloads(value) for key, value in details.items()} or None,
                "workflow_task_completed_event_id": wtc,
                "header": {"fields": _payload_fields(attrs["header"], "header", cause)}
                if attrs.get("header")
                else None,
                "failure": encode_failure(attrs["failure"], cause)
                if attrs.get("failure")
                else None,
            }
        ),
        now,
    )


def _upsert_search_attributes(
    state: MutableState, out: Transition, attrs: dict[str, Any], wtc: int, now: datetime
) -> None:
    cause = "BAD_SEARCH_ATTRIBUTES"
    raw = attrs.get("search_attributes") or {}
    fields = raw.get("indexed_fields", raw) if isinstance(raw, dict) else None
    if not fields or not isinstance(fields, dict):
        raise BadCommand(cause, "search_attributes.indexed_fields must not be empty")
    encoded = _payload_fields(fields, "search_attributes", cause)
    append_event(
        state,
        out,
        EventType.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        {
            "workflow_task_completed_event_id": wtc,
            "search_attributes": {"indexed_fields": encoded},
        },
        now,
    )
    out.search_attributes_upsert = {**(out.search_attributes_upsert or {}), **encoded}


def modify_properties(
    state: MutableState, out: Transition, attrs: dict[str, Any], wtc: int, now: datetime
) -> None:
    cause = "BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES"
    if not attrs.get("upserted_memo"):
        raise BadCommand(cause, "upserted_memo must not be empty")
    encoded = _payload_fields(attrs["upserted_memo"], "upserted_memo", cause)
    append_event(
        state,
        out,
        EventType.WORKFLOW_PROPERTIES_MODIFIED,
        {
            "workflow_task_completed_event_id": wtc,
            "upserted_memo": {"fields": encoded},
        },
        now,
    )
    out.memo_upsert = {**(out.memo_upsert or {}), **encoded}


def _schedule_activity(
    state: MutableState, out: Transition, attrs: dict[str, Any], wtc: int, now: datetime
) -> None:
    cause = "BAD_SCHEDULE_ACTIVITY_ATTRIBUTES"
    activity_id = identifier(attrs.get("activity_id"), "activity_id", cause)
    activity_type = attrs.get("activity_type")
    type_name = identifier(
        activity_type.get("name") if isinstance(activity_type, dict) else activity_type,
        "activity_type.name",
        cause,
    )
    queue = attrs.get("task_queue") or state.task_queue
    queue_name = identifier(
        queue.get("name") if isinstance(queue, dict) else queue, "task_queue.name", cause
    )
    raw = {
        name: duration(attrs.get(f"{name}_timeout"), f"{name}_timeout", cause)
        for name in ("schedule_to_close", "schedule_to_start", "start_to_close", "heartbeat")
    }
    if not raw["schedule_to_close"] and not raw["start_to_close"]:
        raise BadCommand(
            cause, "a valid start_to_close_timeout or schedule_to_close_timeout must be set"
        )
    if activities.by_activity_id(state, activity_id) is not None:
        raise BadCommand(
            "SCHEDULE_ACTIVITY_DUPLICATE_ID", f"activity {activity_id!r} is already pending"
        )
    timeouts = activities.normalized_timeouts(raw, state.run_timeout)
    try:
        policy = retry_policy(attrs.get("retry_policy") or {})
    except ValueError as exc:
        raise BadCommand(cause, str(exc)) from None
    stored_input = encode_payloads(attrs["input"]) if attrs.get("input") is not None else None
    header = (
        {"fields": _payload_fields(attrs["header"], "header", cause)}
        if attrs.get("header")
        else None
    )
    info = ActivityInfo(
        scheduled_event_id=0,
        activity_id=activity_id,
        activity_type=type_name,
        task_queue=queue_name,
        schedule_to_close_timeout=timeouts["schedule_to_close"],
        schedule_to_start_timeout=timeouts["schedule_to_start"],
        start_to_close_timeout=timeouts["start_to_close"],
        heartbeat_timeout=timeouts["heartbeat"],
        retry_policy=policy,
        scheduled_time=now,
        attempt_scheduled_time=now,
        input=stored_input,
        header=header,
    )
    activities.schedule(
        state,
        out,
        info,
        _compact(
            {
                "activity_id": activity_id,
                "activity_type": {"name": type_name},
                "task_queue": {"name": queue_name, "kind": "NORMAL"},
                "header": header,
                "input": stored_input,
                **activities.durations(timeouts),
                "workflow_task_completed_event_id": wtc,
                "retry_policy": policy,
            }
        ),
        now,
    )


def _request_cancel_activity(
    state: MutableState, out: Transition, attrs: dict[str, Any], wtc: int, now: datetime
) -> None:
    cause = "BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES"
    scheduled = attrs.get("scheduled_event_id")
    if isinstance(scheduled, str) and scheduled.isdigit():
        scheduled = int(scheduled)
    if not isinstance(scheduled, int) or isinstance(scheduled, bool):
        raise BadCommand(cause, "scheduled_event_id is required")
    if not activities.request_cancel(state, out, scheduled, wtc, now):
        raise BadCommand(cause, f"no pending activity scheduled by event {scheduled}")


def retry_policy(policy: dict[str, Any]) -> dict[str, Any]:
    """An activity always has a retry policy: unset fields get Temporal's defaults
    (1s, x2.0, 100 x initial, unlimited attempts)."""
    if not isinstance(policy, dict):
        raise ValueError("retry_policy must be an object")
    cause = "BAD_SCHEDULE_ACTIVITY_ATTRIBUTES"
    initial = duration(policy.get("initial_interval"), "retry_policy.initial_interval", cause)
    initial = initial or 1.0
    coefficient = float(policy.get("backoff_coefficient") or 2.0)
    if coefficient < 1:
        raise ValueError("retry_policy.backoff_coefficient cannot be less than 1")
    maximum = duration(policy.get("maximum_interval"), "retry_policy.maximum_interval", cause)
    if maximum and maximum < initial:
        raise ValueError("retry_policy.maximum_interval cannot be less than initial_interval")
    attempts = int(policy.get("maximum_attempts") or 0)
    if attempts < 0:
        raise ValueError("retry_policy.maximum_attempts cannot be negative")
    result: dict[str, Any] = {
        "initial_interval": format_seconds(initial),
        "backoff_coefficient": coefficient,
        "maximum_interval": format_seconds(maximum or initial * 100),
    }
    if attempts:
        result["maximum_attempts"] = attempts
    if policy.get("non_retryable_error_types"):
        result["non_retryable_error_types"] = list(policy["non_retryable_error_types"])
    return result


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


_HANDLERS = {
    "SCHEDULE_ACTIVITY_TASK": _schedule_activity,
    "REQUEST_CANCEL_ACTIVITY_TASK": _request_cancel_activity,
    "COMPLETE_WORKFLOW_EXECUTION": _complete,
    "FAIL_WORKFLOW_EXECUTION": _fail,
    "CANCEL_WORKFLOW_EXECUTION": _cancel,
    "START_TIMER": _start_timer,
    "CANCEL_TIMER": _cancel_timer,
    "RECORD_MARKER": _record_marker,
    "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES": _upsert_search_attributes,
    "MODIFY_WORKFLOW_PROPERTIES": modify_properties,
}


def apply_all(
    state: MutableState,
    out: Transition,
    commands: list[dict[str, Any]],
    completed_event_id: int,
    now: datetime,
) -> None:
    for command in commands:
        kind = command_type(command)
        _HANDLERS[kind](state, out, attributes(command), completed_event_id, now)
