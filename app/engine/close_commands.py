"""The commands that close a run — complete, fail, cancel, continue-as-new — and the
run that may follow it in its chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.engine import chains, cron
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
from app.engine.state import MutableState, NextRun, Transition, WorkflowStatus
from app.engine.workflow import append_event, close_run
from app.payloads import encode_payloads


def complete(
    state: MutableState, out: Transition, attrs: dict[str, Any], wtc: int, now: datetime
) -> None:
    result = encode_payloads(attrs["result"]) if attrs.get("result") is not None else None
    out.next_run, extra = chains.after_completion(state, result, now)
    append_event(
        state,
        out,
        EventType.WORKFLOW_EXECUTION_COMPLETED,
        compact(
            {
                "result": result,
                "workflow_task_completed_event_id": wtc,
                **extra,
            }
        ),
        now,
    )
    close_run(state, WorkflowStatus.COMPLETED, now)


def fail(
    state: MutableState, out: Transition, attrs: dict[str, Any], wtc: int, now: datetime
) -> None:
    failure = encode_failure(attrs.get("failure"), "BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES")
    out.next_run, extra = chains.after_failure(state, failure, now)
    append_event(
        state,
        out,
        EventType.WORKFLOW_EXECUTION_FAILED,
        {
            "failure": failure,
            "retry_state": extra.pop("retry_state"),
            "workflow_task_completed_event_id": wtc,
            **extra,
        },
        now,
    )
    close_run(state, WorkflowStatus.FAILED, now)


def cancel(
    state: MutableState, out: Transition, attrs: dict[str, Any], wtc: int, now: datetime
) -> None:
    """Canceled runs are never retried nor continued by cron."""
    details = attrs.get("details")
    append_event(
        state,
        out,
        EventType.WORKFLOW_EXECUTION_CANCELED,
        compact(
            {
                "workflow_task_completed_event_id": wtc,
                "details": encode_payloads(details) if details is not None else None,
            }
        ),
        now,
    )
    close_run(state, WorkflowStatus.CANCELED, now)


def continue_as_new(
    state: MutableState, out: Transition, attrs: dict[str, Any], wtc: int, now: datetime
) -> None:
    """Close this run and start the next one under the same workflow id. Unset type, task
    queue and timeouts are inherited; the execution timeout cannot change."""
    cause = "BAD_CONTINUE_AS_NEW_ATTRIBUTES"
    overrides: dict[str, Any] = {}
    for field in ("workflow_type", "task_queue"):
        value = attrs.get(field)
        name = value.get("name") if isinstance(value, dict) else value
        if name:  # empty means: the same as this run
            overrides[field] = identifier(name, f"{field}.name", cause)
    for field in ("workflow_run_timeout", "workflow_task_timeout"):
        seconds = duration(attrs.get(field), field, cause)
        if seconds:  # zero means: the same as this run
            overrides[field] = seconds
    # As at start: the run timeout never exceeds the execution timeout, and the task
    # timeout is at most 120s and at most the run timeout.
    run = overrides.get("workflow_run_timeout", state.run_timeout)
    if state.execution_timeout and (not run or run > state.execution_timeout):
        run = state.execution_timeout
    task = min(overrides.get("workflow_task_timeout", state.workflow_task_timeout), 120.0)
    task = min(task, run) if run else task
    for field, value, current in (
        ("workflow_run_timeout", run, state.run_timeout),
        ("workflow_task_timeout", task, state.workflow_task_timeout),
    ):
        if value != current:
            overrides[field] = value
        else:
            overrides.pop(field, None)
    backoff = duration(attrs.get("backoff_start_interval"), "backoff_start_interval", cause)
    overrides["input"] = encode_payloads(attrs["input"]) if attrs.get("input") is not None else None
    for name in ("memo", "header"):
        if attrs.get(name):
            overrides[name] = {"fields": payload_fields(attrs[name], name, cause)}
    if attrs.get("search_attributes"):
        fields = attrs["search_attributes"]
        overrides["search_attributes"] = {
            "indexed_fields": payload_fields(
                fields.get("indexed_fields", fields) if isinstance(fields, dict) else fields,
                "search_attributes",
                cause,
            )
        }
    if attrs.get("cron_schedule"):
        try:
            cron.validate(attrs["cron_schedule"])
        except cron.InvalidCron as exc:
            raise BadCommand(cause, str(exc)) from None
        overrides["cron_schedule"] = attrs["cron_schedule"]
    if attrs.get("retry_policy") is not None:
        overrides["retry_policy"] = retry_policy(attrs["retry_policy"], cause)
    last_result = attrs.get("last_completion_result")
    run_id = chains.next_run_id(state)
    out.next_run = NextRun(
        run_id,
        "WORKFLOW",
        backoff,
        attempt=1,
        last_completion_result=encode_payloads(last_result) if last_result is not None else None,
        overrides=overrides,
    )
    append_event(
        state,
        out,
        EventType.WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
        compact(
            {
                "new_execution_run_id": run_id,
                "workflow_type": {"name": overrides.get("workflow_type", state.workflow_type)},
                "task_queue": {
                    "name": overrides.get("task_queue", state.task_queue),
                    "kind": "NORMAL",
                },
                "input": overrides["input"],
                "workflow_run_timeout": format_seconds(
                    overrides.get("workflow_run_timeout", state.run_timeout)
                ),
                "workflow_task_timeout": format_seconds(
                    overrides.get("workflow_task_timeout", state.workflow_task_timeout)
                ),
                "workflow_task_completed_event_id": wtc,
                "backoff_start_interval": format_seconds(backoff),
                "initiator": "WORKFLOW",
                "last_completion_result": out.next_run.last_completion_result,
                "header": overrides.get("header"),
                "memo": overrides.get("memo"),
                "search_attributes": overrides.get("search_attributes"),
            }
        ),
        now,
    )
    close_run(state, WorkflowStatus.CONTINUED_AS_NEW, now)
