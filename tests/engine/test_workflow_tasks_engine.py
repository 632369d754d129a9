"""Pure tests of the workflow task lifecycle (app.engine.workflow_tasks): start, complete,
fail and time out, transient retries, buffering and UNHANDLED_COMMAND. No database, no
clock: time is passed in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.engine import commands
from app.engine import workflow as engine
from app.engine import workflow_tasks as wt
from app.engine.events import EventType
from app.engine.state import (
    MutableState,
    TimerKind,
    Transition,
    WorkflowStatus,
    WorkflowTask,
    WorkflowTaskDispatch,
)

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
LATER = NOW + timedelta(seconds=3)
LATEST = NOW + timedelta(seconds=8)

WFT_SCHEDULED = EventType.WORKFLOW_TASK_SCHEDULED
WFT_STARTED = EventType.WORKFLOW_TASK_STARTED
WFT_COMPLETED = EventType.WORKFLOW_TASK_COMPLETED
WFT_FAILED = EventType.WORKFLOW_TASK_FAILED
WFT_TIMED_OUT = EventType.WORKFLOW_TASK_TIMED_OUT
SIGNALED = EventType.WORKFLOW_EXECUTION_SIGNALED
TIMER_STARTED = EventType.TIMER_STARTED
ACTIVITY_SCHEDULED = EventType.ACTIVITY_TASK_SCHEDULED
WF_COMPLETED = EventType.WORKFLOW_EXECUTION_COMPLETED
WF_FAILED = EventType.WORKFLOW_EXECUTION_FAILED
WF_CANCELED = EventType.WORKFLOW_EXECUTION_CANCELED
TERMINATED = EventType.WORKFLOW_EXECUTION_TERMINATED

QUEUE = "orders"


def params(**overrides: Any) -> engine.StartParams:
    values: dict[str, Any] = {
        "workflow_id": "wf-1",
        "run_id": "11111111-1111-4111-8111-111111111111",
        "workflow_type": "OrderProcessingWorkflow",
        "task_queue": QUEUE,
        "request_id": "req-1",
        "identity": "tester",
    }
    values.update(overrides)
    return engine.StartParams(**values)


def types(transition: Transition) -> list[EventType]:
    return [e.event_type for e in transition.events]


def ids(transition: Transition) -> list[int]:
    return [e.event_id for e in transition.events]


def task_of(state: MutableState) -> WorkflowTask:
    assert state.workflow_task is not None
    return state.workflow_task


def command(kind: str, **attrs: Any) -> dict[str, Any]:
    return {"command_type": kind, f"{kind.lower()}_command_attributes": attrs}


def start_timer(timer_id: str = "t1", timeout: str = "5s") -> dict[str, Any]:
    return command("START_TIMER", timer_id=timer_id, start_to_fire_timeout=timeout)


def schedule_activity(activity_id: str = "a1") -> dict[str, Any]:
    return command(
        "SCHEDULE_ACTIVITY_TASK",
        activity_id=activity_id,
        activity_type={"name": "Charge"},
        start_to_close_timeout="10s",
    )


def signal(state: MutableState, name: str = "s", now: datetime = LATER) -> Transition:
    return engine.signal(
        state, signal_name=name, input=None, identity="", header=None, request_id="", now=now
    )


def take(
    state: MutableState,
    now: datetime = NOW,
    identity: str = "worker-1",
    request_id: str = "poll-1",
) -> Transition:
    """A poller picks up the run's pending workflow task."""
    return wt.start(
        state, task_of(state).scheduled_event_id, identity=identity, request_id=request_id, now=now
    )


def finish(
    state: MutableState, cmds: list[dict[str, Any]], now: datetime = LATER, **completion: Any
) -> wt.CompletionResult:
    """Complete the run's started workflow task."""
    task = task_of(state)
    return wt.complete(
        state,
        task.scheduled_event_id,
        task.attempt,
        wt.Completion(cmds, identity=completion.pop("identity", "worker-1"), **completion),
        now,
    )


def fail_current(state: MutableState, now: datetime = LATER, cause: str = "X") -> Transition:
    task = task_of(state)
    return wt.fail(
        state,
        task.scheduled_event_id,
        task.attempt,
        cause=cause,
        failure={"message": "boom"},
        identity="worker-1",
        now=now,
    )


def time_out_current(state: MutableState, now: datetime = LATER) -> Transition:
    task = task_of(state)
    return wt.time_out(state, task.scheduled_event_id, task.attempt, now)


# --- scenarios ----------------------------------------------------------------------


def pending() -> MutableState:
    """1 Started, 2 WorkflowTaskScheduled (pending)."""
    state, _ = engine.start(params(), NOW)
    return state


def started() -> MutableState:
    """1 Started, 2 WorkflowTaskScheduled, 3 WorkflowTaskStarted."""
    state = pending()
    take(state)
    return state


def transient_pending() -> MutableState:
    """Attempt 1 failed (event 4); attempt 2 is transient, scheduled id 5, unwritten."""
    state = started()
    fail_current(state)
    return state


def transient_started() -> MutableState:
    """As transient_pending, and a poller took attempt 2 (started id 6, unwritten)."""
    state = transient_pending()
    take(state, now=LATEST, identity="worker-2", request_id="poll-2")
    return state


def no_task() -> MutableState:
    """The first task completed without commands: no workflow task outstanding."""
    state = started()
    finish(state, [])
    return state


def closed() -> MutableState:
    state = started()
    finish(state, [command("COMPLETE_WORKFLOW_EXECUTION")])
    return state


# --- start --------------------------------------------------------------------------


@pytest.mark.parametrize("task_timeout", [10.0, 2.5])
def test_start_records_started_event_and_timeout_timer(task_timeout: float) -> None:
    state, _ = engine.start(params(workflow_task_timeout=task_timeout), NOW)

    out = wt.start(state, 2, identity="worker-1", request_id="poll-1", now=LATER)

    assert types(out) == [WFT_STARTED]
    assert ids(out) == [3]
    assert out.events[0].event_time == LATER
    assert out.events[0].attributes == {
        "scheduled_event_id": 2,
        "identity": "worker-1",
        "request_id": "poll-1",
    }
    task = task_of(state)
    assert task.started
    assert task.started_event_id == 3
    assert task.started_time == LATER
    assert (task.identity, task.request_id) == ("worker-1", "poll-1")
    assert state.next_event_id == 4
    assert [(t.kind, t.fire_time, t.data) for t in out.timers] == [
        (
            TimerKind.WORKFLOW_TASK_TIMEOUT,
            LATER + timedelta(seconds=task_timeout),
            {"scheduled_event_id": 2, "attempt": 1},
        )
    ]
    assert out.workflow_tasks == []
    assert out.activity_tasks == []


def test_start_omits_empty_identity_and_request_id() -> None:
    state = pending()
    out = wt.start(state, 2, identity="", request_id="", now=NOW)
    assert out.events[0].attributes == {"scheduled_event_id": 2}


@pytest.mark.parametrize(
    ("scenario", "scheduled_event_id"),
    [
        pytest.param(pending, 3, id="wrong-scheduled-id"),
        pytest.param(started, 2, id="already-started"),
        pytest.param(no_task, 2, id="no-task"),
        pytest.param(closed, 2, id="closed-run"),
        pytest.param(transient_pending, 4, id="transient-wrong-id"),
    ],
)
def test_start_stale(scenario: Callable[[], MutableState], scheduled_event_id: int) -> None:
    state = scenario()
    snapshot = state.to_json()
    with pytest.raises(wt.StaleWorkflowTask):
        wt.start(state, scheduled_event_id, identity="w", request_id="r", now=LATER)
    assert state.to_json() == snapshot


# --- complete -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("completion", "expected_attributes"),
    [
        pytest.param(
            {"identity": "worker-1"},
            {"scheduled_event_id": 2, "started_event_id": 3, "identity": "worker-1"},
            id="identity",
        ),
        pytest.param(
            {"identity": ""},
            {"scheduled_event_id": 2, "started_event_id": 3},
            id="empty-values-omitted",
        ),
        pytest.param(
            {
                "identity": "w",
                "binary_checksum": "abc123",
                "sdk_metadata": {"lang_used_flags": [1]},
            },
            {
                "scheduled_event_id": 2,
                "started_event_id": 3,
                "identity": "w",
                "binary_checksum": "abc123",
                "sdk_metadata": {"lang_used_flags": [1]},
            },
            id="checksum-and-sdk-metadata",
        ),
    ],
)
def test_complete_without_commands(
    completion: dict[str, Any], expected_attributes: dict[str, Any]
) -> None:
    state = started()

    result = finish(state, [], **completion)

    out = result.transition
    assert types(out) == [WFT_COMPLETED]
    assert ids(out) == [4]
    assert out.events[0].attributes == expected_attributes
    assert out.events[0].event_time == LATER
    assert result.failed_cause is None
    assert not result.new_task_scheduled
    assert out.workflow_tasks == []
    assert state.workflow_task is None
    assert state.previous_started_event_id == 3
    assert state.next_event_id == 5
    assert state.status is WorkflowStatus.RUNNING


def test_complete_writes_command_events_after_completed_then_flushes_buffer() -> None:
    """Temporal's own example: WFT started at 3, signal arrives, worker starts a timer →
    4 WFTCompleted, 5 TimerStarted, 6 Signaled (flushed), 7 WFTScheduled."""
    state = started()
    signal(state, "payment", now=LATER)
    assert ids(Transition(events=state.buffered_events)) == [0]

    result = finish(state, [start_timer()], now=LATEST)

    out = result.transition
    assert types(out) == [WFT_COMPLETED, TIMER_STARTED, SIGNALED, WFT_SCHEDULED]
    assert ids(out) == [4, 5, 6, 7]
    assert out.events[1].attributes["workflow_task_completed_event_id"] == 4
    assert out.events[2].attributes == {"signal_name": "payment"}
    assert out.events[2].event_time == LATER  # keeps the time it arrived
    assert out.events[3].attributes["attempt"] == 1
    assert state.buffered_events == []
    assert result.new_task_scheduled
    assert out.workflow_tasks == [WorkflowTaskDispatch(QUEUE, 7)]
    assert task_of(state).scheduled_event_id == 7
    assert not task_of(state).transient


@pytest.mark.parametrize(
    ("force", "cmds", "expected_types", "new_task"),
    [
        pytest.param(False, [], [WFT_COMPLETED], False, id="no-force"),
        pytest.param(True, [], [WFT_COMPLETED, WFT_SCHEDULED], True, id="force"),
        pytest.param(
            True,
            [start_timer()],
            [WFT_COMPLETED, TIMER_STARTED, WFT_SCHEDULED],
            True,
            id="force-after-commands",
        ),
        pytest.param(
            True,
            [command("COMPLETE_WORKFLOW_EXECUTION")],
            [WFT_COMPLETED, WF_COMPLETED],
            False,
            id="force-ignored-when-closed",
        ),
    ],
)
def test_force_create_new_workflow_task(
    force: bool, cmds: list[dict[str, Any]], expected_types: list[EventType], new_task: bool
) -> None:
    state = started()

    result = finish(state, cmds, force_create_new_workflow_task=force)

    out = result.transition
    assert types(out) == expected_types
    assert ids(out) == list(range(4, 4 + len(expected_types)))
    assert result.new_task_scheduled is new_task
    if new_task:
        task = task_of(state)
        assert task.scheduled_event_id == ids(out)[-1]
        assert task.attempt == 1
        assert not task.transient
        assert out.workflow_tasks == [WorkflowTaskDispatch(QUEUE, task.scheduled_event_id)]
    else:
        assert state.workflow_task is None
        assert out.workflow_tasks == []


def test_previous_started_event_id_follows_each_completion() -> None:
    state = started()
    assert state.previous_started_event_id == 0

    finish(state, [], force_create_new_workflow_task=True)  # 4 completed, 5 scheduled
    assert state.previous_started_event_id == 3

    take(state, now=LATER)  # 6 started
    assert state.previous_started_event_id == 3
    fail_current(state)  # a failure does not move it
    assert state.previous_started_event_id == 3

    take(state, now=LATEST)  # transient attempt 2: scheduled 8, started 9
    finish(state, [], now=LATEST)
    assert state.previous_started_event_id == 9


@pytest.mark.parametrize(
    ("scenario", "scheduled_event_id", "attempt"),
    [
        pytest.param(started, 3, 1, id="wrong-scheduled-id"),
        pytest.param(started, 2, 2, id="wrong-attempt"),
        pytest.param(pending, 2, 1, id="not-started"),
        pytest.param(no_task, 2, 1, id="already-completed"),
        pytest.param(closed, 2, 1, id="closed-run"),
        pytest.param(transient_started, 5, 1, id="transient-old-attempt"),
        pytest.param(transient_started, 5, 3, id="transient-future-attempt"),
    ],
)
@pytest.mark.parametrize("operation", ["complete", "fail"])
def test_complete_and_fail_stale(
    scenario: Callable[[], MutableState], scheduled_event_id: int, attempt: int, operation: str
) -> None:
    state = scenario()
    snapshot = state.to_json()

    with pytest.raises(wt.StaleWorkflowTask):
        if operation == "complete":
            wt.complete(state, scheduled_event_id, attempt, wt.Completion([]), LATEST)
        else:
            wt.fail(
                state,
                scheduled_event_id,
                attempt,
                cause="X",
                failure=None,
                identity="",
                now=LATEST,
            )

    assert state.to_json() == snapshot


# --- fail ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "identity", "expected_attributes"),
    [
        pytest.param(
            {"message": "nondeterminism"},
            "worker-1",
            {
                "scheduled_event_id": 2,
                "started_event_id": 3,
                "cause": "NON_DETERMINISTIC_ERROR",
                "failure": {"message": "nondeterminism"},
                "identity": "worker-1",
            },
            id="full",
        ),
        pytest.param(
            None,
            "",
            {"scheduled_event_id": 2, "started_event_id": 3, "cause": "NON_DETERMINISTIC_ERROR"},
            id="empty-values-omitted",
        ),
    ],
)
def test_fail_first_attempt_writes_failed_and_schedules_transient_retry(
    failure: dict[str, Any] | None, identity: str, expected_attributes: dict[str, Any]
) -> None:
    state = started()

    out = wt.fail(
        state,
        2,
        1,
        cause="NON_DETERMINISTIC_ERROR",
        failure=failure,
        identity=identity,
        now=LATER,
    )

    assert types(out) == [WFT_FAILED]
    assert ids(out) == [4]
    assert out.events[0].attributes == expected_attributes
    assert out.events[0].event_time == LATER
    task = task_of(state)
    assert (task.scheduled_event_id, task.attempt, task.transient) == (5, 2, True)
    assert not task.started
    assert task.scheduled_time == LATER
    assert state.next_event_id == 5  # the retry's Scheduled event is not written
    assert out.workflow_tasks == [WorkflowTaskDispatch(QUEUE, 5)]
    assert state.previous_started_event_id == 0


def test_fail_with_buffered_events_flushes_them_and_schedules_attempt_one() -> None:
    state = started()
    signal(state, "a")
    signal(state, "b")

    out = fail_current(state, now=LATEST)

    assert types(out) == [WFT_FAILED, SIGNALED, SIGNALED, WFT_SCHEDULED]
    assert ids(out) == [4, 5, 6, 7]
    assert [e.attributes.get("signal_name") for e in out.events[1:3]] == ["a", "b"]
    assert out.events[3].attributes["attempt"] == 1
    task = task_of(state)
    assert (task.scheduled_event_id, task.attempt, task.transient) == (7, 1, False)
    assert state.buffered_events == []
    assert out.workflow_tasks == [WorkflowTaskDispatch(QUEUE, 7)]


# --- time_out -----------------------------------------------------------------------


def test_time_out_writes_timed_out_and_schedules_transient_retry() -> None:
    state = started()

    out = wt.time_out(state, 2, 1, LATEST)

    assert types(out) == [WFT_TIMED_OUT]
    assert ids(out) == [4]
    assert out.events[0].attributes == {
        "scheduled_event_id": 2,
        "started_event_id": 3,
        "timeout_type": "START_TO_CLOSE",
    }
    assert out.events[0].event_time == LATEST
    task = task_of(state)
    assert (task.scheduled_event_id, task.attempt, task.transient) == (5, 2, True)
    assert state.next_event_id == 5
    assert out.workflow_tasks == [WorkflowTaskDispatch(QUEUE, 5)]


def test_time_out_with_buffered_events_flushes_them_and_schedules_attempt_one() -> None:
    state = started()
    signal(state)

    out = time_out_current(state, now=LATEST)

    assert types(out) == [WFT_TIMED_OUT, SIGNALED, WFT_SCHEDULED]
    assert ids(out) == [4, 5, 6]
    assert out.events[2].attributes["attempt"] == 1
    assert (task_of(state).attempt, task_of(state).transient) == (1, False)


@pytest.mark.parametrize(
    ("scenario", "scheduled_event_id", "attempt"),
    [
        pytest.param(started, 2, 2, id="wrong-attempt"),
        pytest.param(started, 3, 1, id="wrong-scheduled-id"),
        pytest.param(pending, 2, 1, id="not-started"),
        pytest.param(no_task, 2, 1, id="already-completed"),
        pytest.param(closed, 2, 1, id="closed-run"),
        pytest.param(transient_started, 2, 1, id="first-attempt-after-retry"),
        pytest.param(transient_started, 5, 1, id="previous-attempt"),
    ],
)
def test_time_out_of_a_task_that_moved_on_is_a_no_op(
    scenario: Callable[[], MutableState], scheduled_event_id: int, attempt: int
) -> None:
    state = scenario()
    snapshot = state.to_json()

    out = wt.time_out(state, scheduled_event_id, attempt, LATEST)

    assert out == Transition()
    assert state.to_json() == snapshot


# --- transient retries --------------------------------------------------------------


@pytest.mark.parametrize("how", ["fail", "time_out"])
def test_only_the_first_of_consecutive_failures_is_written(how: str) -> None:
    state = started()
    written: list[list[EventType]] = []
    for attempt in range(1, 5):
        task = task_of(state)
        assert task.attempt == attempt
        if attempt > 1:
            take(state, now=LATER)
        out = fail_current(state) if how == "fail" else time_out_current(state)
        written.append(types(out))
        # Every retry reuses the next free event id and is dispatched again — at once,
        # except that a worker's repeated failures (attempt 3 on) wait for a backoff.
        if how == "fail" and attempt + 1 >= wt.RETRY_BACKOFF_FROM_ATTEMPT:
            assert out.workflow_tasks == []
            (timer,) = [t for t in out.timers if t.data.get("attempt") == attempt + 1]
            assert timer.data == {"scheduled_event_id": 5, "attempt": attempt + 1}
            assert wt.offer_retry(state, 5, attempt + 1).workflow_tasks == [
                WorkflowTaskDispatch(QUEUE, 5)
            ]
        else:
            assert out.workflow_tasks == [WorkflowTaskDispatch(QUEUE, 5)]

    first = WFT_FAILED if how == "fail" else WFT_TIMED_OUT
    assert written == [[first], [], [], []]
    assert state.next_event_id == 5
    task = task_of(state)
    assert (task.scheduled_event_id, task.attempt, task.transient) == (5, 5, True)


def test_start_of_transient_task_writes_nothing() -> None:
    state = transient_pending()

    out = wt.start(state, 5, identity="worker-2", request_id="poll-2", now=LATEST)

    assert out.events == []
    assert state.next_event_id == 5
    task = task_of(state)
    assert task.started_event_id == 6  # reserved, right after the unwritten Scheduled
    assert task.started_time == LATEST
    assert [(t.kind, t.fire_time, t.data) for t in out.timers] == [
        (
            TimerKind.WORKFLOW_TASK_TIMEOUT,
            LATEST + timedelta(seconds=10),
            {"scheduled_event_id": 5, "attempt": 2},
        )
    ]


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        pytest.param(pending, [], id="normal-pending"),
        pytest.param(started, [], id="normal-started"),
        pytest.param(no_task, [], id="no-task"),
        pytest.param(
            transient_pending,
            [
                (
                    WFT_SCHEDULED,
                    5,
                    LATER,
                    {
                        "task_queue": {"name": QUEUE, "kind": "NORMAL"},
                        "start_to_close_timeout": "10s",
                        "attempt": 2,
                    },
                )
            ],
            id="transient-pending",
        ),
        pytest.param(
            transient_started,
            [
                (
                    WFT_SCHEDULED,
                    5,
                    LATER,
                    {
                        "task_queue": {"name": QUEUE, "kind": "NORMAL"},
                        "start_to_close_timeout": "10s",
                        "attempt": 2,
                    },
                ),
                (
                    WFT_STARTED,
                    6,
                    LATEST,
                    {"scheduled_event_id": 5, "identity": "worker-2", "request_id": "poll-2"},
                ),
            ],
            id="transient-started",
        ),
    ],
)
def test_transient_events(
    scenario: Callable[[], MutableState],
    expected: list[tuple[EventType, int, datetime, dict[str, Any]]],
) -> None:
    state = scenario()
    next_id = state.next_event_id

    events = wt.transient_events(state)

    assert [(e.event_type, e.event_id, e.event_time, e.attributes) for e in events] == expected
    assert state.next_event_id == next_id  # synthetic: nothing is written


def test_completing_a_transient_task_persists_scheduled_and_started_first() -> None:
    state = transient_started()  # scheduled 5, started 6, both unwritten

    result = finish(state, [start_timer()], now=LATEST + timedelta(seconds=1))

    out = result.transition
    assert types(out) == [WFT_SCHEDULED, WFT_STARTED, WFT_COMPLETED, TIMER_STARTED]
    assert ids(out) == [5, 6, 7, 8]
    scheduled, started_event, completed, timer = out.events
    assert scheduled.attributes["attempt"] == 2
    assert scheduled.event_time == LATER
    assert started_event.attributes == {
        "scheduled_event_id": 5,
        "identity": "worker-2",
        "request_id": "poll-2",
    }
    assert started_event.event_time == LATEST
    assert completed.attributes == {
        "scheduled_event_id": 5,
        "started_event_id": 6,
        "identity": "worker-1",
    }
    assert timer.attributes["workflow_task_completed_event_id"] == 7
    assert state.previous_started_event_id == 6
    assert state.workflow_task is None
    assert state.next_event_id == 9
    assert result.failed_cause is None


def test_new_event_while_transient_task_is_scheduled_makes_it_a_normal_task() -> None:
    state = transient_pending()  # transient attempt 2 at id 5, not started

    out = signal(state, "wake", now=LATEST)

    assert types(out) == [SIGNALED, WFT_SCHEDULED]
    assert ids(out) == [5, 6]
    assert out.events[1].attributes["attempt"] == 1
    task = task_of(state)
    assert (task.scheduled_event_id, task.attempt, task.transient) == (6, 1, False)
    assert task.scheduled_time == LATEST
    assert out.workflow_tasks == [WorkflowTaskDispatch(QUEUE, 6)]
    # The dispatched transient attempt is gone: a poller holding it is stale.
    with pytest.raises(wt.StaleWorkflowTask):
        wt.start(state, 5, identity="w", request_id="r", now=LATEST)
    assert types(take(state, now=LATEST)) == [WFT_STARTED]


def test_new_event_while_transient_task_is_started_is_buffered_then_ends_the_retries() -> None:
    state = transient_started()

    assert signal(state, "wake", now=LATEST).events == []
    assert len(state.buffered_events) == 1

    out = fail_current(state, now=LATEST)

    # The transient attempt's failure is not written; the signal is, at the next free id.
    assert types(out) == [SIGNALED, WFT_SCHEDULED]
    assert ids(out) == [5, 6]
    task = task_of(state)
    assert (task.scheduled_event_id, task.attempt, task.transient) == (6, 1, False)


def test_terminate_during_started_transient_task_references_no_unwritten_event() -> None:
    """A transient attempt's Scheduled/Started were never written, so a forced close must
    not write a WorkflowTaskFailed naming them (Temporal's FailWorkflowTask returns no
    event for a transient task)."""
    state = transient_started()  # history ends at 4 WorkflowTaskFailed

    out = engine.terminate(state, reason="stop", details=None, identity="op", now=LATEST)

    assert types(out) == [TERMINATED]
    assert ids(out) == [5]
    assert state.status is WorkflowStatus.TERMINATED


# --- UNHANDLED_COMMAND --------------------------------------------------------------


@pytest.mark.parametrize(
    "close",
    [
        pytest.param(command("COMPLETE_WORKFLOW_EXECUTION", result={"ok": True}), id="complete"),
        pytest.param(command("FAIL_WORKFLOW_EXECUTION", failure={"message": "x"}), id="fail"),
        pytest.param(command("CANCEL_WORKFLOW_EXECUTION"), id="cancel"),
        pytest.param(
            {"command_type": "COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION"}, id="prefixed-complete"
        ),
    ],
)
def test_close_command_with_buffered_events_fails_with_unhandled_command(
    close: dict[str, Any],
) -> None:
    state = started()
    signal(state, "late", now=LATER)

    result = finish(
        state,
        [start_timer(), schedule_activity(), close],
        now=LATEST,
        memo_update={"note": "x"},
    )

    assert result.failed_cause == "UNHANDLED_COMMAND"
    assert result.failure_message
    out = result.transition
    assert types(out) == [WFT_FAILED, SIGNALED, WFT_SCHEDULED]
    assert ids(out) == [4, 5, 6]
    assert out.events[0].attributes == {
        "scheduled_event_id": 2,
        "started_event_id": 3,
        "cause": "UNHANDLED_COMMAND",
        "failure": {"message": result.failure_message, "server_failure_info": {}},
        "identity": "worker-1",
    }
    assert out.events[1].attributes == {"signal_name": "late"}
    assert out.events[2].attributes["attempt"] == 1
    # Nothing of the batch is kept.
    assert state.status is WorkflowStatus.RUNNING
    assert state.close_time is None
    assert state.user_timers == {}
    assert state.activities == {}
    assert out.timers == []
    assert out.activity_tasks == []
    assert out.memo_upsert is None
    assert state.buffered_events == []
    assert state.previous_started_event_id == 0
    task = task_of(state)
    assert (task.scheduled_event_id, task.attempt, task.transient) == (6, 1, False)
    assert result.transition.workflow_tasks == [WorkflowTaskDispatch(QUEUE, 6)]


def test_non_close_commands_with_buffered_events_are_not_unhandled() -> None:
    state = started()
    signal(state)

    result = finish(state, [start_timer()])

    assert result.failed_cause is None
    assert types(result.transition) == [WFT_COMPLETED, TIMER_STARTED, SIGNALED, WFT_SCHEDULED]


# --- bad commands -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "cause"),
    [
        pytest.param(
            command("START_TIMER", start_to_fire_timeout="5s"), "BAD_START_TIMER_ATTRIBUTES"
        ),
        pytest.param(start_timer("t1"), "START_TIMER_DUPLICATE_ID", id="duplicate-timer"),
        pytest.param(command("CANCEL_TIMER", timer_id="nope"), "BAD_CANCEL_TIMER_ATTRIBUTES"),
        pytest.param(
            command("SCHEDULE_ACTIVITY_TASK", activity_id="a2"),
            "BAD_SCHEDULE_ACTIVITY_ATTRIBUTES",
        ),
        pytest.param(schedule_activity("a1"), "SCHEDULE_ACTIVITY_DUPLICATE_ID", id="dup-activity"),
        pytest.param(
            command("REQUEST_CANCEL_ACTIVITY_TASK", scheduled_event_id=99),
            "BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES",
        ),
        pytest.param(command("RECORD_MARKER"), "BAD_RECORD_MARKER_ATTRIBUTES"),
        pytest.param(command("UPSERT_WORKFLOW_SEARCH_ATTRIBUTES"), "BAD_SEARCH_ATTRIBUTES"),
        pytest.param(
            command("MODIFY_WORKFLOW_PROPERTIES"), "BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES"
        ),
        pytest.param(command("FAIL_WORKFLOW_EXECUTION"), "BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES"),
        pytest.param(
            {
                "command_type": "COMPLETE_WORKFLOW_EXECUTION",
                "complete_workflow_execution_command_attributes": "not an object",
            },
            "BAD_COMPLETE_WORKFLOW_EXECUTION_ATTRIBUTES",
            id="attributes-not-an-object",
        ),
    ],
)
def test_bad_command_discards_the_batch_and_fails_the_task(bad: dict[str, Any], cause: str) -> None:
    state = started()

    result = finish(
        state,
        [
            start_timer("t1"),
            schedule_activity("a1"),
            command(
                "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES",
                search_attributes={"indexed_fields": {"CustomKeywordField": "x"}},
            ),
            bad,
        ],
        now=LATEST,
        memo_update={"note": "x"},
    )

    assert result.failed_cause == cause
    assert result.failure_message
    out = result.transition
    assert types(out) == [WFT_FAILED]
    assert ids(out) == [4]
    assert out.events[0].attributes["cause"] == cause
    assert out.events[0].attributes["failure"] == {
        "message": result.failure_message,
        "server_failure_info": {},
    }
    assert out.timers == []
    assert out.activity_tasks == []
    assert out.memo_upsert is None
    assert out.search_attributes_upsert is None
    assert state.user_timers == {}
    assert state.activities == {}
    assert state.status is WorkflowStatus.RUNNING
    assert state.previous_started_event_id == 0
    assert state.next_event_id == 5
    task = task_of(state)
    assert (task.scheduled_event_id, task.attempt, task.transient) == (5, 2, True)
    assert out.workflow_tasks == [WorkflowTaskDispatch(QUEUE, 5)]


def test_bad_command_with_buffered_events_flushes_them() -> None:
    state = started()
    signal(state)

    result = finish(state, [start_timer("t1"), command("CANCEL_TIMER", timer_id="nope")])

    assert result.failed_cause == "BAD_CANCEL_TIMER_ATTRIBUTES"
    assert types(result.transition) == [WFT_FAILED, SIGNALED, WFT_SCHEDULED]
    assert ids(result.transition) == [4, 5, 6]
    assert state.user_timers == {}
    assert (task_of(state).attempt, task_of(state).transient) == (1, False)


def test_invalid_command_sequence_is_rejected_without_touching_the_run() -> None:
    state = started()
    signal(state)
    snapshot = state.to_json()

    with pytest.raises(commands.InvalidCommandSequence):
        finish(state, [command("COMPLETE_WORKFLOW_EXECUTION"), start_timer()])

    assert state.to_json() == snapshot
    assert task_of(state).started
