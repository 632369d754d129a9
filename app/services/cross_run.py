"""Delivering what one run sends to another — signals and cancel requests — in the same
transaction, and reporting the outcome back to the sender as Temporal's events."""

from __future__ import annotations

from datetime import datetime

from app.db.database import UnitOfWork
from app.db.tables import RunRecord
from app.engine import external
from app.engine import workflow as engine
from app.engine.state import ExternalRequest, MutableState, Transition
from app.errors import ApiError
from app.services import executions, namespaces
from app.services.notifier import Notifier

NOT_FOUND = "EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND"
# Who the target's events name when another workflow, through the server, caused them.
SERVER_IDENTITY = "history-service"


async def _namespace_id(uow: UnitOfWork, name: str, default: str) -> str | None:
    return await namespaces.id_of(uow.session, name) if name else default


def _apply(
    request: ExternalRequest, target: MutableState, sender: RunRecord, now: datetime
) -> Transition:
    source = {"workflow_id": sender.workflow_id, "run_id": sender.run_id}
    if request.kind == external.SIGNAL:
        return engine.signal(
            target,
            signal_name=request.signal_name,
            input=request.input,
            identity=SERVER_IDENTITY,
            header=request.header,
            request_id="",
            now=now,
            external_workflow_execution=source,
        )
    if target.cancel_requested:
        return Transition()
    return engine.request_cancel(
        target,
        reason=request.reason,
        identity=SERVER_IDENTITY,
        now=now,
        external_initiated_event_id=request.initiated_event_id,
        external_workflow_execution=source,
    )


async def deliver(
    uow: UnitOfWork,
    notifier: Notifier,
    row: RunRecord,
    state: MutableState,
    requests: list[ExternalRequest],
    now: datetime,
) -> Transition:
    """Deliver each request; returns the sender's own transition (the outcome events, and
    anything a request addressed to the sender itself did)."""
    out = Transition()
    for request in requests:
        ns_id = await _namespace_id(uow, request.namespace, row.namespace_id)
        if ns_id is None:
            out.extend(
                external.failed(state, request.initiated_event_id, "NAMESPACE_NOT_FOUND", now)
            )
            continue
        try:
            target_row = await executions.load(
                uow.session, ns_id, request.workflow_id, request.run_id, for_update=True
            )
        except ApiError:
            target_row = None
        if target_row is not None and (
            target_row.namespace_id,
            target_row.workflow_id,
            target_row.run_id,
        ) == (row.namespace_id, row.workflow_id, row.run_id):
            if not state.is_running:
                continue
            out.extend(_apply(request, state, row, now))
            out.extend(external.delivered(state, request.initiated_event_id, row.run_id, now))
            continue
        target = executions.state_of(target_row) if target_row is not None else None
        if (
            target_row is None
            or target is None
            or not target.is_running
            or (request.child_workflow_only and target_row.parent_run_id != row.run_id)
        ):
            out.extend(external.failed(state, request.initiated_event_id, NOT_FOUND, now))
            continue
        await executions.save(
            uow, notifier, target_row, target, _apply(request, target, row, now), now
        )
        out.extend(external.delivered(state, request.initiated_event_id, target_row.run_id, now))
    return out
