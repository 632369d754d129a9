"""Starting a run in the caller's transaction (app/services/workflows.py runs it in a
transaction of its own for the doors): StartWorkflowExecution with id reuse, conflict
policies and request-id idempotency, and SignalWithStartWorkflowExecution, which signals
the running run or starts one with the signal as its second event."""

from __future__ import annotations

import uuid
from datetime import datetime

from app.clock import Clock
from app.db.database import UnitOfWork
from app.db.tables import NamespaceRow, RunRecord
from app.engine import workflow as engine
from app.engine.events import EventType
from app.engine.search_attributes import effective_types
from app.engine.state import MutableState, Transition, WorkflowStatus
from app.errors import ApiError, ErrorCode, bad_request
from app.models.workflows import (
    SignalWithStartWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
    WorkflowIdConflictPolicy,
    WorkflowIdReusePolicy,
)
from app.payloads import encode_payloads
from app.services import executions, run_effects, search_attributes, start_options
from app.services.executions import state_of
from app.services.notifier import Notifier
from app.services.run_changes import RECORD_REQUEST, Signal, dedupe_request, signal_transition
from app.settings import Settings

FAILED_STATUSES = {
    WorkflowStatus.FAILED,
    WorkflowStatus.CANCELED,
    WorkflowStatus.TERMINATED,
    WorkflowStatus.TIMED_OUT,
}


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
    sig = Signal(
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
    with_signal: Signal | None = None,
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
        await RECORD_REQUEST.run(
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
    state: MutableState, transition: Transition, sig: Signal, request_id: str, now: datetime
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
    transition.extend(signal_transition(state, sig, request_id, now))


async def _signal_existing(
    uow: UnitOfWork,
    notifier: Notifier,
    row: RunRecord,
    sig: Signal,
    request_id: str,
    now: datetime,
) -> None:
    """A signal-with-start's signal to the running run: once per request id, and it ends
    a first-task backoff (Temporal schedules the workflow task at once)."""
    if not await dedupe_request(uow, row, request_id, "signal"):
        return
    state = state_of(row)
    state.awaiting_first_task_backoff = False
    transition = signal_transition(state, sig, request_id, now)
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
