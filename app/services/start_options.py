"""Validation and defaulting of a start request, as Temporal does it: the three
timeouts, the retry policy, cron, and the size of payloads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.engine import cron, retry
from app.errors import bad_request
from app.models.common import Header, Memo, PayloadValue, RetryPolicy, SearchAttributes
from app.models.workflows import (
    StartWorkflowExecutionRequest,
    WorkflowIdConflictPolicy,
    WorkflowIdReusePolicy,
)
from app.payloads import encode_payload, encode_payloads, payload_size

DEFAULT_WORKFLOW_TASK_TIMEOUT = 10.0
MAX_WORKFLOW_TASK_TIMEOUT = 120.0
MAX_BLOB_BYTES = 2 * 1024 * 1024
MAX_MEMO_BYTES = 2 * 1024 * 1024


@dataclass
class Timeouts:
    execution: float
    run: float
    task: float


def timeouts(req: StartWorkflowExecutionRequest) -> Timeouts:
    execution = _secs(req.workflow_execution_timeout)
    run = _secs(req.workflow_run_timeout)
    if execution and (not run or run > execution):
        run = execution
    task = _secs(req.workflow_task_timeout) or DEFAULT_WORKFLOW_TASK_TIMEOUT
    task = min(task, MAX_WORKFLOW_TASK_TIMEOUT)
    if run:
        task = min(task, run)
    return Timeouts(execution, run, task)


def _secs(value: timedelta | None) -> float:
    return value.total_seconds() if value else 0.0


def retry_policy(policy: RetryPolicy | None, field: str = "retry_policy") -> dict[str, Any] | None:
    """Validate a workflow's retry policy and fill Temporal's defaults."""
    if policy is None:
        return None
    try:
        return retry.normalized_policy(
            _secs(policy.initial_interval),
            policy.backoff_coefficient,
            _secs(policy.maximum_interval),
            policy.maximum_attempts,
            policy.non_retryable_error_types,
        )
    except retry.InvalidRetryPolicy as exc:
        raise bad_request(f"{field}.{exc.field}", str(exc)) from None


def policies(
    req: StartWorkflowExecutionRequest, *, signal_with_start: bool = False
) -> tuple[WorkflowIdReusePolicy, WorkflowIdConflictPolicy]:
    """The effective reuse and conflict policies. TERMINATE_IF_RUNNING is the old spelling
    of ALLOW_DUPLICATE + TERMINATE_EXISTING and cannot be combined with a conflict policy.
    For signal-with-start the conflict policy defaults to USE_EXISTING, and FAIL is
    invalid."""
    reuse = req.workflow_id_reuse_policy or WorkflowIdReusePolicy.ALLOW_DUPLICATE
    conflict = req.workflow_id_conflict_policy
    if signal_with_start:
        if conflict == WorkflowIdConflictPolicy.FAIL:
            raise bad_request(
                "workflow_id_conflict_policy",
                "SignalWithStart does not take the conflict policy FAIL",
            )
        if reuse != WorkflowIdReusePolicy.TERMINATE_IF_RUNNING:
            conflict = conflict or WorkflowIdConflictPolicy.USE_EXISTING
    if reuse == WorkflowIdReusePolicy.TERMINATE_IF_RUNNING:
        if conflict is not None:
            raise bad_request(
                "workflow_id_conflict_policy",
                "TERMINATE_IF_RUNNING cannot be combined with a conflict policy",
            )
        return WorkflowIdReusePolicy.ALLOW_DUPLICATE, WorkflowIdConflictPolicy.TERMINATE_EXISTING
    conflict = conflict or WorkflowIdConflictPolicy.FAIL
    if (
        reuse == WorkflowIdReusePolicy.REJECT_DUPLICATE
        and conflict == WorkflowIdConflictPolicy.TERMINATE_EXISTING
    ):
        raise bad_request(
            "workflow_id_conflict_policy",
            "REJECT_DUPLICATE cannot be combined with TERMINATE_EXISTING",
        )
    return reuse, conflict


def first_task_backoff(req: StartWorkflowExecutionRequest, now: datetime) -> float:
    if req.cron_schedule:
        if req.workflow_start_delay:
            raise bad_request(
                "workflow_start_delay", "workflow_start_delay cannot be used with cron_schedule"
            )
        try:
            cron.validate(req.cron_schedule)
        except cron.InvalidCron as exc:
            raise bad_request("cron_schedule", str(exc)) from None
        return cron.backoff_until_next(req.cron_schedule, now)
    return _secs(req.workflow_start_delay)


def _check_size(payload: dict[str, Any], field: str) -> dict[str, Any]:
    if payload_size(payload) > MAX_BLOB_BYTES:
        raise bad_request(field, f"{field} is larger than {MAX_BLOB_BYTES} bytes")
    return payload


def _checked(value: Any, field: str) -> dict[str, Any]:
    return _check_size(encode_payload(value), field)


def payloads(value: Any, field: str) -> dict[str, Any] | None:
    if value is None:
        return None
    encoded = encode_payloads(value)
    for payload in encoded["payloads"]:
        _check_size(payload, field)
    return encoded


def _payload_map(fields: dict[str, PayloadValue], field: str) -> dict[str, Any]:
    return {key: _checked(item.data, f"{field}.{key}") for key, item in fields.items()}


def memo(value: Memo | None) -> dict[str, Any] | None:
    if value is None or not value.fields:
        return None
    encoded = _payload_map(value.fields, "memo.fields")
    if len(json.dumps(encoded)) > MAX_MEMO_BYTES * 4 // 3 + 1024:
        raise bad_request("memo", f"memo is larger than {MAX_MEMO_BYTES} bytes")
    return {"fields": encoded}


def header(value: Header | None) -> dict[str, Any] | None:
    if value is None or not value.fields:
        return None
    return {"fields": _payload_map(value.fields, "header.fields")}


def search_attributes(value: SearchAttributes | None) -> dict[str, Any] | None:
    if value is None or not value.indexed_fields:
        return None
    return {
        "indexed_fields": _payload_map(value.indexed_fields, "search_attributes.indexed_fields")
    }
