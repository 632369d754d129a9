"""Reading command attributes: durations, identifiers, failures and payload maps, each
refused with the command's WorkflowTaskFailed cause when invalid."""

from __future__ import annotations

import re
from typing import Any

from app.engine.events import format_seconds
from app.payloads import encode_payload, encode_payloads

MAX_ID_LENGTH = 1000
_DURATION = re.compile(r"^(\d+)(?:\.(\d{1,9}))?s$")


class BadCommand(Exception):
    """The command's attributes are invalid: the task fails with ``cause``."""

    def __init__(self, cause: str, message: str) -> None:
        super().__init__(message)
        self.cause = cause
        self.message = message


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


def payload_fields(values: Any, field: str, cause: str) -> dict[str, Any]:
    """``{"fields": {k: {"data": v}}}`` (or ``{k: v}``) into stored Payloads; a null value
    is kept as a null payload, which deletes the key when merged into a memo."""
    fields = values.get("fields", values) if isinstance(values, dict) else None
    if not isinstance(fields, dict):
        raise BadCommand(cause, f"{field} must be an object of fields")
    return {
        key: encode_payload(v.get("data") if isinstance(v, dict) and set(v) <= {"data"} else v)
        for key, v in fields.items()
    }


def compact(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


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
