"""Workflow executions: start (with id reuse, conflict policies and request-id
idempotency), signal-with-start, signal, cancel request, terminate and describe.

The public operations (``start_workflow`` ... ``terminate_workflow``) are what both doors
call, REST (app/routers/workflows.py) and gRPC: each resolves its namespace and runs in
one transaction of its own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, insert, literal, select

from app.clock import Clock
from app.db.database import UnitOfWork
from app.db.statements import Statement
from app.db.tables import NamespaceRow, RequestIdRow, RunRecord, table_of
from app.engine import workflow as engine
from app.engine.events import EventType
from app.engine.search_attributes import effective_types
from app.engine.state import MutableState, Transition, WorkflowStatus
from app.errors import ApiError, ErrorCode, bad_request, workflow_completed, workflow_not_found
from app.models.common import WorkflowExecution
from app.models.workflows import (
    RequestCancelWorkflowExecutionRequest,
    SignalWithStartWorkflowExecutionRequest,
    SignalWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
    StartWorkflowExecutionResponse,
    TerminateWorkflowExecutionRequest,
    WorkflowIdConflictPolicy,
    WorkflowIdReusePolicy,
)
from app.payloads import encode_payloads
from app.services import executions, namespaces, run_effects, search_attributes, start_options
from app.services.dependencies import (
    HasClock,
    HasDb,
    HasNamespaces,
    HasNotifier,
    HasSettings,
)
from app.services.executions import state_of
from app.services.notifier import Notifier
from app.settings import Settings

MAX_SIGNALS_PER_EXECUTION = 10_000
# Temporal fills an empty terminate reason and identity; these are the gateway's words.
DEFAULT_TERMINATE_REASON = "terminated via the gateway API"
GATEWAY_IDENTITY = "temporal-gateway"
FAILED_STATUSES = {
    WorkflowStatus.FAILED,
    WorkflowStatus.CANCELED,
    WorkflowStatus.TERMINATED,
    WorkflowStatus.TIMED_OUT,
}


class Changing(HasDb, HasClock, HasNamespaces, HasNotifier, Protocol):
    """Signal, cancel request, terminate: a change to a run, its waiters woken."""


class Starting(HasDb, HasClock, HasSettings, HasNamespaces, HasNotifier, Protocol):
    """Start and signal-with-start: a change that may create a run, under the settings'
    cap on running executions."""


async def start_workflow(
    ctx: Starting, namespace: str, request: StartWorkflowExecutionRequest
) -> StartWorkflowExecutionResponse:
    """StartWorkflowExecution in a transaction of its own (see ``start``)."""

    async def work(uow: UnitOfWork) -> tuple[str, bool]:
        ns = namespaces.check_active(await ctx.namespaces.current(uow.session, namespace))
        return await start(uow, ctx.clock, ctx.settings, ctx.notifier, ns, request)

    run_id, started = await ctx.db.run(work)
    return StartWorkflowExecutionResponse(run_id=run_id, started=started)


async def signal_with_start_workflow(
    ctx: Starting, namespace: str, request: SignalWithStartWorkflowExecutionRequest
) -> StartWorkflowExecutionResponse:
    """SignalWithStartWorkflowExecution in a transaction of its own (see
    ``signal_with_start``)."""

    async def work(uow: UnitOfWork) -> tuple[str, bool]:
        ns = namespaces.check_active(await ctx.namespaces.current(uow.session, namespace))
        return await signal_with_start(uow, ctx.clock, ctx.settings, ctx.notifier, ns, request)

    run_id, started = await ctx.db.run(work)
    return StartWorkflowExecutionResponse(run_id=run_id, started=started)


async def signal_workflow(
    ctx: Changing,
    namespace: str,
    workflow_id: str,
    run_id: str,
    request: SignalWorkflowExecutionRequest,
) -> None:
    """SignalWorkflowExecution in a transaction of its own; run_id "" is the current run."""

    async def work(uow: UnitOfWork) -> None:
        ns = await ctx.namespaces.current(uow.session, namespace)
        await signal(uow, ctx.clock, ctx.notifier, ns, workflow_id, run_id, request)

    await ctx.db.run(work)


async def request_cancel_workflow(
    ctx: Changing,
    namespace: str,
    workflow_id: str,
    run_id: str,
    request: RequestCancelWorkflowExecutionRequest,
) -> None:
    """RequestCancelWorkflowExecution in a transaction of its own; run_id "" is the
    current run."""

    async def work(uow: UnitOfWork) -> None:
        ns = await ctx.namespaces.current(uow.session, namespace)
        await request_cancel(uow, ctx.clock, ctx.notifier, ns, workflow_id, run_id, request)

    await ctx.db.run(work)


async def terminate_workflow(
    ctx: Changing,
    namespace: str,
    workflow_id: str,
    run_id: str,
    request: TerminateWorkflowExecutionRequest,
) -> None:
    """TerminateWorkflowExecution in a transaction of its own; run_id "" is the current
    run."""

    async def work(uow: UnitOfWork) -> None:
        ns = await ctx.namespaces.current(uow.session, namespace)
        await terminate(uow, ctx.clock, ctx.notifier, ns, workflow_id, run_id, request)

    await ctx.db.run(work)


def check_body_matches(
    workflow_id: str,
    run_id: str,
    execution: WorkflowExecution | None,
) -> None:
    """Where the body repeats the path's ids, they must agree."""
    if execution is None:
        return
    if execution.workflow_id != workflow_id:
        raise bad_request(
            "workflow_execution.workflow_id",
            "workflow_execution.workflow_id does not match the path",
        )
    if execution.run_id and execution.run_id != run_id:
        raise bad_request(
            "workflow_execution.run_id", "workflow_execution.run_id does not match the path"
        )


def _already_started(row: RunRecord, message: str) -> ApiError:
    return ApiError(
        ErrorCode.WORKFLOW_EXECUTION_ALREADY_STARTED,
        message,
        [
            {
                "type": "WorkflowExecutionAlreadyStarted",
                "start_request_id": row.start_request_id,
                "run_id": row.run_id,
                "first_execution_run_id": row.first_execution_run_id,
                "status": row.status,
            }
        ],
    )


@dataclass(frozen=True)
class _Signal:
    """A signal to record, its payloads encoded."""

    name: str
    input: dict[str, Any] | None
    identity: str
    header: dict[str, Any] | None


async def signal_with_start(
    uow: UnitOfWork,
    clock: Clock,
    settings: Settings,
    notifier: Notifier,
    ns: NamespaceRow,
    req: SignalWithStartWorkflowExecutionRequest,
) -> tuple[str, bool]:
    """Signal the running run of the workflow id, or start a new run with the signal as
    its second event: [WorkflowExecutionStarted, WorkflowExecutionSignaled,
    WorkflowTaskScheduled]. Returns (run_id, started). As Temporal does it (checked
    against its dev server):

    - The conflict policy defaults to USE_EXISTING; FAIL is invalid. A running run is
      signalled whatever the reuse policy (started=False); TERMINATE_EXISTING (or the
      old TERMINATE_IF_RUNNING) ends it and starts a new run.
    - A closed run: the reuse policy decides, as for a start. Unlike a start, a retry
      whose request_id started that closed run is not answered with it.
    - ``request_id`` (one is made up if empty) names both the start and the signal.
      The signal's request ids are the ones SignalWorkflowExecution dedupes by, so a
      retry while the run is open is answered with its run_id (started=False) and the
      signal is not recorded twice.
    - Signalling a run that waits out its first-task backoff (start delay, cron)
      schedules its workflow task at once, which a plain signal does not."""
    if not req.workflow_id.strip():
        raise bad_request("workflow_id", "workflow_id is required and cannot be empty")
    sig = _Signal(
        name=req.signal_name,
        input=start_options.payloads(req.signal_input, "signal_input"),
        identity=req.identity,
        header=start_options.header(req.header),
    )
    return await start(uow, clock, settings, notifier, ns, req, sig)


async def start(
    uow: UnitOfWork,
    clock: Clock,
    settings: Settings,
    notifier: Notifier,
    ns: NamespaceRow,
    req: StartWorkflowExecutionRequest,
    with_signal: _Signal | None = None,
) -> tuple[str, bool]:
    """Start a run. Returns (run_id, started); started is False only when the conflict
    policy USE_EXISTING returned the running run. ``with_signal`` makes it a
    signal-with-start (see ``signal_with_start``)."""
    now = clock.now()
    reuse, conflict = start_options.policies(req, signal_with_start=with_signal is not None)
    timeouts = start_options.timeouts(req)
    params = engine.StartParams(
        workflow_id=req.workflow_id,
        run_id=str(uuid.uuid4()),
        workflow_type=req.workflow_type.name,
        task_queue=req.task_queue.name,
        request_id=req.request_id or str(uuid.uuid4()),
        identity=req.identity,
        input=start_options.payloads(req.input, "input"),
        execution_timeout=timeouts.execution,
        run_timeout=timeouts.run,
        workflow_task_timeout=timeouts.task,
        retry_policy=start_options.retry_policy(req.retry_policy),
        cron_schedule=req.cron_schedule,
        first_workflow_task_backoff=start_options.first_task_backoff(req, now),
        memo=start_options.memo(req.memo),
        header=start_options.header(req.header),
        search_attributes=start_options.search_attributes(req.search_attributes),
    )
    search_attributes.check_or_raise(
        effective_types(ns.search_attribute_types), params.search_attributes
    )
    session = uow.session
    current_id = await executions.current_run_id(session, ns.id, req.workflow_id, for_update=True)
    replaces_running = False
    if current_id is not None:
        existing = await executions.load(
            session, ns.id, req.workflow_id, current_id, for_update=True
        )
        if with_signal is None and existing.start_request_id == params.request_id:
            return existing.run_id, True
        replaces_running = existing.status == "RUNNING"
        if conflict == WorkflowIdConflictPolicy.USE_EXISTING and replaces_running:
            if with_signal is not None:
                await _signal_existing(uow, notifier, existing, with_signal, params.request_id, now)
            return existing.run_id, False
        await _resolve_conflict(uow, notifier, existing, reuse, conflict, params.run_id, now)
    cap = settings.max_running_executions
    if cap and not replaces_running and await executions.running_at_least(session, ns.id, cap):
        raise ApiError(
            ErrorCode.RESOURCE_EXHAUSTED,
            f"Namespace {ns.name!r} already has {cap} running workflow executions.",
            [
                {
                    "type": "RateLimitExceeded",
                    "scope": f"namespace:{ns.name}",
                    "limit": cap,
                    "window": "concurrent",
                    "retry_after": 1,
                    "category": "running_executions",
                }
            ],
            headers={"Retry-After": "1"},
        )

    state, transition = engine.start(params, now)
    if with_signal is not None:
        _signal_before_first_task(state, transition, with_signal, params.request_id, now)
    await executions.create_run(
        uow,
        notifier,
        ns.id,
        params,
        state,
        transition,
        executions.Lineage(params.run_id, params.workflow_id, params.run_id),
        now,
        replaces=current_id,
    )
    if with_signal is not None:
        await _RECORD_REQUEST.run(
            uow.session,
            {
                "namespace_id": ns.id,
                "workflow_id": params.workflow_id,
                "run_id": params.run_id,
                "request_id": params.request_id,
                "kind": "signal",
            },
        )
    return params.run_id, True


def _signal_before_first_task(
    state: MutableState, transition: Transition, sig: _Signal, request_id: str, now: datetime
) -> None:
    """Temporal writes a signal-with-start's signal between WorkflowExecutionStarted and
    the first WorkflowTaskScheduled. engine.start has scheduled that task already (unless
    a start delay or cron holds it back), so it is taken back here and scheduled again
    after the signal, with the next event id."""
    if state.workflow_task is not None:
        scheduled = transition.events.pop()
        if scheduled.event_type is not EventType.WORKFLOW_TASK_SCHEDULED:
            raise AssertionError(f"a start ended with {scheduled.event_type}")
        transition.workflow_tasks.pop()
        state.workflow_task = None
        state.next_event_id -= 1
    transition.extend(_signal_transition(state, sig, request_id, now))


def _signal_transition(
    state: MutableState, sig: _Signal, request_id: str, now: datetime
) -> Transition:
    if state.signal_count >= MAX_SIGNALS_PER_EXECUTION:
        raise executions.too_many("Signals per execution", MAX_SIGNALS_PER_EXECUTION)
    return engine.signal(
        state,
        signal_name=sig.name,
        input=sig.input,
        identity=sig.identity,
        header=sig.header,
        request_id=request_id,
        now=now,
    )


async def _signal_existing(
    uow: UnitOfWork,
    notifier: Notifier,
    row: RunRecord,
    sig: _Signal,
    request_id: str,
    now: datetime,
) -> None:
    """A signal-with-start's signal to the running run: once per request id, and it ends
    a first-task backoff (Temporal schedules the workflow task at once)."""
    if not await _dedupe_request(uow, row, request_id, "signal"):
        return
    state = state_of(row)
    state.awaiting_first_task_backoff = False
    transition = _signal_transition(state, sig, request_id, now)
    await run_effects.save(uow, notifier, row, state, transition, now)


async def _resolve_conflict(
    uow: UnitOfWork,
    notifier: Notifier,
    existing: RunRecord,
    reuse: WorkflowIdReusePolicy,
    conflict: WorkflowIdConflictPolicy,
    new_run_id: str,
    now: datetime,
) -> None:
    status = WorkflowStatus(existing.status)
    if status is WorkflowStatus.RUNNING:
        if conflict == WorkflowIdConflictPolicy.FAIL:
            raise _already_started(existing, "Workflow execution is already running.")
        if conflict == WorkflowIdConflictPolicy.TERMINATE_EXISTING:
            state = state_of(existing)
            transition = engine.terminate(
                state,
                reason="TerminateIfRunning WorkflowIdReusePolicy",
                details=encode_payloads(f"terminated by new run {new_run_id}"),
                identity="history-service",
                now=now,
            )
            await run_effects.save(uow, notifier, existing, state, transition, now)
        return
    if reuse == WorkflowIdReusePolicy.REJECT_DUPLICATE:
        raise _already_started(
            existing,
            "Workflow execution already finished and the reuse policy is REJECT_DUPLICATE.",
        )
    if reuse == WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY and (
        status not in FAILED_STATUSES
    ):
        raise _already_started(
            existing,
            "Workflow execution already finished successfully and the reuse policy "
            "is ALLOW_DUPLICATE_FAILED_ONLY.",
        )


_REQUEST_IDS = table_of(RequestIdRow)
# Built once, run straight on the writer's connection: through the ORM (get, then add)
# each signal or cancel with a request id also paid a savepoint of SQLAlchemy's own.
_REQUEST_SEEN = Statement(
    select(literal(1)).where(
        _REQUEST_IDS.c.namespace_id == bindparam("namespace_id"),
        _REQUEST_IDS.c.workflow_id == bindparam("workflow_id"),
        _REQUEST_IDS.c.run_id == bindparam("run_id"),
        _REQUEST_IDS.c.request_id == bindparam("request_id"),
    )
)
_RECORD_REQUEST = Statement(insert(_REQUEST_IDS))


async def _dedupe_request(uow: UnitOfWork, row: RunRecord, request_id: str, kind: str) -> bool:
    """Record a request id for a run; False if it was applied before."""
    if not request_id:
        return True
    key = {
        "namespace_id": row.namespace_id,
        "workflow_id": row.workflow_id,
        "run_id": row.run_id,
        "request_id": request_id,
    }
    if await _REQUEST_SEEN.first(uow.session, key) is not None:
        return False
    await _RECORD_REQUEST.run(uow.session, {**key, "kind": kind})
    return True


async def signal(
    uow: UnitOfWork,
    clock: Clock,
    notifier: Notifier,
    ns: NamespaceRow,
    workflow_id: str,
    run_id: str,
    req: SignalWorkflowExecutionRequest,
) -> None:
    now = clock.now()
    row = await executions.load(uow.session, ns.id, workflow_id, run_id, for_update=True)
    state = state_of(row)
    if not state.is_running:
        raise workflow_completed(row.workflow_id, row.run_id, row.status)
    if not await _dedupe_request(uow, row, req.request_id, "signal"):
        return
    sig = _Signal(
        name=req.signal_name,
        input=start_options.payloads(req.input, "input"),
        identity=req.identity,
        header=start_options.header(req.header),
    )
    transition = _signal_transition(state, sig, req.request_id, now)
    await run_effects.save(uow, notifier, row, state, transition, now)


def _check_chain(row: RunRecord, first_execution_run_id: str) -> None:
    if first_execution_run_id and first_execution_run_id != row.first_execution_run_id:
        raise workflow_not_found(row.workflow_id, row.run_id)


async def request_cancel(
    uow: UnitOfWork,
    clock: Clock,
    notifier: Notifier,
    ns: NamespaceRow,
    workflow_id: str,
    run_id: str,
    req: RequestCancelWorkflowExecutionRequest,
) -> None:
    """Cooperative cancel. Repeated requests and requests to closed runs succeed without
    effect, as in Temporal."""
    now = clock.now()
    row = await executions.load(uow.session, ns.id, workflow_id, run_id, for_update=True)
    _check_chain(row, req.first_execution_run_id)
    state = state_of(row)
    if not state.is_running or state.cancel_requested:
        return
    if not await _dedupe_request(uow, row, req.request_id, "cancel"):
        return
    transition = engine.request_cancel(state, reason=req.reason, identity=req.identity, now=now)
    await run_effects.save(uow, notifier, row, state, transition, now)


async def terminate(
    uow: UnitOfWork,
    clock: Clock,
    notifier: Notifier,
    ns: NamespaceRow,
    workflow_id: str,
    run_id: str,
    req: TerminateWorkflowExecutionRequest,
) -> None:
    now = clock.now()
    row = await executions.load(uow.session, ns.id, workflow_id, run_id, for_update=True)
    _check_chain(row, req.first_execution_run_id)
    state = state_of(row)
    if not state.is_running:
        raise workflow_completed(row.workflow_id, row.run_id, row.status)
    transition = engine.terminate(
        state,
        reason=req.reason or DEFAULT_TERMINATE_REASON,
        details=start_options.payloads(req.details, "details"),
        identity=req.identity or GATEWAY_IDENTITY,
        now=now,
    )
    await run_effects.save(uow, notifier, row, state, transition, now)
