"""Changes to a run in the caller's transaction: signal, cancel request and terminate
(app/services/workflows.py runs each in a transaction of its own for the doors). Also
what a signal-with-start shares with a signal (app/services/workflow_starts.py): the
signal's transition and the request ids a run has applied, by which repeats are
dropped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, literal, select

from app.clock import Clock
from app.db.database import UnitOfWork
from app.db.statements import Statement
from app.db.tables import NamespaceRow, RequestIdRow, RunRecord, table_of
from app.engine import workflow as engine
from app.engine.state import MutableState, Transition
from app.errors import workflow_completed, workflow_not_found
from app.models.workflows import (
    RequestCancelWorkflowExecutionRequest,
    SignalWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
)
from app.services import executions, run_effects, start_options
from app.services.executions import state_of
from app.services.notifier import Notifier

MAX_SIGNALS_PER_EXECUTION = 10_000
# Temporal fills an empty terminate reason and identity; these are the gateway's words.
DEFAULT_TERMINATE_REASON = "terminated via the gateway API"
GATEWAY_IDENTITY = "temporal-gateway"


@dataclass(frozen=True)
class Signal:
    """A signal to record, its payloads encoded."""

    name: str
    input: dict[str, Any] | None
    identity: str
    header: dict[str, Any] | None


def signal_transition(
    state: MutableState, sig: Signal, request_id: str, now: datetime
) -> Transition:
    """The signal's events, within the cap on signals per execution."""
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
RECORD_REQUEST = Statement(insert(_REQUEST_IDS))


async def dedupe_request(uow: UnitOfWork, row: RunRecord, request_id: str, kind: str) -> bool:
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
    await RECORD_REQUEST.run(uow.session, {**key, "kind": kind})
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
    if not await dedupe_request(uow, row, req.request_id, "signal"):
        return
    sig = Signal(
        name=req.signal_name,
        input=start_options.payloads(req.input, "input"),
        identity=req.identity,
        header=start_options.header(req.header),
    )
    transition = signal_transition(state, sig, req.request_id, now)
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
    if not await dedupe_request(uow, row, req.request_id, "cancel"):
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
