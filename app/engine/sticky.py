"""Sticky queues, as Temporal keeps them: a worker that completes a workflow task names
its own queue, and the run's next tasks go there (the worker has the run cached and is
sent only the events it has not seen). The run falls back to its own queue, with full
history, when that worker does not take a task within its schedule-to-start timeout
(WorkflowTaskTimedOut, SCHEDULE_TO_START), fails or times out a task, or shuts down.
Pure."""

from __future__ import annotations

from datetime import datetime

from app.engine.events import EventType
from app.engine.state import MutableState, Transition, WorkflowTaskDispatch
from app.engine.workflow import append_event, schedule_workflow_task

# What a worker that names no timeout gets (the SDKs' own default).
DEFAULT_SCHEDULE_TO_START_SECONDS = 10.0


def stick(state: MutableState, queue: str, schedule_to_start_timeout: float) -> None:
    """The worker completing a task asks for the run's next tasks on ``queue`` (naming
    none, or the run's own queue, it does not: the run is no longer sticky)."""
    if not queue or queue == state.task_queue:
        state.sticky_task_queue = ""
        state.sticky_schedule_to_start_timeout = 0.0
        return
    state.sticky_task_queue = queue
    state.sticky_schedule_to_start_timeout = (
        schedule_to_start_timeout
        if schedule_to_start_timeout > 0
        else DEFAULT_SCHEDULE_TO_START_SECONDS
    )


def clear(state: MutableState) -> None:
    stick(state, "", 0.0)


def time_out_schedule_to_start(
    state: MutableState, scheduled_event_id: int, attempt: int, now: datetime
) -> Transition:
    """Nobody took the task from the sticky queue in time: it times out and a new task
    goes to the run's own queue. A no-op if the task was started or moved meanwhile."""
    out = Transition()
    task = state.workflow_task
    if (
        not state.is_running
        or task is None
        or task.started
        or task.scheduled_event_id != scheduled_event_id
        or task.attempt != attempt
        or task.task_queue == state.task_queue
    ):
        return out
    append_event(
        state,
        out,
        EventType.WORKFLOW_TASK_TIMED_OUT,
        {"scheduled_event_id": scheduled_event_id, "timeout_type": "SCHEDULE_TO_START"},
        now,
    )
    clear(state)
    state.workflow_task = None
    schedule_workflow_task(state, out, now)
    return out


def release(state: MutableState, queue: str) -> Transition:
    """The worker behind ``queue`` shut down: the run is no longer sticky, and a task
    waiting on that queue moves to the run's own queue at once (no event: the task is
    the same, as in Temporal)."""
    out = Transition()
    if not queue or state.sticky_task_queue != queue:
        return out
    clear(state)
    task = state.workflow_task
    if state.is_running and task is not None and not task.started and task.task_queue == queue:
        task.task_queue = state.task_queue
        out.workflow_tasks.append(WorkflowTaskDispatch(state.task_queue, task.scheduled_event_id))
    return out
