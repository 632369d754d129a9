"""The figures of each rate-limit profile (TEMPORAL_GATEWAY_RATE_LIMIT_PROFILE).

``spec`` is the API reference's table exactly. ``default`` keeps every category but sizes
it for one developer's machine: without credentials every caller on loopback is one
client (127.0.0.1), so a worker, its pollers, a load test and curl all draw on the same
per-client budgets. It admits the bench's end-to-end workload (50 workflows in flight, 8
workflow and 8 activity pollers, ~160 workflows/s, bursts of ~2,700 calls/s) and several
Temporal SDK workers' pollers (10 for Python's, 20 for TypeScript's) with room to spare.
A budget set on its own (TEMPORAL_GATEWAY_RATE_LIMIT_CLIENT, ...) overrides the profile.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Profile = Literal["default", "spec"]


@dataclass(frozen=True)
class Figures:
    """One profile: the value of each budget's setting."""

    rate_limit_cluster: str
    rate_limit_client: str
    rate_limit_workflow_starts: str
    rate_limit_activity_executions: str
    rate_limit_task_queue_operations: str
    rate_limit_history_events: str
    rate_limit_heartbeats: str
    max_concurrent_long_polls: int
    max_running_executions: int

    def settings(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT = Figures(
    rate_limit_cluster="1200000/minute",
    rate_limit_client="10000/second",
    rate_limit_workflow_starts="120000/minute",
    rate_limit_activity_executions="600000/minute",
    rate_limit_task_queue_operations="120000/minute",
    rate_limit_history_events="6000000/minute",
    rate_limit_heartbeats="60000/minute",
    max_concurrent_long_polls=200,
    # No cap, as in Temporal's dev server: a cap costs each start a read of up to that
    # many index entries, and a developer's timers and waits add up.
    max_running_executions=0,
)
SPEC = Figures(
    rate_limit_cluster="10000/minute",
    rate_limit_client="100/second",
    rate_limit_workflow_starts="1000/minute",
    rate_limit_activity_executions="10000/minute",
    rate_limit_task_queue_operations="1000/minute",
    rate_limit_history_events="100000/minute",
    rate_limit_heartbeats="1000/minute",
    max_concurrent_long_polls=10,
    max_running_executions=100,
)
PROFILES: dict[str, Figures] = {"default": DEFAULT, "spec": SPEC}


def figure(name: str) -> str:
    """A budget's figure in each profile, for its setting's description."""
    return f"default profile {getattr(DEFAULT, name)}, spec profile {getattr(SPEC, name)}"
