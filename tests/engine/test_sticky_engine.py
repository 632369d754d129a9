"""Pure tests of sticky queues (app.engine.sticky): where a run's next task goes after a
completion that names a worker's queue, and each way back to the run's own queue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from app.engine import sticky
from app.engine import workflow as engine
from app.engine import workflow_tasks as wt
from app.engine.state import MutableState, TimerKind, TimerToSet, WorkflowTaskDispatch
from tests.engine.test_workflow_tasks_engine import (
    LATER,
    LATEST,
    NOW,
    QUEUE,
    WFT_SCHEDULED,
    WFT_TIMED_OUT,
    fail_current,
    finish,
    params,
    signal,
    take,
    task_of,
    types,
)

STICKY = "host-1-sticky"


def sticky_run(timeout: float = 5.0) -> MutableState:
    """A run whose first task a worker completed naming its sticky queue."""
    state, _ = engine.start(params(), NOW)
    take(state)
    finish(state, [], sticky_task_queue=STICKY, sticky_schedule_to_start_timeout=timeout)
    return state


def test_the_next_task_goes_to_the_sticky_queue_bounded_by_its_timeout() -> None:
    state = sticky_run()
    out = signal(state)

    task = task_of(state)
    assert (task.task_queue, task.attempt) == (STICKY, 1)
    assert out.workflow_tasks == [WorkflowTaskDispatch(STICKY, task.scheduled_event_id)]
    scheduled = next(e for e in out.events if e.event_type is WFT_SCHEDULED)
    assert scheduled.attributes["task_queue"] == {
        "name": STICKY,
        "kind": "STICKY",
        "normal_name": QUEUE,
    }
    assert out.timers == [
        TimerToSet(
            TimerKind.WORKFLOW_TASK_SCHEDULE_TO_START,
            LATER + timedelta(seconds=5),
            {"scheduled_event_id": task.scheduled_event_id, "attempt": 1},
        )
    ]


@pytest.mark.parametrize(
    ("queue", "timeout", "expected"),
    [
        pytest.param(STICKY, 0.0, (STICKY, sticky.DEFAULT_SCHEDULE_TO_START_SECONDS), id="default"),
        pytest.param("", 5.0, ("", 0.0), id="none"),
        pytest.param(QUEUE, 5.0, ("", 0.0), id="its-own-queue"),
    ],
)
def test_stick(queue: str, timeout: float, expected: tuple[str, float]) -> None:
    state, _ = engine.start(params(), NOW)
    sticky.stick(state, queue, timeout)
    assert (state.sticky_task_queue, state.sticky_schedule_to_start_timeout) == expected


@pytest.mark.parametrize(
    "unstick",
    [
        pytest.param(lambda s: finish(s, []), id="completed-naming-no-queue"),
        pytest.param(lambda s: fail_current(s), id="failed"),
        pytest.param(
            lambda s: wt.time_out(s, task_of(s).scheduled_event_id, 1, LATEST), id="timed-out"
        ),
    ],
)
def test_each_way_a_worker_lets_go(unstick: Callable[[MutableState], object]) -> None:
    state = sticky_run()
    signal(state)
    take(state, now=LATER)
    unstick(state)
    assert state.sticky_task_queue == ""
    signal(state, now=LATEST)
    assert task_of(state).task_queue == QUEUE


def test_a_sticky_task_not_taken_in_time_times_out_to_the_normal_queue() -> None:
    state = sticky_run()
    signal(state)
    scheduled = task_of(state).scheduled_event_id

    out = sticky.time_out_schedule_to_start(state, scheduled, 1, LATEST)

    assert types(out) == [WFT_TIMED_OUT, WFT_SCHEDULED]
    assert out.events[0].attributes == {
        "scheduled_event_id": scheduled,
        "timeout_type": "SCHEDULE_TO_START",
    }
    assert out.events[1].attributes["task_queue"] == {"name": QUEUE, "kind": "NORMAL"}
    assert (task_of(state).task_queue, task_of(state).attempt) == (QUEUE, 1)
    assert state.sticky_task_queue == ""


@pytest.mark.parametrize(
    "meanwhile",
    [
        pytest.param(lambda s: take(s, now=LATER), id="started"),
        pytest.param(lambda s: sticky.release(s, STICKY), id="released"),
    ],
)
def test_the_schedule_to_start_timeout_is_a_no_op_once_taken_or_moved(
    meanwhile: Callable[[MutableState], object],
) -> None:
    state = sticky_run()
    signal(state)
    scheduled = task_of(state).scheduled_event_id
    meanwhile(state)
    before = state.to_json()
    out = sticky.time_out_schedule_to_start(state, scheduled, 1, LATEST)
    assert out.events == [] and out.workflow_tasks == []
    assert state.to_json() == before


def test_release_moves_the_waiting_task_without_an_event() -> None:
    state = sticky_run()
    signal(state)
    scheduled = task_of(state).scheduled_event_id

    out = sticky.release(state, STICKY)

    assert out.events == []
    assert out.workflow_tasks == [WorkflowTaskDispatch(QUEUE, scheduled)]
    assert task_of(state).task_queue == QUEUE and state.sticky_task_queue == ""
    assert sticky.release(state, STICKY).workflow_tasks == []  # once


def test_release_of_another_queue_changes_nothing() -> None:
    state = sticky_run()
    signal(state)
    before = state.to_json()
    assert sticky.release(state, "other-sticky").workflow_tasks == []
    assert state.to_json() == before
