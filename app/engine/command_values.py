"""Reading command attributes: durations, identifiers, failures and payload maps, each
refused with the command's WorkflowTaskFailed cause when invalid."""

from __future__ import annotations

import re
from typing import Any

from app.engine import retry
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


def retry_policy(policy: Any, cause: str) -> dict[str, Any]:
    """A retry policy given in a command, normalized; refused with the command's cause."""
    if not isinstance(policy, dict):
        raise BadCommand(cause, "retry_policy must be an object")
    try:
        return retry.normalized_policy(
            duration(policy.get("initial_interval"), "retry_policy.initial_interval", cause),
            float(policy.get("backoff_coefficient") or 0),
            duration(policy.get("maximum_interval"), "retry_policy.maximum_interval", cause),
            int(policy.get("maximum_attempts") or 0),
            policy.get("non_retryable_error_types"),
        )
    except (retry.InvalidRetryPolicy, TypeError, ValueError) as exc:
        raise BadCommand(cause, f"retry_policy: {exc}") from None
