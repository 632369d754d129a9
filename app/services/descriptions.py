"""What a run is, as DescribeWorkflowExecution, visibility and GetWorkflowExecution show
it: its info and config, what it waits on, in Temporal's shape. Stored payloads are
shown through ``present``: REST renders json/plain as JSON values (render), gRPC takes
them as stored (raw)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from app.db.tables import RunRecord
from app.engine.events import format_seconds, format_time
from app.engine.state import ActivityInfo
from app.models.workflows import HistoryEventFilterType
from app.payloads import render
from app.services import executions, history
from app.services.dependencies import Namespaced

Present = Callable[[Any], Any]


def raw(value: Any) -> Any:
    return value


def execution_info(row: RunRecord, present: Present = render) -> dict[str, Any]:
    """The run as visibility shows it (WorkflowExecutionInfo)."""
    execution = {"workflow_id": row.workflow_id, "run_id": row.run_id}
    info: dict[str, Any] = {
        "execution": execution,
        "type": {"name": row.workflow_type},
        "start_time": format_time(row.start_time),
        "close_time": format_time(row.close_time) if row.close_time else None,
        "status": row.status,
        "history_length": row.history_length,
        "history_size_bytes": row.history_size_bytes,
        "state_transition_count": row.db_version,
        "execution_time": format_time(row.execution_time),
        "memo": present(row.memo),
        "search_attributes": present(row.search_attributes),
        "task_queue": row.task_queue,
        "first_run_id": row.first_execution_run_id,
        "root_execution": {"workflow_id": row.root_workflow_id, "run_id": row.root_run_id},
    }
    if row.parent_workflow_id:
        info["parent_namespace_id"] = row.parent_namespace_id
        info["parent_execution"] = {
            "workflow_id": row.parent_workflow_id,
            "run_id": row.parent_run_id,
        }
    return info


def describe(row: RunRecord, present: Present = render) -> dict[str, Any]:
    state = executions.state_of(row)
    info = execution_info(row, present)

    config = {
        "task_queue": {"name": row.task_queue, "kind": "NORMAL"},
        "workflow_execution_timeout": format_seconds(state.execution_timeout),
        "workflow_run_timeout": format_seconds(state.run_timeout),
        "default_workflow_task_timeout": format_seconds(state.workflow_task_timeout),
    }
    pending = None
    task = state.workflow_task
    if task is not None:
        pending = {
            "state": "STARTED" if task.started else "SCHEDULED",
            "scheduled_time": format_time(task.scheduled_time),
            "started_time": format_time(task.started_time) if task.started_time else None,
            "attempt": task.attempt,
        }
    extended = {
        "execution_expiration_time": _time(state.execution_expiration_time),
        "run_expiration_time": _time(state.run_expiration_time),
        "cancel_requested": state.cancel_requested,
        "original_start_time": format_time(row.start_time),
    }
    return {
        "execution_info": info,
        "execution_config": config,
        "pending_workflow_task": pending,
        "workflow_extended_info": extended,
    }


def _time(moment: datetime | None) -> str | None:
    return format_time(moment) if moment else None


def _pending(row: RunRecord, present: Present) -> dict[str, Any]:
    state = executions.state_of(row)
    return {
        "pending_activities": [pending_activity(a, present) for a in state.activities.values()],
        "pending_children": [
            {
                "workflow_id": child["workflow_id"],
                "run_id": child["run_id"],
                "workflow_type_name": child["workflow_type"],
                "initiated_id": int(initiated),
                "parent_close_policy": child.get("parent_close_policy") or None,
            }
            for initiated, child in state.children.items()
        ],
    }


async def describe_workflow(
    ctx: Namespaced, namespace: str, workflow_id: str, run_id: str, present: Present = render
) -> dict[str, Any]:
    """DescribeWorkflowExecution: the run's info and config, and what it waits on (its
    workflow task, activities and children), as Temporal fills them."""
    ns = await ctx.namespaces.get(ctx.db, namespace)
    executions.check_run_id(run_id)
    async with ctx.db.read() as session:
        row = await executions.load(session, ns.id, workflow_id, run_id)
    return {**describe(row, present), **_pending(row, present)}


async def get_workflow_execution(
    ctx: history.Reading,
    namespace: str,
    workflow_id: str,
    run_id: str,
    maximum_page_size: int,
    next_page_token: str,
) -> dict[str, Any]:
    """The REST GetWorkflowExecution: the description and a page of history, from one
    read of the run."""
    page = await history.read_history(
        ctx,
        namespace,
        workflow_id,
        run_id,
        maximum_page_size,
        next_page_token,
        False,
        HistoryEventFilterType.ALL_EVENT,
    )
    return {
        **describe(page.run),
        **_pending(page.run, render),
        "workflow_execution_history": page.events,
        "next_page_token": page.next_page_token,
    }


def pending_activity(activity: ActivityInfo, present: Present) -> dict[str, Any]:
    if activity.cancel_requested_event_id:
        status = "CANCEL_REQUESTED"
    else:
        status = "STARTED" if activity.started_time else "SCHEDULED"
    maximum_attempts = int(activity.retry_policy.get("maximum_attempts") or 0)
    return {
        "activity_id": activity.activity_id,
        "activity_type": {"name": activity.activity_type},
        "state": status,
        "heartbeat_details": present(activity.heartbeat_details),
        "last_heartbeat_time": _time(activity.last_heartbeat_time),
        "last_started_time": _time(activity.started_time),
        "attempt": activity.attempt,
        "maximum_attempts": maximum_attempts,
        "scheduled_time": format_time(activity.attempt_scheduled_time),
        "last_failure": present(activity.last_failure),
        "last_worker_identity": activity.started_identity,
    }
