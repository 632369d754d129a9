"""Workflow tasks as the worker sees them: claiming one from a poll (a waiting query
first), and answering it with commands or a failure. Task tokens are signed and name the
exact task attempt, so a forged, moved or stale token is refused.

The use cases (`poll`, `respond_completed`, `respond_failed`) take what they read
(WorkerPolling, Answering: protocols the app context satisfies), plain values and their
request models, run their own transaction and return plain results; a door (HTTP, gRPC)
only parses, authorises and replies."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.clock import Clock
from app.db.database import UnitOfWork
from app.db.tables import NamespaceRow, QueryRow, RunRecord
from app.engine import command_values
from app.engine import commands as engine_commands
from app.engine import workflow_tasks as engine
from app.engine.events import HistoryEvent, format_seconds, format_time
from app.engine.search_attributes import effective_types
from app.engine.state import MutableState, Transition
from app.errors import ApiError, ErrorCode, bad_request, permission_denied
from app.models.worker import (
    PollTaskQueueRequest,
    RespondWorkflowTaskCompletedRequest,
    RespondWorkflowTaskFailedRequest,
    WorkflowTaskFailedCause,
)
from app.payloads import render
from app.rate_limits import work
from app.services import (
    activities,
    executions,
    given_back,
    history,
    matching,
    queries,
    query_store,
    run_effects,
)
from app.services.dependencies import (
    Answering,
    TaskStarting,
    WorkerPolling,
)
from app.services.descriptions import Present
from app.services.notifier import Notifier
from app.services.tokens import TaskKind, TaskToken, TokenSigner

TOKEN_KIND = TaskKind.WORKFLOW


def stored_event(event: HistoryEvent) -> dict[str, Any]:
    """An event as stored (payloads whole); the use cases present the whole task."""
    return event.to_json()


TASK_TYPE = "workflow"


@dataclass
class ClaimedTask:
    response: dict[str, Any]


@dataclass
class CompletionOutcome:
    token: TaskToken
    new_task: dict[str, Any] | None = None
    failed: ApiError | None = None
    task_pending: bool = False
    activity_tasks: list[dict[str, Any]] = field(default_factory=list)


def task_not_found() -> ApiError:
    return ApiError(
        ErrorCode.NOT_FOUND,
        "Workflow task not found.",
        [{"type": "NotFound", "resource": "workflow_task"}],
    )


def stale_task(state: MutableState, token: TaskToken) -> ApiError:
    """Why a token no longer names the current task: it timed out, or it is unknown."""
    timed_out = [token.scheduled_event_id, token.attempt]
    if state.is_running and state.timed_out_workflow_task == timed_out:
        return ApiError(
            ErrorCode.WORKFLOW_TASK_TIMEOUT,
            "Workflow task timed out before it was answered; a new attempt was scheduled.",
            [
                {
                    "type": "WorkflowTaskTimeout",
                    "scheduled_event_id": token.scheduled_event_id,
                    "attempt": token.attempt,
                }
            ],
        )
    return task_not_found()


def _token(ns: NamespaceRow, state: MutableState) -> TaskToken:
    task = state.workflow_task
    assert task is not None
    return TaskToken.for_task(
        TOKEN_KIND, ns.id, state.workflow_id, state.run_id, task.scheduled_event_id, task.attempt
    )


async def _response(
    session: AsyncSession,
    signer: TokenSigner,
    ns: NamespaceRow,
    row: RunRecord,
    state: MutableState,
    window: float,
) -> dict[str, Any]:
    task = state.workflow_task
    assert task is not None and task.started_time is not None
    marker = [task.scheduled_event_id, task.attempt]
    # A sticky task goes to the worker that has the run cached: only what it has not seen.
    first = 1 if task.task_queue == row.task_queue else state.previous_started_event_id + 1
    events, next_token = await history.first_page(
        session, signer, ns, row, marker, engine.transient_events(state), stored_event, first
    )
    return {
        "task_token": signer.seal(_token(ns, state)),
        "workflow_execution": {"workflow_id": row.workflow_id, "run_id": row.run_id},
        "workflow_type": {"name": row.workflow_type},
        "previous_started_event_id": state.previous_started_event_id,
        "started_event_id": task.started_event_id,
        "attempt": task.attempt,
        "backlog_count_hint": await matching.backlog_hint(
            session, ns.id, task.task_queue, TASK_TYPE
        ),
        "scheduled_time": format_time(task.scheduled_time),
        "started_time": format_time(task.started_time),
        "history": events,
        "next_page_token": next_token,
        "workflow_execution_task_queue": {"name": row.task_queue, "kind": "NORMAL"},
        "workflow_task_timeout": format_seconds(task.start_to_close_timeout),
        "messages": [],
        "poll_window": format_seconds(window),
    }


async def query_task(
    uow: UnitOfWork, signer: TokenSigner, ns: NamespaceRow, query: QueryRow, window: float
) -> ClaimedTask | None:
    """A query delivered on its own (no workflow task pending): the run's full history
    and the query, under a query token; answered through RespondQueryTaskCompleted."""
    row = await executions.find(uow.session, query.namespace_id, query.workflow_id, query.run_id)
    if row is None:
        return None
    state = executions.state_of(row)
    events, next_token = await history.first_page(
        uow.session, signer, ns, row, present=stored_event
    )
    return ClaimedTask(
        {
            "task_token": signer.seal(TaskToken.for_query(ns.id, query.id)),
            "workflow_execution": {"workflow_id": row.workflow_id, "run_id": row.run_id},
            "workflow_type": {"name": row.workflow_type},
            "previous_started_event_id": state.previous_started_event_id,
            "started_event_id": 0,
            "attempt": 0,
            "history": events,
            "next_page_token": next_token,
            "query": query.query,
            "workflow_execution_task_queue": {"name": row.task_queue, "kind": "NORMAL"},
            "messages": [],
            "poll_window": format_seconds(window),
        }
    )


async def attach_queries(session: AsyncSession, ns: NamespaceRow, response: dict[str, Any]) -> None:
    """Hand the run's waiting queries to the workflow task just started."""
    execution = response["workflow_execution"]
    run_key = (ns.id, execution["workflow_id"], execution["run_id"])
    attached = await query_store.take_attached(session, run_key)
    if attached:
        response["queries"] = {q.id: q.query for q in attached}


def _sticky(request: RespondWorkflowTaskCompletedRequest) -> dict[str, Any]:
    attributes = request.sticky_attributes
    if attributes is None or attributes.worker_task_queue is None:
        return {}
    timeout = attributes.schedule_to_start_timeout
    return {
        "sticky_task_queue": attributes.worker_task_queue.name,
        "sticky_schedule_to_start_timeout": timeout.total_seconds() if timeout else 0.0,
    }


def authorize_commands(principal: Principal, commands: list[dict[str, Any]]) -> None:
    """The route's guard checked the namespace in the path; a command may name another,
    and a credential sealed to its namespaces must not reach past them through its
    workflows."""
    for kind, name in engine_commands.namespaces_named(commands):
        if not principal.may_use_namespace(name):
            raise permission_denied(
                f"this credential may not act in namespace {name[:255]!r} (named by a {kind} "
                "command)"
            )


async def settle_queries(
    uow: UnitOfWork,
    notifier: Notifier,
    token: TaskToken,
    results: dict[str, Any] | None,
    task_pending: bool,
) -> None:
    """In a completion's transaction: answer the queries it answered; queries still
    waiting for a task that will not come are sent on their own."""
    if not results and task_pending:
        return
    run_key = token.run_key
    for query_id, result in (results or {}).items():
        if isinstance(result, dict):
            await query_store.resolve(
                uow,
                notifier,
                query_id,
                queries.answer_of(
                    str(result.get("result_type", "ANSWERED")).removeprefix("QUERY_RESULT_TYPE_"),
                    result.get("answer"),
                    str(result.get("error_message", "")),
                    result.get("failure"),
                ),
                run_key,
            )
    if not task_pending:
        await query_store.send_attached_on_their_own(uow, notifier, run_key)


async def _start(
    uow: UnitOfWork,
    notifier: Notifier,
    ns: NamespaceRow,
    row: RunRecord,
    state: MutableState,
    identity: str,
    request_id: str,
    now: datetime,
    earlier: Transition | None = None,
) -> None:
    assert state.workflow_task is not None
    transition = engine.start(
        state,
        state.workflow_task.scheduled_event_id,
        identity=identity,
        request_id=request_id,
        now=now,
    )
    if earlier is not None:
        earlier.events += transition.events
        earlier.timers += transition.timers
        return
    await run_effects.save(uow, notifier, row, state, transition, now)


async def claim(
    uow: UnitOfWork,
    ctx: TaskStarting,
    ns: NamespaceRow,
    task_queue: str,
    identity: str,
    window: float,
    normal_queue: str = "",
) -> ClaimedTask | None:
    """Take the next workflow task of the queue and start it. Tasks whose run has moved
    on (closed, or the task was replaced or moved) are dropped on the way, as are, on a
    sticky queue polled for ``normal_queue``, tasks of runs on another queue: a worker
    reaches only the sticky queues of the queue it may poll."""

    async def start(task: matching.QueuedTask, row: RunRecord, now: datetime) -> ClaimedTask | None:
        state = executions.state_of(row)
        pending = state.workflow_task
        if (
            not state.is_running
            or pending is None
            or pending.started
            or pending.scheduled_event_id != task.scheduled_event_id
            or pending.task_queue != task_queue
            or (normal_queue and row.task_queue != normal_queue)
        ):
            return None
        await _start(uow, ctx.notifier, ns, row, state, identity, str(task.id), now)
        return ClaimedTask(await _response(uow.session, ctx.signer, ns, row, state, window))

    return await matching.claim_next(uow, ctx, ns.id, task_queue, TASK_TYPE, start)


async def claim_for_poll(
    uow: UnitOfWork,
    ctx: TaskStarting,
    ns: NamespaceRow,
    task_queue: str,
    identity: str,
    window: float,
    normal_queue: str = "",
) -> ClaimedTask | None:
    """What a poll takes: a waiting query goes first (it is cheap and a caller is blocked
    on it); then the oldest workflow task, with the run's waiting queries handed to it.
    (Queries go to the run's own queue: a sticky queue has none.)"""
    skip_locked = not ctx.db.is_sqlite
    query = await query_store.take_direct(uow.session, ns.id, task_queue, skip_locked=skip_locked)
    if query is not None:
        task = await query_task(uow, ctx.signer, ns, query, window)
        if task is not None:
            return task
    claimed = await claim(uow, ctx, ns, task_queue, identity, window, normal_queue)
    if claimed is not None and claimed.response.get("started_event_id"):
        await attach_queries(uow.session, ns, claimed.response)
    return claimed


def sticky_of(request: PollTaskQueueRequest | None) -> str:
    """The queue a sticky poll serves (its ``normal_name``); "" for a normal poll."""
    queue = request.task_queue if request is not None else None
    if not isinstance(queue, dict) or "STICKY" not in str(queue.get("kind") or ""):
        return ""
    return str(queue.get("normal_name") or "")


async def poll(
    ctx: WorkerPolling,
    namespace: str,
    task_queue: str,
    request: PollTaskQueueRequest | None,
    gone: asyncio.Event,
    present: Present = render,
) -> dict[str, Any]:
    """PollWorkflowTaskQueue: wait for a query or workflow task (up to the poll's window)
    and start it. With none (the window ended first, or the poller is ``gone``), the
    window waited. The task is shown through ``present`` (REST renders json/plain
    payloads as values; gRPC takes them as stored)."""
    sticky_claim = partial(claim_for_poll, normal_queue=sticky_of(request))
    claimed, window = await matching.poll(
        ctx, namespace, task_queue, request, TASK_TYPE, sticky_claim, gone
    )
    if claimed is not None and gone.is_set():  # it left while the claim committed
        await given_back.give_back_workflow_task(ctx, namespace, task_queue, claimed.response)
        claimed = None
    if claimed is None:
        return {"poll_window": format_seconds(window)}
    shown: dict[str, Any] = present(claimed.response)
    return shown


async def _load_for_token(uow: UnitOfWork, token: TaskToken) -> RunRecord:
    row = await executions.find(
        uow.session, token.namespace_id, token.workflow_id, token.run_id, for_update=True
    )
    if row is None:
        raise task_not_found()
    return row


async def respond_completed(
    ctx: Answering,
    namespace: str,
    principal: Principal,
    request: RespondWorkflowTaskCompletedRequest,
    present: Present = render,
) -> dict[str, Any]:
    """RespondWorkflowTaskCompleted: apply the task's commands and answer the queries it
    answered, in one transaction. A command with bad attributes fails the task (raised
    once that is written); the new workflow task when asked for, and the activities
    started eagerly, as their polls would return them."""
    # A child, signal or cancel request naming a namespace the credential may not act in
    # is PERMISSION_DENIED before anything is written.
    authorize_commands(principal, request.commands)

    async def complete(uow: UnitOfWork) -> CompletionOutcome:
        ns = await ctx.namespaces.current(uow.session, namespace)
        outcome = await _complete(uow, ctx.signer, ctx.clock, ctx.notifier, ns, request)
        await settle_queries(
            uow, ctx.notifier, outcome.token, request.query_results, outcome.task_pending
        )
        return outcome

    outcome = await ctx.db.run(complete)
    if outcome.failed is not None:
        raise outcome.failed
    for _ in outcome.activity_tasks:
        work.record_activity_task()
    shown: dict[str, Any] = present(
        {"workflow_task": outcome.new_task, "activity_tasks": outcome.activity_tasks}
    )
    return shown


async def _complete(
    uow: UnitOfWork,
    signer: TokenSigner,
    clock: Clock,
    notifier: Notifier,
    ns: NamespaceRow,
    req: RespondWorkflowTaskCompletedRequest,
) -> CompletionOutcome:
    token = signer.open(req.task_token, TOKEN_KIND, ns.id)
    row = await _load_for_token(uow, token)
    state = executions.state_of(row)
    now = clock.now()
    completion = engine.Completion(
        commands=req.commands,
        identity=req.identity,
        binary_checksum=req.binary_checksum,
        force_create_new_workflow_task=req.force_create_new_workflow_task,
        memo_update=(
            {"fields": {k: {"data": v.data} for k, v in req.memo_update.fields.items()}}
            if req.memo_update and req.memo_update.fields
            else None
        ),
        sdk_metadata=req.sdk_metadata,
        search_attribute_types=effective_types(ns.search_attribute_types),
        **_sticky(req),
    )
    try:
        result = engine.complete(state, token.scheduled_event_id, token.attempt, completion, now)
    except engine.StaleWorkflowTask:
        raise stale_task(state, token) from None
    except engine_commands.InvalidCommandSequence as exc:
        raise bad_request("commands", str(exc)) from None
    outcome = CompletionOutcome(token)
    transition = result.transition
    if result.failed_cause is not None:
        outcome.failed = ApiError(
            ErrorCode.INVALID_ARGUMENT,
            f"Workflow task failed ({result.failed_cause}): {result.failure_message}",
            [{"type": "WorkflowTaskFailed", "cause": result.failed_cause}],
        )
    elif (
        req.return_new_workflow_task
        and result.new_task_scheduled
        and not transition.child_starts
        and not transition.external_requests
    ):
        # (A task handed back at once would not see the outcome of starts and requests
        # to other workflows, which are written after it; the worker polls for it.)
        transition.workflow_tasks = []
        await _start(uow, notifier, ns, row, state, req.identity, "", now, earlier=transition)
    await run_effects.save(uow, notifier, row, state, transition, now)
    outcome.task_pending = state.workflow_task_pending
    if (
        outcome.failed is None
        and req.return_new_workflow_task
        and state.workflow_task
        and state.workflow_task.started
    ):
        outcome.new_task = await _response(uow.session, signer, ns, row, state, 0.0)
    outcome.activity_tasks = [
        activities.task_response(signer, ns, row, state, info) for info in result.eager_activities
    ]
    return outcome


async def respond_failed(
    ctx: Answering, namespace: str, request: RespondWorkflowTaskFailedRequest
) -> None:
    """RespondWorkflowTaskFailed: the worker could not process the task; the next attempt
    is scheduled."""

    async def fail(uow: UnitOfWork) -> None:
        ns = await ctx.namespaces.current(uow.session, namespace)
        await _fail(uow, ctx.signer, ctx.clock, ctx.notifier, ns, request)

    await ctx.db.run(fail)


async def _fail(
    uow: UnitOfWork,
    signer: TokenSigner,
    clock: Clock,
    notifier: Notifier,
    ns: NamespaceRow,
    req: RespondWorkflowTaskFailedRequest,
) -> None:
    token = signer.open(req.task_token, TOKEN_KIND, ns.id)
    row = await _load_for_token(uow, token)
    state = executions.state_of(row)
    now = clock.now()
    failure = command_values.encode_failure(req.failure, "") if req.failure else None
    try:
        transition = engine.fail(
            state,
            token.scheduled_event_id,
            token.attempt,
            cause=str(req.cause or WorkflowTaskFailedCause.WORKFLOW_WORKER_UNHANDLED_FAILURE),
            failure=failure,
            identity=req.identity,
            now=now,
        )
    except engine.StaleWorkflowTask:
        raise stale_task(state, token) from None
    await run_effects.save(uow, notifier, row, state, transition, now)
