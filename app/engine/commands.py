"""Commands a worker answers a workflow task with, validated as Temporal does and turned
into history events. Payload fields arrive as plain JSON and are stored as Payloads.
The commands that close the run live in ``close_commands``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from app.engine import activities, children, close_commands, external
from app.engine.command_values import (
    BadCommand,
    compact,
    duration,
    encode_failure,
    identifier,
    payload_fields,
    retry_policy,
)
from app.engine.events import EventType, format_seconds
from app.engine.state import (
    ActivityInfo,
    MutableState,
    TimerKind,
    TimerToSet,
    Transition,
    UserTimer,
)
from app.engine.workflow import append_event
from app.payloads import encode_payloads

CLOSE_COMMANDS = {
    "COMPLETE_WORKFLOW_EXECUTION",
    "FAIL_WORKFLOW_EXECUTION",
    "CANCEL_WORKFLOW_EXECUTION",
    "CONTINUE_AS_NEW_WORKFLOW_EXECUTION",
}


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


# Commands acting on another workflow, which their `namespace` attribute may place in
# another namespace (unnamed: the workflow's own).
CROSS_NAMESPACE_COMMANDS = (
    "START_CHILD_WORKFLOW_EXECUTION",
    "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION",
    "REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION",
)


def namespaces_named(commands: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(command type, namespace) for each command naming a namespace to act in, read as
    its handler reads it, so that the caller's credential can be checked against each."""
    named = []
    for command in commands:
        kind = command_type(command)
        attrs = command.get(f"{kind.lower()}_command_attributes")
        if kind in CROSS_NAMESPACE_COMMANDS and isinstance(attrs, dict) and attrs.get("namespace"):
            named.append((kind, str(attrs["namespace"])))
    return named


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
        "CONTINUE_AS_NEW_WORKFLOW_EXECUTION": "BAD_CONTINUE_AS_NEW_ATTRIBUTES",
        "SCHEDULE_ACTIVITY_TASK": "BAD_SCHEDULE_ACTIVITY_ATTRIBUTES",
        "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION": "BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES",
        "START_CHILD_WORKFLOW_EXECUTION": "BAD_START_CHILD_EXECUTION_ATTRIBUTES",
        "REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION": (
            "BAD_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_ATTRIBUTES"
        ),
        "REQUEST_CANCEL_ACTIVITY_TASK": "BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES",
        "START_TIMER": "BAD_START_TIMER_ATTRIBUTES",
        "CANCEL_TIMER": "BAD_CANCEL_TIMER_ATTRIBUTES",
        "RECORD_MARKER": "BAD_RECORD_MARKER_ATTRIBUTES",
        "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES": "BAD_SEARCH_ATTRIBUTES",
        "MODIFY_WORKFLOW_PROPERTIES": "BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES",
    }.get(kind, "UNHANDLED_COMMAND")


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
    # A timer that fired while this task ran is still cancellable: its TimerFired waits
    # in the buffer, unseen by the worker, and is dropped.
    fired = [
        e
        for e in state.buffered_events
        if e.event_type is EventType.TIMER_FIRED and e.attributes.get("timer_id") == timer_id
    ]
    if timer is None and not fired:
        raise BadCommand(cause, f"no running timer {timer_id!r}")
    started_event_id = timer.started_event_id if timer else fired[0].attributes["started_event_id"]
    state.buffered_events = [e for e in state.buffered_events if not any(e is f for f in fired)]
    append_event(
        state,
        out,
        EventType.TIMER_CANCELED,
        {
            "timer_id": timer_id,
            "started_event_id": started_event_id,
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
        compact(
            {
                "marker_name": name,
                "details": {key: encode_payloads(value) for key, value in details.items()} or None,
                "workflow_task_completed_event_id": wtc,
                "header": {"fields": payload_fields(attrs["header"], "header", cause)}
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
    encoded = payload_fields(fields, "search_attributes", cause)
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
    encoded = payload_fields(attrs["upserted_memo"], "upserted_memo", cause)
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
    eager = attrs.get("request_eager_execution", False)
    if not isinstance(eager, bool):
        raise BadCommand(cause, "request_eager_execution must be true or false")
    if activities.by_activity_id(state, activity_id) is not None:
        raise BadCommand(
            "SCHEDULE_ACTIVITY_DUPLICATE_ID", f"activity {activity_id!r} is already pending"
        )
    timeouts = activities.normalized_timeouts(raw, state.run_timeout)
    policy = retry_policy(attrs.get("retry_policy") or {}, cause)
    stored_input = encode_payloads(attrs["input"]) if attrs.get("input") is not None else None
    header = (
        {"fields": payload_fields(attrs["header"], "header", cause)}
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
        compact(
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
        # Only on the run's own queue: the worker completing the task polls that one (and
        # a worker key limited to some queues must not be handed another's tasks).
        eager=eager and queue_name == state.task_queue,
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


# Commands of Temporal features the gateway does not serve: the task fails with
# FEATURE_DISABLED (and the next attempt is scheduled), as Temporal answers them where
# the feature is turned off; a workflow never waits on a command nothing carries out.
DISABLED_FEATURES = {
    "SCHEDULE_NEXUS_OPERATION": "Nexus operations",
    "REQUEST_CANCEL_NEXUS_OPERATION": "Nexus operations",
    "PROTOCOL_MESSAGE": "workflow updates",
}


def _disabled_feature(
    kind: str,
) -> Callable[[MutableState, Transition, dict[str, Any], int, datetime], None]:
    def refuse(
        state: MutableState, out: Transition, attrs: dict[str, Any], wtc: int, now: datetime
    ) -> None:
        raise BadCommand("FEATURE_DISABLED", f"{kind}: {DISABLED_FEATURES[kind]} are not supported")

    return refuse


_HANDLERS = {
    **{kind: _disabled_feature(kind) for kind in DISABLED_FEATURES},
    "SCHEDULE_ACTIVITY_TASK": _schedule_activity,
    "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION": external.signal_command,
    "START_CHILD_WORKFLOW_EXECUTION": children.start_command,
    "REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION": external.cancel_command,
    "REQUEST_CANCEL_ACTIVITY_TASK": _request_cancel_activity,
    "COMPLETE_WORKFLOW_EXECUTION": close_commands.complete,
    "FAIL_WORKFLOW_EXECUTION": close_commands.fail,
    "CANCEL_WORKFLOW_EXECUTION": close_commands.cancel,
    "CONTINUE_AS_NEW_WORKFLOW_EXECUTION": close_commands.continue_as_new,
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
    identity: str = "",
) -> None:
    for command in commands:
        kind = command_type(command)
        _HANDLERS[kind](state, out, attributes(command), completed_event_id, now)
        if kind == "CANCEL_TIMER" and identity:
            # Temporal records which worker's completion cancelled the timer.
            out.events[-1].attributes["identity"] = identity
