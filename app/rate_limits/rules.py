"""The spec's rate-limit categories and the budget each one has, read from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import limits

from app.settings import Settings


class Limit(StrEnum):
    """A budget a route draws on. CLUSTER and CLIENT apply to every API request; a route
    names the others where it states its permission."""

    CLUSTER = "api_requests"
    CLIENT = "client_api_calls"
    WORKFLOW_STARTS = "workflow_starts"
    ACTIVITY_EXECUTIONS = "activity_executions"
    TASK_QUEUE_OPERATIONS = "task_queue_operations"
    HISTORY_EVENTS = "history_events"
    HEARTBEATS = "heartbeats"
    LONG_POLLS = "concurrent_long_polls"


@dataclass(frozen=True)
class Budget:
    limit: Limit
    amount: int
    window_seconds: int

    @property
    def window(self) -> str:
        """The window as the spec writes it: 1s, 1m, 1h, 1d."""
        for unit, seconds in (("d", 86400), ("h", 3600), ("m", 60)):
            if self.window_seconds % seconds == 0:
                return f"{self.window_seconds // seconds}{unit}"
        return f"{self.window_seconds}s"


def parse_rate(text: str) -> tuple[int, int]:
    """``"1000/minute"`` (the notation of the `limits` library) → (amount, window seconds)."""
    item = limits.parse(text)
    if item.amount < 1:
        raise ValueError(f"rate limit {text!r} must allow at least one")
    return item.amount, item.get_expiry()


def budgets(settings: Settings) -> dict[Limit, Budget]:
    rates = {
        Limit.CLUSTER: settings.rate_limit_cluster,
        Limit.CLIENT: settings.rate_limit_client,
        Limit.WORKFLOW_STARTS: settings.rate_limit_workflow_starts,
        Limit.ACTIVITY_EXECUTIONS: settings.rate_limit_activity_executions,
        Limit.TASK_QUEUE_OPERATIONS: settings.rate_limit_task_queue_operations,
        Limit.HISTORY_EVENTS: settings.rate_limit_history_events,
        Limit.HEARTBEATS: settings.rate_limit_heartbeats,
    }
    table = {limit: Budget(limit, *parse_rate(rate)) for limit, rate in rates.items()}
    # A concurrency cap, not a rate: the window only bounds how long a slot left by a
    # process that died can linger (longer than any poll).
    table[Limit.LONG_POLLS] = Budget(Limit.LONG_POLLS, settings.max_concurrent_long_polls, 120)
    return table
