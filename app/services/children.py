"""Child workflows across runs: starting them (in the transaction that initiated them),
telling the parent when a child's chain ends, and applying the parent close policy to
the children of a run that closes."""

from __future__ import annotations

import uuid
from datetime import datetime

from app.db.database import UnitOfWork
from app.db.tables import RunRecord
from app.engine import children as engine
from app.engine import cron, workflow
from app.engine.events import HistoryEvent
from app.engine.state import ChildStart, MutableState, Transition, WorkflowStatus
from app.services import executions, namespaces
from app.services.notifier import Notifier

FAILED_STATUSES = {"FAILED", "CANCELED", "TERMINATED", "TIMED_OUT"}


async def _namespace_id(uow: UnitOfWork, name: str, default_id: str) -> str | None:
    """The id of the namespace named (the parent's when unnamed), None if it is gone."""
    if not name:
        exists = await namespaces.name_of(uow.session, default_id) is not None
        return default_id if exists else None
    return await namespaces.id_of(uow.session, name)


async def _start_one(
    uow: UnitOfWork,
    notifier: Notifier,
    parent: RunRecord,
    parent_state: MutableState,
    start: ChildStart,
    now: datetime,
) -> Transition:
    ns_id = await _namespace_id(uow, start.namespace, parent.namespace_id)
    if ns_id is None:
        return engine.start_failed(
            parent_state, start.initiated_event_id, "NAMESPACE_NOT_FOUND", now
        )
    current_id = await executions.current_run_id(
        uow.session, ns_id, start.workflow_id, for_update=True
    )
    if current_id is not None:
        existing = await executions.load(uow.session, ns_id, start.workflow_id, current_id)
        if (
            existing.status == WorkflowStatus.RUNNING.value
            or start.reuse_policy == ("REJECT_DUPLICATE")
            or (
                start.reuse_policy == "ALLOW_DUPLICATE_FAILED_ONLY"
                and existing.status not in FAILED_STATUSES
            )
        ):
            return engine.start_failed(
                parent_state, start.initiated_event_id, "WORKFLOW_ALREADY_EXISTS", now
            )
    parent_namespace = await namespaces.name_of(uow.session, parent.namespace_id)
    run_id = str(uuid.uuid4())
    root = {"workflow_id": parent.root_workflow_id, "run_id": parent.root_run_id}
    params = workflow.StartParams(
        workflow_id=start.workflow_id,
        run_id=run_id,
        workflow_type=start.workflow_type,
        task_queue=start.task_queue,
        request_id=str(uuid.uuid4()),
        input=start.input,
        execution_timeout=start.execution_timeout,
        run_timeout=start.run_timeout,
        workflow_task_timeout=start.workflow_task_timeout,
        retry_policy=start.retry_policy,
        cron_schedule=start.cron_schedule,
        memo=start.memo,
        header=start.header,
        search_attributes=start.search_attributes,
        extra={
            "parent_workflow_namespace": parent_namespace or "",
            "parent_workflow_namespace_id": parent.namespace_id,
            "parent_workflow_execution": {
                "workflow_id": parent.workflow_id,
                "run_id": parent.run_id,
            },
            "parent_initiated_event_id": start.initiated_event_id,
            "root_workflow_execution": root,
        },
    )
    if start.cron_schedule:
        params.first_workflow_task_backoff = cron.backoff_until_next(start.cron_schedule, now)
    state, transition = workflow.start(params, now)
    state.parent_initiated_event_id = start.initiated_event_id
    await executions.create_run(
        uow,
        notifier,
        ns_id,
        params,
        state,
        transition,
        executions.Lineage(
            run_id,
            parent.root_workflow_id,
            parent.root_run_id,
            parent.namespace_id,
            parent.workflow_id,
            parent.run_id,
        ),
        now,
        replaces=current_id,
    )
    return engine.started(parent_state, start.initiated_event_id, run_id, now)


async def start_all(
    uow: UnitOfWork,
    notifier: Notifier,
    parent: RunRecord,
    parent_state: MutableState,
    starts: list[ChildStart],
    now: datetime,
) -> Transition:
    """Start each child; returns the parent's transition (Started or StartFailed)."""
    out = Transition()
    for start in starts:
        out.extend(await _start_one(uow, notifier, parent, parent_state, start, now))
    return out


async def notify_parent(
    uow: UnitOfWork,
    notifier: Notifier,
    row: RunRecord,
    state: MutableState,
    closing: HistoryEvent,
    now: datetime,
) -> None:
    """The child's chain ended with ``closing``: the parent, if still open, hears of it."""
    if not row.parent_run_id:
        return
    parent = await executions.find(
        uow.session,
        row.parent_namespace_id,
        row.parent_workflow_id,
        row.parent_run_id,
        for_update=True,
    )
    if parent is None:
        return
    parent_state = executions.state_of(parent)
    transition = engine.closed(
        parent_state,
        state.parent_initiated_event_id,
        closing.event_type.value,
        closing.attributes,
        now,
        child_run_id=row.run_id,
    )
    if transition.events:
        await executions.save(uow, notifier, parent, parent_state, transition, now)


async def close_policy_targets(
    uow: UnitOfWork, row: RunRecord, state: MutableState
) -> list[tuple[str, RunRecord]]:
    """The open children of a run that just closed, with what its policy says to do."""
    targets = []
    for child in state.children.values():
        if not child["run_id"] or child["parent_close_policy"] == "ABANDON":
            continue
        ns_id = await _namespace_id(uow, child["namespace"], row.namespace_id)
        if ns_id is None:
            continue
        try:
            child_row = await executions.load(
                uow.session, ns_id, child["workflow_id"], "", for_update=True
            )
        except Exception:
            continue
        if child_row.parent_run_id == row.run_id and child_row.status == "RUNNING":
            targets.append((child["parent_close_policy"], child_row))
    return targets


def close_policy_transition(
    policy: str, parent: RunRecord, child: MutableState, now: datetime
) -> Transition:
    if policy == "TERMINATE":
        return workflow.terminate(
            child,
            reason="by parent close policy",
            details=None,
            identity="history-service",
            now=now,
        )
    if child.cancel_requested:
        return Transition()
    return workflow.request_cancel(
        child,
        reason="",
        identity="history-service",
        now=now,
        external_workflow_execution={"workflow_id": parent.workflow_id, "run_id": parent.run_id},
    )
