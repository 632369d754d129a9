"""Activity tasks as the worker sees them: claiming an attempt from a poll, heartbeats,
and the three outcomes. Tokens name the exact attempt, so an answer from an attempt that
timed out or was retried is NOT_FOUND."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from app.context import AppContext
from app.db.database import UnitOfWork
from app.db.tables import NamespaceRow, RunRecord
from app.engine import activities as engine
from app.engine.events import format_seconds, format_time
from app.engine.state import ActivityInfo, MutableState, Transition
from app.errors import ApiError, ErrorCode, permission_denied
from app.payloads import render
from app.services import executions, matching

TOKEN_KIND = "activity_task"
TASK_TYPE = "activity"


def activity_not_found() -> ApiError:
    return ApiError(
        ErrorCode.NOT_FOUND,
        "Activity task not found: it timed out, was retried or canceled, or its workflow "
        "has closed.",
        [{"type": "NotFound", "resource": "activity_task"}],
    )


def _stale(state: MutableState, scheduled_event_id: int, attempt: int) -> ApiError:
    """A late answer: ACTIVITY_TASK_TIMEOUT when that attempt timed out and the activity
    was retried, NOT_FOUND otherwise."""
    info = state.activities.get(str(scheduled_event_id))
    if (
        info is not None
        and info.attempt > attempt
        and info.last_failure
        and ("timeout_failure_info" in info.last_failure)
    ):
        return ApiError(
            ErrorCode.ACTIVITY_TASK_TIMEOUT,
            f"Activity attempt {attempt} timed out; attempt {info.attempt} replaced it.",
            [
                {
                    "type": "ActivityTaskTimeout",
                    "activity_id": info.activity_id,
                    "attempt": attempt,
                    "current_attempt": info.attempt,
                }
            ],
        )
    return activity_not_found()


def _token(ctx: AppContext, ns: NamespaceRow, state: MutableState, info: ActivityInfo) -> str:
    return ctx.signer.encode(
        TOKEN_KIND,
        {
            "ns": ns.id,
            "wf": state.workflow_id,
            "run": state.run_id,
            "sched": info.scheduled_event_id,
            "attempt": info.attempt,
        },
    )


def task_response(
    ctx: AppContext, ns: NamespaceRow, row: RunRecord, state: MutableState, info: ActivityInfo
) -> dict[str, Any]:
    """A started attempt as its worker receives it (from a poll, or eagerly)."""
    assert info.started_time is not None
    response: dict[str, Any] = render(
        {
            "task_token": _token(ctx, ns, state, info),
            "workflow_namespace": ns.name,
            "workflow_type": {"name": row.workflow_type},
            "workflow_execution": {"workflow_id": row.workflow_id, "run_id": row.run_id},
            "activity_type": {"name": info.activity_type},
            "activity_id": info.activity_id,
            "header": info.header,
            "input": info.input,
            "heartbeat_details": info.heartbeat_details,
            "scheduled_time": format_time(info.scheduled_time),
            "current_attempt_scheduled_time": format_time(info.attempt_scheduled_time),
            "started_time": format_time(info.started_time),
            "attempt": info.attempt,
            "schedule_to_close_timeout": format_seconds(info.schedule_to_close_timeout),
            "start_to_close_timeout": format_seconds(info.start_to_close_timeout),
            "heartbeat_timeout": format_seconds(info.heartbeat_timeout),
            "retry_policy": info.retry_policy,
        }
    )
    return response


async def claim(
    uow: UnitOfWork,
    ctx: AppContext,
    ns: NamespaceRow,
    task_queue: str,
    identity: str,
    window: float,
) -> dict[str, Any] | None:
    """Take the next activity attempt of the queue and mark it started (in state only)."""

    async def start(
        task: matching.QueuedTask, row: RunRecord, now: datetime
    ) -> dict[str, Any] | None:
        state = executions.state_of(row)
        try:
            info, transition = engine.start(
                state, task.scheduled_event_id, identity=identity, request_id=str(task.id), now=now
            )
        except engine.StaleActivityTask:
            return None
        await executions.save(uow, ctx.notifier, row, state, transition, now)
        return {**task_response(ctx, ns, row, state, info), "poll_window": format_seconds(window)}

    return await matching.claim_next(uow, ctx, ns.id, task_queue, TASK_TYPE, start)


def decode_token(ctx: AppContext, ns: NamespaceRow, token: str) -> dict[str, Any]:
    claims = ctx.signer.decode(TOKEN_KIND, token, field="task_token")
    if claims.get("ns") != ns.id:
        raise permission_denied("task_token was issued in another namespace")
    return claims


async def apply(
    uow: UnitOfWork,
    ctx: AppContext,
    ns: NamespaceRow,
    token: str,
    change: Callable[[MutableState, int, int, datetime], Transition],
) -> None:
    """Load the run a token names and apply one change to its activity."""
    claims = decode_token(ctx, ns, token)
    row = await executions.find(uow.session, ns.id, claims["wf"], claims["run"], for_update=True)
    if row is None:
        raise activity_not_found()
    state = executions.state_of(row)
    now = ctx.clock.now()
    try:
        transition = change(state, int(claims["sched"]), int(claims["attempt"]), now)
    except engine.StaleActivityTask:
        raise _stale(state, int(claims["sched"]), int(claims["attempt"])) from None
    except engine.CancelNotRequested:
        raise ApiError(
            ErrorCode.FAILED_PRECONDITION,
            "The activity cannot be canceled: cancellation was not requested.",
            [{"type": "CancelNotRequested"}],
        ) from None
    await executions.save(uow, ctx.notifier, row, state, transition, now)
