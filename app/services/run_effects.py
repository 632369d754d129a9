"""Everything a run's transition sets off beyond the run itself, written in the same
transaction: deliveries to other workflows, children, the next run of a chain (which
inherits what its engine plan does not override and becomes the workflow id's current
run), word to a parent, and the parent close policy."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import bindparam, select

from app.db.database import UnitOfWork
from app.db.statements import Statement
from app.db.tables import HistoryEventRow, RunRecord, table_of
from app.engine import workflow as engine
from app.engine.events import CLOSE_EVENT_TYPES
from app.engine.state import MutableState, NextRun, Transition
from app.services import children, cross_run, executions
from app.services.notifier import Notifier

PARENT_FIELDS = (
    "parent_workflow_namespace",
    "parent_workflow_namespace_id",
    "parent_workflow_execution",
    "parent_initiated_event_id",
    "root_workflow_execution",
)


async def change_run(
    uow: UnitOfWork,
    notifier: Notifier,
    run_key: tuple[str, str, str],
    change: Callable[[MutableState], Transition],
    now: datetime,
) -> None:
    """Apply ``change`` to a run (namespace id, workflow id, run id) loaded for update
    and save what it changed; a run that is gone, or a change that finds nothing to do
    (an empty transition, the state as it was), writes nothing. (A transient workflow
    task's timeout changes the state without writing an event.)"""
    row = await executions.find(uow.session, *run_key, for_update=True)
    if row is None:
        return
    state = executions.state_of(row)
    before = row.state
    transition = change(state)
    changed = (
        transition.events
        or transition.workflow_tasks
        or transition.activity_tasks
        or transition.timers
    )
    if changed or state.to_json() != before:
        await save(uow, notifier, row, state, transition, now)


async def save(
    uow: UnitOfWork,
    notifier: Notifier,
    row: RunRecord,
    state: MutableState,
    transition: Transition,
    now: datetime,
) -> None:
    """Save a transition and what it sets off beyond its run, in the same transaction:
    requests to other workflows and child starts (their outcomes saved back to this
    run); and when it closed the run, the next run of its chain — or, if the chain
    ended, word to its parent — and the parent close policy for its children."""
    await executions.save(uow, notifier, row, state, transition, now)
    outcomes = Transition()
    if transition.external_requests:
        outcomes.extend(
            await cross_run.deliver(uow, notifier, row, state, transition.external_requests, now)
        )
    if transition.child_starts:
        outcomes.extend(
            await children.start_all(uow, notifier, row, state, transition.child_starts, now)
        )
    if outcomes.events or outcomes.workflow_tasks:
        await executions.save(uow, notifier, row, state, outcomes, now)
    closing = next((e for e in transition.events if e.event_type in CLOSE_EVENT_TYPES), None)
    if closing is None:
        return
    if transition.next_run is not None:
        await start_next_run(uow, notifier, row, state, transition.next_run, now)
    else:
        await children.notify_parent(uow, notifier, row, state, closing, now)
    for policy, child_row in await children.close_policy_targets(uow, row, state):
        child_state = executions.state_of(child_row)
        await save(
            uow,
            notifier,
            child_row,
            child_state,
            children.close_policy_transition(policy, row, child_state, now),
            now,
        )


_EVENTS = table_of(HistoryEventRow)
# The attributes of a run's WorkflowExecutionStarted (what the next run inherits).
_STARTED_ATTRIBUTES = Statement(
    select(_EVENTS.c.attributes).where(
        _EVENTS.c.namespace_id == bindparam("namespace_id"),
        _EVENTS.c.workflow_id == bindparam("workflow_id"),
        _EVENTS.c.run_id == bindparam("run_id"),
        _EVENTS.c.event_id == 1,
    )
)


async def start_next_run(
    uow: UnitOfWork,
    notifier: Notifier,
    row: RunRecord,
    state: MutableState,
    plan: NextRun,
    now: datetime,
) -> None:
    run = {"namespace_id": row.namespace_id, "workflow_id": row.workflow_id, "run_id": row.run_id}
    first = await _STARTED_ATTRIBUTES.scalar(uow.session, run) or {}
    overrides = plan.overrides
    params = engine.StartParams(
        workflow_id=row.workflow_id,
        run_id=plan.run_id,
        workflow_type=overrides.get("workflow_type", state.workflow_type),
        task_queue=overrides.get("task_queue", state.task_queue),
        request_id=str(uuid.uuid4()),
        input=overrides["input"] if "input" in overrides else first.get("input"),
        execution_timeout=state.execution_timeout,
        run_timeout=overrides.get("workflow_run_timeout", state.run_timeout),
        workflow_task_timeout=overrides.get("workflow_task_timeout", state.workflow_task_timeout),
        retry_policy=overrides.get("retry_policy", state.retry_policy),
        cron_schedule=overrides.get("cron_schedule", state.cron_schedule),
        first_workflow_task_backoff=plan.backoff,
        memo=overrides.get("memo", row.memo or None),
        search_attributes=overrides.get("search_attributes", row.search_attributes or None),
        header=overrides.get("header", first.get("header")),
        attempt=plan.attempt,
        first_execution_run_id=state.first_execution_run_id,
        initiator=plan.initiator,
        continued_execution_run_id=row.run_id,
        continued_failure=plan.continued_failure,
        last_completion_result=plan.last_completion_result,
        execution_expiration_time=state.execution_expiration_time,
        extra={k: first[k] for k in PARENT_FIELDS if k in first},
    )
    new_state, transition = engine.start(params, now)
    new_state.parent_initiated_event_id = state.parent_initiated_event_id
    await executions.create_run(
        uow,
        notifier,
        row.namespace_id,
        params,
        new_state,
        transition,
        executions.Lineage(
            state.first_execution_run_id,
            row.root_workflow_id,
            row.root_run_id,
            row.parent_namespace_id,
            row.parent_workflow_id,
            row.parent_run_id,
        ),
        now,
        replaces=row.run_id,
    )
