"""Retry policies, shared by activities and workflows: whether a failure is retried, and
after how long. Pure."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from app.engine.events import format_seconds


class InvalidRetryPolicy(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def normalized_policy(
    initial: float,
    coefficient: float | None,
    maximum: float,
    attempts: int | None,
    non_retryable: list[str] | None,
) -> dict[str, Any]:
    """Validate a retry policy and fill Temporal's defaults for unset (zero) fields:
    1s, x2.0, 100 x initial, unlimited attempts."""
    initial = initial or 1.0
    coefficient = coefficient or 2.0
    if coefficient < 1:
        raise InvalidRetryPolicy("backoff_coefficient", "backoff_coefficient cannot be less than 1")
    if maximum and maximum < initial:
        raise InvalidRetryPolicy(
            "maximum_interval", "maximum_interval cannot be less than initial_interval"
        )
    if (attempts or 0) < 0:
        raise InvalidRetryPolicy("maximum_attempts", "maximum_attempts cannot be negative")
    policy: dict[str, Any] = {
        "initial_interval": format_seconds(initial),
        "backoff_coefficient": coefficient,
        "maximum_interval": format_seconds(maximum or initial * 100),
    }
    if attempts:
        policy["maximum_attempts"] = attempts
    if non_retryable:
        policy["non_retryable_error_types"] = list(non_retryable)
    return policy


def seconds(value: Any, default: float) -> float:
    """A stored proto-JSON duration ("2s", "0.5s") in seconds."""
    if isinstance(value, str) and value.endswith("s"):
        try:
            return float(value[:-1])
        except ValueError:
            return default
    return default


def pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def is_non_retryable(policy: dict[str, Any], failure: dict[str, Any] | None) -> bool:
    if failure is None:
        return False
    app_info = failure.get("application_failure_info") or {}
    timeout_type = (failure.get("timeout_failure_info") or {}).get("timeout_type")
    listed = set(policy.get("non_retryable_error_types") or [])
    kind = app_info.get("type") or ""
    return bool(
        app_info.get("non_retryable")
        or (kind and kind in listed)
        or timeout_type in ("SCHEDULE_TO_START", "SCHEDULE_TO_CLOSE")
        or (timeout_type and f"TemporalTimeout:{pascal(timeout_type)}" in listed)
    )


def next_delay(
    policy: dict[str, Any],
    attempt: int,
    failure: dict[str, Any] | None,
    expiration: datetime | None,
    now: datetime,
) -> tuple[float | None, str]:
    """Seconds until attempt ``attempt + 1``, or None and the retry state that ends
    retrying: initial x coefficient^(attempt-1), capped at the maximum interval; a
    worker's next_retry_delay overrides it; no attempt may start past ``expiration``."""
    if is_non_retryable(policy, failure):
        return None, "NON_RETRYABLE_FAILURE"
    maximum_attempts = int(policy.get("maximum_attempts") or 0)
    if maximum_attempts and attempt >= maximum_attempts:
        return None, "MAXIMUM_ATTEMPTS_REACHED"
    initial = seconds(policy.get("initial_interval"), 1.0)
    coefficient = float(policy.get("backoff_coefficient") or 2.0)
    maximum = seconds(policy.get("maximum_interval"), initial * 100)
    delay = min(initial * coefficient ** (attempt - 1), maximum)
    app_info = (failure or {}).get("application_failure_info") or {}
    requested = seconds(app_info.get("next_retry_delay"), 0.0)
    if requested:
        delay = requested
    if expiration is not None and now + timedelta(seconds=delay) >= expiration:
        return None, "TIMEOUT"
    return delay, "IN_PROGRESS"
