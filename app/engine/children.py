"""Child workflows as their parent sees them: the command that starts one, and the
events that report its start and its close. Pure; the caller starts the child and
reports back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.engine import cron
from app.engine.command_values import (
    BadCommand,
    compact,
    duration,
    identifier,
    payload_fields,
    retry_policy,
)
from app.engine.events import EventType, format_seconds
from app.engine.state import ChildStart, MutableState, Transition
from app.engine.workflow import append_event, record_external, schedule_workflow_task
from app.payloads import encode_payloads

CLOSE_POLICIES = ("TERMINATE", "REQUEST_CANCEL", "ABANDON")
REUSE_POLICIES = ("ALLOW_DUPLICATE", "ALLOW_DUPLICATE_FAILED_ONLY", "REJECT_DUPLICATE")
# The parent's event for each way a child can close.
CLOSED_EVENTS = {
    "WORKFLOW_EXECUTION_COMPLETED": EventType.CHILD_WORKFLOW_EXECUTION_COMPLETED,
    "WORKFLOW_EXECUTION_FAILED": EventType.CHILD_WORKFLOW_EXECUTION_FAILED,
    "WORKFLOW_EXECUTION_CANCELED": EventType.CHILD_WORKFLOW_EXECUTION_CANCELED,
    "WORKFLOW_EXECUTION_TERMINATED": EventType.CHILD_WORKFLOW_EXECUTION_TERMINATED,
    "WORKFLOW_EXECUTION_TIMED_OUT": EventType.CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
}
# What of the child's closing event the parent's event repeats.
_CARRIED = {"result", "failure", "retry_state", "details"}


def _enum(value: Any, prefix: str, allowed: tuple[str, ...], default: str, cause: str) -> str:
    if value in (None, "", 0):
        return default
    name = str(value).upper().removeprefix(prefix)
    if name not in allowed:
        raise BadCommand(cause, f"unknown value {value!r}; expected one of {', '.join(allowed)}")
    return name


def start_command(
    state: MutableState, out: Transition, attrs: dict[str, Any], wtc: int, now: datetime
) -> None:
    cause = "BAD_START_CHILD_EXECUTION_ATTRIBUTES"
    workflow_id = identifier(attrs.get("workflow_id"), "workflow_id", cause)
    kind = attrs.get("workflow_type")
    workflow_type = identifier(
        kind.get("name") if isinstance(kind, dict) else kind, "workflow_type.name", cause
    )
    queue = attrs.get("task_queue") or state.task_queue
    task_queue = identifier(
        queue.get("name") if isinstance(queue, dict) else queue, "task_queue.name", cause
    )
    execution = duration(
        attrs.get("workflow_execution_timeout"), "workflow_execution_timeout", cause
    )
    run = duration(attrs.get("workflow_run_timeout"), "workflow_run_timeout", cause)
    if execution and (not run or run > execution):
        run = execution
    task = min(
        duration(attrs.get("workflow_task_timeout"), "workflow_task_timeout", cause) or 10.0, 120.0
    )
    if run:
        task = min(task, run)
    close_policy = _enum(
        attrs.get("parent_close_policy"), "PARENT_CLOSE_POLICY_", CLOSE_POLICIES, "TERMINATE", cause
    )
    reuse = _enum(
        attrs.get("workflow_id_reuse_policy"),
        "WORKFLOW_ID_REUSE_POLICY_",
        REUSE_POLICIES,
        "ALLOW_DUPLICATE",
        cause,
    )
    policy = retry_policy(attrs["retry_policy"], cause) if attrs.get("retry_policy") else None
    schedule = str(attrs.get("cron_schedule") or "")
    if schedule:
        try:
            cron.validate(schedule)
        except cron.InvalidCron as exc:
            raise BadCommand(cause, str(exc)) from None
    stored_input = encode_payloads(attrs["input"]) if attrs.get("input") is not None else None
    maps = {
        name: {"fields": payload_fields(attrs[name], name, cause)}
        for name in ("header", "memo")
        if attrs.get(name)
    }
    if attrs.get("search_attributes"):
        raw = attrs["search_attributes"]
        maps["search_attributes"] = {
            "indexed_fields": payload_fields(
                raw.get("indexed_fields", raw) if isinstance(raw, dict) else raw,
                "search_attributes",
                cause,
            )
        }
    namespace = str(attrs.get("namespace") or "")
    event = append_event(
        state,
        out,
        EventType.START_CHILD_WORKFLOW_EXECUTION_INITIATED,
        compact(
            {
                "namespace": namespace or None,
                "workflow_id": workflow_id,
                "workflow_type": {"name": workflow_type},
                "task_queue": {"name": task_queue, "kind": "NORMAL"},
                "input": stored_input,
                "workflow_execution_timeout": format_seconds(execution) if execution else None,
                "workflow_run_timeout": format_seconds(run) if run else None,
                "workflow_task_timeout": format_seconds(task),
                "parent_close_policy": close_policy,
                "control": attrs.get("control") or None,
                "workflow_task_completed_event_id": wtc,
                "workflow_id_reuse_policy": reuse,
                "retry_policy": policy,
                "cron_schedule": attrs.get("cron_schedule") or None,
                **maps,
            }
        ),
        now,
    )
    state.children[str(event.event_id)] = {
        "namespace": namespace,
        "workflow_id": workflow_id,
        "workflow_type": workflow_type,
        "parent_close_policy": close_policy,
        "run_id": "",
        "started_event_id": 0,
        "wtc": wtc,
    }
    out.child_starts.append(
        ChildStart(
            event.event_id,
            namespace,
            workflow_id,
            workflow_type,
            task_queue,
            stored_input,
            execution,
            run,
            task,
            reuse,
            policy,
            str(attrs.get("cron_schedule") or ""),
            maps.get("header"),
            maps.get("memo"),
            maps.get("search_attributes"),
        )
    )


def _common(child: dict[str, Any], initiated_event_id: int) -> dict[str, Any]:
    return {
        "namespace": child["namespace"] or None,
        "workflow_execution": {"workflow_id": child["workflow_id"], "run_id": child["run_id"]},
        "workflow_type": {"name": child["workflow_type"]},
        "initiated_event_id": initiated_event_id,
    }


def started(
    state: MutableState, initiated_event_id: int, child_run_id: str, now: datetime
) -> Transition:
    out = Transition()
    child = state.children.get(str(initiated_event_id))
    if child is None or not state.is_running:
        return out
    child["run_id"] = child_run_id
    record_external(
        state,
        out,
        EventType.CHILD_WORKFLOW_EXECUTION_STARTED,
        compact(_common(child, initiated_event_id)),
        now,
    )
    # Buffered while a workflow task runs: the id is set when the event is written.
    child["started_event_id"] = out.events[-1].event_id if out.events else 0
    schedule_workflow_task(state, out, now)
    return out


def start_failed(
    state: MutableState, initiated_event_id: int, cause: str, now: datetime
) -> Transition:
    out = Transition()
    child = state.children.pop(str(initiated_event_id), None)
    if child is None or not state.is_running:
        return out
    record_external(
        state,
        out,
        EventType.START_CHILD_WORKFLOW_EXECUTION_FAILED,
        compact(
            {
                "namespace": child["namespace"] or None,
                "workflow_id": child["workflow_id"],
                "workflow_type": {"name": child["workflow_type"]},
                "cause": cause,
                "initiated_event_id": initiated_event_id,
                "workflow_task_completed_event_id": child["wtc"],
            }
        ),
        now,
    )
    schedule_workflow_task(state, out, now)
    return out


def closed(
    state: MutableState,
    initiated_event_id: int,
    close_event_type: str,
    close_attributes: dict[str, Any],
    now: datetime,
    child_run_id: str = "",
) -> Transition:
    """The child's chain ended: the parent hears how, with the child's result or failure."""
    out = Transition()
    child = state.children.get(str(initiated_event_id))
    event_type = CLOSED_EVENTS.get(close_event_type)
    if child is None or event_type is None or not state.is_running:
        return out
    del state.children[str(initiated_event_id)]
    if child_run_id:
        # The run that closed: after a retry or continue-as-new, not the first one.
        child["run_id"] = child_run_id
    carried = {k: v for k, v in close_attributes.items() if k in _CARRIED}
    if event_type is EventType.CHILD_WORKFLOW_EXECUTION_TERMINATED:
        carried = {}  # Temporal's event has only the common fields
    record_external(
        state,
        out,
        event_type,
        compact(
            {
                **_common(child, initiated_event_id),
                "started_event_id": child["started_event_id"],
                **carried,
            }
        ),
        now,
    )
    schedule_workflow_task(state, out, now)
    return out
