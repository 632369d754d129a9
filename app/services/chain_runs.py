"""Starting the run that follows a closed one (retry, cron, continue-as-new) in the same
transaction that closed it: the new run inherits what its engine plan does not override,
and becomes the workflow id's current run."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from app.db.database import UnitOfWork
from app.db.tables import CurrentExecutionRow, ExecutionRow, HistoryEventRow
from app.engine import workflow as engine
from app.engine.state import MutableState, NextRun, Transition
from app.services import cross_run, executions
from app.services.notifier import Notifier


async def save(
    uow: UnitOfWork,
    notifier: Notifier,
    row: ExecutionRow,
    state: MutableState,
    transition: Transition,
    now: datetime,
) -> None:
    """Save a transition and what it sets off beyond its run: requests to other workflows
    (delivered now, their outcomes saved back to this run) and, if it closed the run into
    a chain, the next run."""
    await executions.save(uow, notifier, row, state, transition, now)
    if transition.external_requests:
        outcomes = await cross_run.deliver(
            uow, notifier, row, state, transition.external_requests, now
        )
        await executions.save(uow, notifier, row, state, outcomes, now)
    if transition.next_run is not None:
        await start_next_run(uow, notifier, row, state, transition.next_run, now)


async def start_next_run(
    uow: UnitOfWork,
    notifier: Notifier,
    row: ExecutionRow,
    state: MutableState,
    plan: NextRun,
    now: datetime,
) -> None:
    started = await uow.session.get(
        HistoryEventRow, (row.namespace_id, row.workflow_id, row.run_id, 1)
    )
    first = started.attributes if started is not None else {}
    overrides = plan.overrides
    params = engine.StartParams(
        workflow_id=row.workflow_id,
        run_id=plan.run_id,
        workflow_type=overrides.get("workflow_type", state.workflow_type),
        task_queue=overrides.get("task_queue", state.task_queue),
        request_id=str(uuid.uuid4()),
        identity=first.get("identity", ""),
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
    )
    new_state, transition = engine.start(params, now)
    new_row = ExecutionRow(
        namespace_id=row.namespace_id,
        workflow_id=row.workflow_id,
        run_id=plan.run_id,
        workflow_type=params.workflow_type,
        task_queue=params.task_queue,
        status=new_state.status.value,
        start_time=now,
        execution_time=now + timedelta(seconds=plan.backoff),
        first_execution_run_id=state.first_execution_run_id,
        parent_namespace_id=row.parent_namespace_id,
        parent_workflow_id=row.parent_workflow_id,
        parent_run_id=row.parent_run_id,
        root_workflow_id=row.root_workflow_id,
        root_run_id=row.root_run_id,
        start_request_id=params.request_id,
        memo=params.memo or {},
        search_attributes=params.search_attributes or {},
    )
    await executions.create(uow, notifier, new_row, new_state, transition, now)
    current = await uow.session.get(
        CurrentExecutionRow, (row.namespace_id, row.workflow_id), with_for_update=True
    )
    if current is None:
        uow.session.add(
            CurrentExecutionRow(
                namespace_id=row.namespace_id, workflow_id=row.workflow_id, run_id=plan.run_id
            )
        )
    elif current.run_id == row.run_id:
        current.run_id = plan.run_id
        uow.session.add(current)
    await uow.session.flush()
