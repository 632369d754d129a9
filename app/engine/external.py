"""Signals and cancel requests between workflows: the commands that send them and the
events that report how they went. Pure; the caller delivers the request to the target
run and reports back with ``delivered`` or ``failed``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from app.engine.command_values import BadCommand, compact, identifier, payload_fields
from app.engine.events import EventType
from app.engine.state import ExternalRequest, MutableState, Transition
from app.engine.workflow import append_event, record_external, schedule_workflow_task
from app.payloads import encode_payloads

SIGNAL = "signal"
CANCEL = "cancel"


def _target(workflow_id: Any, run_id: Any, cause: str) -> dict[str, str]:
    run = run_id if isinstance(run_id, str) else ""
    if run:
        try:
            uuid.UUID(run)
        except ValueError:
            raise BadCommand(cause, f"invalid run_id {run[:64]!r}") from None
    return {"workflow_id": identifier(workflow_id, "workflow_id", cause), "run_id": run}


def signal_command(
    state: MutableState, out: Transition, attrs: dict[str, Any], wtc: int, now: datetime
) -> None:
    cause = "BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES"
    execution = attrs.get("execution") or attrs.get("workflow_execution") or {}
    if not isinstance(execution, dict):
        raise BadCommand(cause, "execution must be an object")
    target = _target(execution.get("workflow_id"), execution.get("run_id"), cause)
    name = identifier(attrs.get("signal_name"), "signal_name", cause)
    stored_input = encode_payloads(attrs["input"]) if attrs.get("input") is not None else None
    header = (
        {"fields": payload_fields(attrs["header"], "header", cause)}
        if attrs.get("header")
        else None
    )
    event = append_event(
        state,
        out,
        EventType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        compact(
            {
                "workflow_task_completed_event_id": wtc,
                "namespace": attrs.get("namespace") or None,
                "workflow_execution": target,
                "signal_name": name,
                "input": stored_input,
                "control": attrs.get("control") or None,
                "child_workflow_only": bool(attrs.get("child_workflow_only")),
                "header": header,
            }
        ),
        now,
    )
    _remember(
        state,
        out,
        ExternalRequest(
            SIGNAL,
            event.event_id,
            str(attrs.get("namespace") or ""),
            target["workflow_id"],
            target["run_id"],
            signal_name=name,
            input=stored_input,
            header=header,
            child_workflow_only=bool(attrs.get("child_workflow_only")),
        ),
        wtc,
    )


def cancel_command(
    state: MutableState, out: Transition, attrs: dict[str, Any], wtc: int, now: datetime
) -> None:
    cause = "BAD_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_ATTRIBUTES"
    unstarted = {c["workflow_id"] for c in state.children.values() if not c["run_id"]}
    if attrs.get("workflow_id") in unstarted:
        raise BadCommand(cause, "cannot start and cancel the same child in one workflow task")
    target = _target(attrs.get("workflow_id"), attrs.get("run_id"), cause)
    reason = str(attrs.get("reason") or "")
    event = append_event(
        state,
        out,
        EventType.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        compact(
            {
                "workflow_task_completed_event_id": wtc,
                "namespace": attrs.get("namespace") or None,
                "workflow_execution": target,
                "control": attrs.get("control") or None,
                "child_workflow_only": bool(attrs.get("child_workflow_only")),
                "reason": reason or None,
            }
        ),
        now,
    )
    _remember(
        state,
        out,
        ExternalRequest(
            CANCEL,
            event.event_id,
            str(attrs.get("namespace") or ""),
            target["workflow_id"],
            target["run_id"],
            reason=reason,
            child_workflow_only=bool(attrs.get("child_workflow_only")),
        ),
        wtc,
    )


def _remember(state: MutableState, out: Transition, request: ExternalRequest, wtc: int) -> None:
    state.pending_external[str(request.initiated_event_id)] = {
        "kind": request.kind,
        "wtc": wtc,
        "namespace": request.namespace,
        "workflow_execution": {"workflow_id": request.workflow_id, "run_id": request.run_id},
    }
    out.external_requests.append(request)


def delivered(
    state: MutableState, initiated_event_id: int, target_run_id: str, now: datetime
) -> Transition:
    """The target recorded the signal or the cancel request."""
    out = Transition()
    pending = state.pending_external.pop(str(initiated_event_id), None)
    if pending is None or not state.is_running:
        return out
    event_type = (
        EventType.EXTERNAL_WORKFLOW_EXECUTION_SIGNALED
        if pending["kind"] == SIGNAL
        else EventType.EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED
    )
    execution = {**pending["workflow_execution"], "run_id": target_run_id}
    record_external(
        state,
        out,
        event_type,
        compact(
            {
                "initiated_event_id": initiated_event_id,
                "namespace": pending["namespace"] or None,
                "workflow_execution": execution,
            }
        ),
        now,
    )
    schedule_workflow_task(state, out, now)
    return out


def failed(state: MutableState, initiated_event_id: int, cause: str, now: datetime) -> Transition:
    """The target does not exist (or has closed): the request failed with ``cause``."""
    out = Transition()
    pending = state.pending_external.pop(str(initiated_event_id), None)
    if pending is None or not state.is_running:
        return out
    event_type = (
        EventType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED
        if pending["kind"] == SIGNAL
        else EventType.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED
    )
    record_external(
        state,
        out,
        event_type,
        compact(
            {
                "cause": cause,
                "workflow_task_completed_event_id": pending["wtc"],
                "namespace": pending["namespace"] or None,
                "workflow_execution": pending["workflow_execution"],
                "initiated_event_id": initiated_event_id,
            }
        ),
        now,
    )
    schedule_workflow_task(state, out, now)
    return out
