"""Chains of runs: when a run closes, whether a new run follows it — a retry (failed or
timed-out run with a retry policy), the next cron fire, or continue-as-new — and what
the closing event says about it. Pure."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from app.engine import cron, retry
from app.engine.state import MutableState, NextRun


def next_run_id(state: MutableState) -> str:
    """The id of the run that follows this one: derived from the run and the position of
    its closing event, so the engine stays pure and a replayed close names the same run."""
    return str(uuid.uuid5(uuid.UUID(state.run_id), f"next-run/{state.next_event_id}"))


def _within_execution(state: MutableState, backoff: float, now: datetime) -> bool:
    expiration = state.execution_expiration_time
    return expiration is None or now + timedelta(seconds=backoff) < expiration


def _cron_run(
    state: MutableState,
    now: datetime,
    failure: dict[str, Any] | None,
    result: dict[str, Any] | None,
) -> NextRun | None:
    if not state.cron_schedule:
        return None
    try:
        backoff = cron.backoff_until_next(state.cron_schedule, now, state.scheduled_start_time)
    except cron.InvalidCron:  # validated at start; a schedule with no fire left ends here
        return None
    if not _within_execution(state, backoff, now):
        return None
    return NextRun(
        next_run_id(state),
        "CRON_SCHEDULE",
        backoff,
        attempt=1,
        continued_failure=failure,
        last_completion_result=result,
    )


def after_completion(
    state: MutableState, result: dict[str, Any] | None, now: datetime
) -> tuple[NextRun | None, dict[str, Any]]:
    """A completed run starts the next cron run, if it has a schedule."""
    next_run = _cron_run(state, now, None, result)
    return next_run, ({"new_execution_run_id": next_run.run_id} if next_run else {})


def after_failure(
    state: MutableState,
    failure: dict[str, Any] | None,
    now: datetime,
    *,
    execution_expired: bool = False,
) -> tuple[NextRun | None, dict[str, Any]]:
    """A failed or timed-out run is retried per its retry policy first, else follows its
    cron schedule. The closing event carries the retry state and the new run's id."""
    if execution_expired:
        return None, {"retry_state": "TIMEOUT"}
    retry_state = "RETRY_POLICY_NOT_SET"
    if state.retry_policy is not None:
        delay, retry_state = retry.next_delay(
            state.retry_policy, state.attempt, failure, state.execution_expiration_time, now
        )
        if delay is not None:
            retry_run = NextRun(
                next_run_id(state),
                "RETRY",
                delay,
                attempt=state.attempt + 1,
                continued_failure=failure,
            )
            return retry_run, {"retry_state": retry_state, "new_execution_run_id": retry_run.run_id}
    next_run = _cron_run(state, now, failure, None)
    extra: dict[str, Any] = {"retry_state": retry_state}
    if next_run is not None:
        extra["new_execution_run_id"] = next_run.run_id
    return next_run, extra


def run_timeout_failure() -> dict[str, Any]:
    return {
        "message": "workflow run timed out",
        "source": "Server",
        "timeout_failure_info": {"timeout_type": "START_TO_CLOSE"},
    }
