"""Activity tasks as the worker sees them: the poll that claims an attempt, heartbeats,
and the three outcomes. Tokens name the exact attempt, so an answer from an attempt that
timed out or was retried is NOT_FOUND.

Each use case (`poll`, `record_heartbeat`, `respond_completed`, `respond_failed`,
`respond_canceled`) takes what it reads (WorkerPolling, Answering: protocols the app
context satisfies), plain values and its request model, runs its own transaction and
returns a plain result; a door (HTTP, gRPC) only parses, authorises and replies."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.db.database import UnitOfWork
from app.db.tables import NamespaceRow, RunRecord
from app.engine import activities as engine
from app.engine import command_values
from app.engine.events import format_seconds, format_time
from app.engine.state import ActivityInfo, MutableState, Transition
from app.errors import ApiError, ErrorCode, bad_request
from app.models.activities import (
    ActivityTaskRequest,
    RecordActivityTaskHeartbeatRequest,
    RespondActivityTaskCanceledRequest,
    RespondActivityTaskCompletedRequest,
    RespondActivityTaskFailedRequest,
)
from app.models.worker import PollTaskQueueRequest
from app.payloads import encode_payloads, render
from app.rate_limits import work
from app.services import executions, given_back, matching
from app.services.dependencies import Answering, TaskStarting, WorkerPolling
from app.services.descriptions import Present
from app.services.tokens import TaskKind, TaskToken, TokenSigner

TOKEN_KIND = TaskKind.ACTIVITY
TASK_TYPE = "activity"
# (state, scheduled event id, attempt, now) -> the transition of that attempt's change.
Change = Callable[[MutableState, int, int, datetime], Transition]


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


def _token(ns: NamespaceRow, state: MutableState, info: ActivityInfo) -> TaskToken:
    return TaskToken.for_task(
        TOKEN_KIND, ns.id, state.workflow_id, state.run_id, info.scheduled_event_id, info.attempt
    )


def task_response(
    signer: TokenSigner, ns: NamespaceRow, row: RunRecord, state: MutableState, info: ActivityInfo
) -> dict[str, Any]:
    """A started attempt as its worker receives it (from a poll, or eagerly), payloads
    as stored: the use case presents it."""
    assert info.started_time is not None
    return {
        "task_token": signer.seal(_token(ns, state, info)),
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


async def claim(
    uow: UnitOfWork,
    ctx: TaskStarting,
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
        response = task_response(ctx.signer, ns, row, state, info)
        return {**response, "poll_window": format_seconds(window)}

    return await matching.claim_next(uow, ctx, ns.id, task_queue, TASK_TYPE, start)


async def poll(
    ctx: WorkerPolling,
    namespace: str,
    task_queue: str,
    request: PollTaskQueueRequest | None,
    gone: asyncio.Event,
    present: Present = render,
) -> dict[str, Any]:
    """PollActivityTaskQueue: wait for an attempt (up to the poll's window) and start it.
    With none (the window ended first, or the poller is ``gone``), the window waited.
    The attempt is shown through ``present`` (REST renders json/plain payloads as
    values; gRPC takes them as stored)."""
    claimed, window = await matching.poll(
        ctx, namespace, task_queue, request, TASK_TYPE, claim, gone
    )
    if claimed is not None and gone.is_set():  # it left while the claim committed
        await given_back.give_back_activity_task(ctx, namespace, claimed)
        claimed = None
    if claimed is None:
        return {"poll_window": format_seconds(window)}
    work.record_activity_task()
    shown: dict[str, Any] = present(claimed)
    return shown


def _payloads(value: Any) -> dict[str, Any] | None:
    return encode_payloads(value) if value is not None else None


@dataclass(frozen=True)
class ActivityRef:
    """An activity named by its ids instead of a task token (the ``…ById`` RPCs, for
    an activity completed asynchronously): its run (the current one when ``run_id`` is
    empty) and its activity id; the answer is for its current attempt."""

    workflow_id: str
    run_id: str
    activity_id: str


async def _apply(
    ctx: Answering,
    namespace: str,
    request: ActivityTaskRequest,
    change: Change,
    ref: ActivityRef | None = None,
) -> None:
    """In one transaction: load the run the request's token (or ``ref``) names and
    apply one change to its activity attempt."""

    async def apply(uow: UnitOfWork) -> None:
        ns = await ctx.namespaces.current(uow.session, namespace)
        if ref is None:
            token = ctx.signer.open(request.task_token, TOKEN_KIND, ns.id)
            row = await executions.find(
                uow.session, ns.id, token.workflow_id, token.run_id, for_update=True
            )
            if row is None:
                raise activity_not_found()
            state = executions.state_of(row)
            scheduled_event_id, attempt = token.scheduled_event_id, token.attempt
        else:
            row = await executions.load(
                uow.session, ns.id, ref.workflow_id, ref.run_id, for_update=True
            )
            state = executions.state_of(row)
            info = engine.by_activity_id(state, ref.activity_id)
            if info is None:
                raise activity_not_found()
            scheduled_event_id, attempt = info.scheduled_event_id, info.attempt
        now = ctx.clock.now()
        try:
            transition = change(state, scheduled_event_id, attempt, now)
        except engine.StaleActivityTask:
            raise _stale(state, scheduled_event_id, attempt) from None
        except engine.CancelNotRequested:
            raise ApiError(
                ErrorCode.FAILED_PRECONDITION,
                "The activity cannot be canceled: cancellation was not requested.",
                [{"type": "CancelNotRequested"}],
            ) from None
        await executions.save(uow, ctx.notifier, row, state, transition, now)

    await ctx.db.run(apply)


async def record_heartbeat(
    ctx: Answering,
    namespace: str,
    request: RecordActivityTaskHeartbeatRequest,
    ref: ActivityRef | None = None,
) -> bool:
    """RecordActivityTaskHeartbeat: keep the details for the next attempt and reset the
    heartbeat timeout. Whether the workflow asked to cancel the activity."""
    details = _payloads(request.details)
    cancel_requested = False

    def change(state: MutableState, sched: int, attempt: int, now: datetime) -> Transition:
        nonlocal cancel_requested
        cancel_requested, transition = engine.heartbeat(state, sched, attempt, details, now)
        return transition

    await _apply(ctx, namespace, request, change, ref)
    return cancel_requested


async def respond_completed(
    ctx: Answering,
    namespace: str,
    request: RespondActivityTaskCompletedRequest,
    ref: ActivityRef | None = None,
) -> None:
    """RespondActivityTaskCompleted: the attempt succeeded."""
    result = _payloads(request.result)
    identity = request.identity

    def change(state: MutableState, sched: int, attempt: int, now: datetime) -> Transition:
        return engine.complete(state, sched, attempt, result, identity, now)

    await _apply(ctx, namespace, request, change, ref)


async def respond_failed(
    ctx: Answering,
    namespace: str,
    request: RespondActivityTaskFailedRequest,
    ref: ActivityRef | None = None,
) -> None:
    """RespondActivityTaskFailed: the attempt failed; retried per the retry policy."""
    try:
        failure = command_values.encode_failure(request.failure, "")
    except command_values.BadCommand as bad:
        raise bad_request("failure", bad.message) from None
    details = _payloads(request.last_heartbeat_details)
    identity = request.identity

    def change(state: MutableState, sched: int, attempt: int, now: datetime) -> Transition:
        return engine.fail(state, sched, attempt, failure, identity, details, now)

    await _apply(ctx, namespace, request, change, ref)


async def respond_canceled(
    ctx: Answering,
    namespace: str,
    request: RespondActivityTaskCanceledRequest,
    ref: ActivityRef | None = None,
) -> None:
    """RespondActivityTaskCanceled: confirm a cancellation the workflow requested."""
    details = _payloads(request.details)
    identity = request.identity

    def change(state: MutableState, sched: int, attempt: int, now: datetime) -> Transition:
        return engine.canceled(state, sched, attempt, details, identity, now)

    await _apply(ctx, namespace, request, change, ref)
