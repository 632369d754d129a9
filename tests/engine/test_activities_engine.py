"""Pure tests of activities (app.engine.activities): start, heartbeat, outcomes, server
side retries with their backoff, the four timeouts, cancellation and stale tokens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.engine import activities
from app.engine import workflow as engine
from app.engine import workflow_tasks as wt
from app.engine.events import EventType
from app.engine.state import (
    ActivityInfo,
    ActivityTaskDispatch,
    MutableState,
    TimerKind,
    TimerToSet,
    Transition,
    WorkflowTaskDispatch,
)

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)

QUEUE = "orders"
ACT = 5  # the ActivityTaskScheduled event of the activity under test

WFT_SCHEDULED = EventType.WORKFLOW_TASK_SCHEDULED
WFT_COMPLETED = EventType.WORKFLOW_TASK_COMPLETED
WFT_FAILED = EventType.WORKFLOW_TASK_FAILED
STARTED = EventType.ACTIVITY_TASK_STARTED
COMPLETED = EventType.ACTIVITY_TASK_COMPLETED
FAILED = EventType.ACTIVITY_TASK_FAILED
TIMED_OUT = EventType.ACTIVITY_TASK_TIMED_OUT
CANCELED = EventType.ACTIVITY_TASK_CANCELED
CANCEL_REQUESTED = EventType.ACTIVITY_TASK_CANCEL_REQUESTED

STC = TimerKind.ACTIVITY_START_TO_CLOSE
HEARTBEAT = TimerKind.ACTIVITY_HEARTBEAT
S2S = TimerKind.ACTIVITY_SCHEDULE_TO_START
S2C = TimerKind.ACTIVITY_SCHEDULE_TO_CLOSE
RETRY = TimerKind.ACTIVITY_RETRY

DEFAULT_RETRY = {"initial_interval": "1s", "backoff_coefficient": 2.0, "maximum_interval": "100s"}
NO_RETRY = {"maximum_attempts": 1}


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def types(transition: Transition) -> list[EventType]:
    return [e.event_type for e in transition.events]


def ids(transition: Transition) -> list[int]:
    return [e.event_id for e in transition.events]


def app_failure(message: str = "boom", **info: Any) -> dict[str, Any]:
    failure: dict[str, Any] = {"message": message, "source": "PythonSDK"}
    if info:
        failure["application_failure_info"] = info
    return failure


def timeout_failure(timeout_type: str) -> dict[str, Any]:
    return {"message": "t", "timeout_failure_info": {"timeout_type": timeout_type}}


def server_timeout(timeout_type: str, message: str) -> dict[str, Any]:
    return {
        "message": f"activity {message} timeout",
        "source": "Server",
        "timeout_failure_info": {"timeout_type": timeout_type},
    }


# --- scenarios ----------------------------------------------------------------------


def scheduled(run_timeout: float = 0.0, **attrs: Any) -> MutableState:
    """A run whose first workflow task scheduled one activity: 1 Started, 2-4 the
    workflow task, 5 ActivityTaskScheduled (at NOW). No workflow task is outstanding."""
    values: dict[str, Any] = {
        "activity_id": "charge-1",
        "activity_type": {"name": "Charge"},
        "start_to_close_timeout": "10s",
    }
    values.update(attrs)
    state, _ = engine.start(
        engine.StartParams(
            workflow_id="wf-1",
            run_id="11111111-1111-4111-8111-111111111111",
            workflow_type="OrderProcessingWorkflow",
            task_queue=QUEUE,
            request_id="req-1",
            run_timeout=run_timeout,
        ),
        NOW,
    )
    wt.start(state, 2, identity="wf-worker", request_id="wp", now=NOW)
    command = {
        "command_type": "SCHEDULE_ACTIVITY_TASK",
        "schedule_activity_task_command_attributes": {
            k: v for k, v in values.items() if v is not None
        },
    }
    result = wt.complete(state, 2, 1, wt.Completion([command]), NOW)
    assert result.failed_cause is None, result.failure_message
    assert state.next_event_id == 6
    assert state.workflow_task is None
    return state


def running(start_at: float = 1.0, **attrs: Any) -> MutableState:
    """As scheduled; a worker took attempt 1 at NOW + start_at."""
    state = scheduled(**attrs)
    activities.start(state, ACT, identity="act-worker", request_id="act-poll", now=at(start_at))
    return state


def info_of(state: MutableState) -> ActivityInfo:
    return state.activities[str(ACT)]


def retried(start_at: float = 1.0, fail_at: float = 2.0, **attrs: Any) -> MutableState:
    """Attempt 1 failed at NOW + fail_at; attempt 2 waits for its backoff."""
    state = running(start_at, **attrs)
    out = activities.fail(state, ACT, 1, app_failure("first"), "act-worker", None, at(fail_at))
    assert out.events == []
    assert info_of(state).attempt == 2
    return state


def workflow_task_started(state: MutableState, now: datetime) -> None:
    engine.schedule_workflow_task(state, Transition(), now)
    assert state.workflow_task is not None
    wt.start(
        state, state.workflow_task.scheduled_event_id, identity="wf-worker", request_id="", now=now
    )


def request_cancel(state: MutableState, now: datetime) -> int:
    """The workflow asks to cancel the activity; returns the CancelRequested event id."""
    workflow_task_started(state, now)
    assert state.workflow_task is not None
    command = {
        "command_type": "REQUEST_CANCEL_ACTIVITY_TASK",
        "request_cancel_activity_task_command_attributes": {"scheduled_event_id": ACT},
    }
    result = wt.complete(
        state, state.workflow_task.scheduled_event_id, 1, wt.Completion([command]), now
    )
    assert result.failed_cause is None
    requested = [e for e in result.transition.events if e.event_type is CANCEL_REQUESTED]
    return requested[0].event_id


# --- start --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attrs", "expected_timers"),
    [
        pytest.param({}, [(STC, 10)], id="start-to-close"),
        pytest.param({"heartbeat_timeout": "3s"}, [(STC, 10), (HEARTBEAT, 3)], id="heartbeat"),
        pytest.param(
            {"start_to_close_timeout": None, "schedule_to_close_timeout": "30s"},
            [(STC, 30)],
            id="start-to-close-from-schedule-to-close",
        ),
    ],
)
def test_start_writes_nothing_and_sets_attempt_timers(
    attrs: dict[str, Any], expected_timers: list[tuple[TimerKind, float]]
) -> None:
    state = scheduled(**attrs)
    next_id = state.next_event_id

    info, out = activities.start(
        state, ACT, identity="act-worker", request_id="act-poll", now=at(1)
    )

    assert out.events == []
    assert out.workflow_tasks == []
    assert out.activity_tasks == []
    assert out.timers == [
        TimerToSet(kind, at(1 + seconds), {"scheduled_event_id": ACT, "attempt": 1})
        for kind, seconds in expected_timers
    ]
    assert info is info_of(state)
    assert info.started
    assert info.started_time == at(1)
    assert (info.started_identity, info.request_id) == ("act-worker", "act-poll")
    assert info.last_heartbeat_time is None
    assert state.next_event_id == next_id


@pytest.mark.parametrize(
    ("scenario", "scheduled_event_id"),
    [
        pytest.param(running, ACT, id="already-started"),
        pytest.param(scheduled, 4, id="not-an-activity"),
        pytest.param(scheduled, 99, id="unknown"),
    ],
)
def test_start_stale(scenario: Callable[[], MutableState], scheduled_event_id: int) -> None:
    state = scenario()
    snapshot = state.to_json()
    with pytest.raises(activities.StaleActivityTask):
        activities.start(state, scheduled_event_id, identity="w", request_id="r", now=at(3))
    assert state.to_json() == snapshot


def test_start_on_closed_run_is_stale() -> None:
    state = scheduled()
    engine.terminate(state, reason="", details=None, identity="", now=at(1))
    with pytest.raises(activities.StaleActivityTask):
        activities.start(state, ACT, identity="w", request_id="r", now=at(2))


# --- give back ----------------------------------------------------------------------


def test_give_back_queues_the_attempt_again_as_never_started() -> None:
    state = running()
    next_id = state.next_event_id

    out = activities.give_back(state, ACT, 1, at(2))

    info = info_of(state)
    assert not info.started and info.attempt == 1
    assert (info.started_identity, info.request_id) == ("", "")
    assert out.events == [] and out.timers == []
    assert [(t.task_queue, t.scheduled_event_id) for t in out.activity_tasks] == [
        (info.task_queue, ACT)
    ]
    assert state.next_event_id == next_id


@pytest.mark.parametrize(
    ("scenario", "attempt"),
    [pytest.param(scheduled, 1, id="not-started"), pytest.param(running, 2, id="other-attempt")],
)
def test_give_back_stale(scenario: Callable[[], MutableState], attempt: int) -> None:
    state = scenario()
    with pytest.raises(activities.StaleActivityTask):
        activities.give_back(state, ACT, attempt, at(2))


def test_the_first_starts_timer_does_not_end_an_attempt_started_again() -> None:
    state = running()  # started at 1 s, start-to-close 10 s
    activities.give_back(state, ACT, 1, at(2))
    activities.start(state, ACT, identity="w2", request_id="r2", now=at(5))

    assert activities.time_out(state, STC, ACT, 1, at(11)) == Transition()
    assert info_of(state).started and info_of(state).attempt == 1
    retried = activities.time_out(state, STC, ACT, 1, at(15))
    assert [t.kind for t in retried.timers] == [TimerKind.ACTIVITY_RETRY]


# --- heartbeat ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heartbeat_timeout", "details", "expected_timers"),
    [
        pytest.param("5s", {"progress": 3}, [(HEARTBEAT, 4 + 5)], id="details"),
        pytest.param("5s", None, [(HEARTBEAT, 4 + 5)], id="no-details-keeps-previous"),
        pytest.param(None, {"progress": 3}, [], id="no-heartbeat-timeout"),
    ],
)
def test_heartbeat(
    heartbeat_timeout: str | None,
    details: dict[str, Any] | None,
    expected_timers: list[tuple[TimerKind, float]],
) -> None:
    state = running(heartbeat_timeout=heartbeat_timeout)
    info_of(state).heartbeat_details = {"progress": 1}

    cancel_requested, out = activities.heartbeat(state, ACT, 1, details, at(4))

    assert cancel_requested is False
    assert out.events == []
    assert out.timers == [
        TimerToSet(kind, at(seconds), {"scheduled_event_id": ACT, "attempt": 1})
        for kind, seconds in expected_timers
    ]
    info = info_of(state)
    assert info.heartbeat_details == (details if details is not None else {"progress": 1})
    assert info.last_heartbeat_time == at(4)


@pytest.mark.parametrize(
    ("scenario", "attempt"),
    [
        pytest.param(running, 2, id="wrong-attempt"),
        pytest.param(scheduled, 1, id="not-started"),
        pytest.param(retried, 2, id="retry-not-started"),
        pytest.param(retried, 1, id="previous-attempt"),
    ],
)
@pytest.mark.parametrize("operation", ["heartbeat", "complete", "fail", "canceled"])
def test_stale_activity_task(
    scenario: Callable[[], MutableState], attempt: int, operation: str
) -> None:
    state = scenario()
    snapshot = state.to_json()

    with pytest.raises(activities.StaleActivityTask):
        if operation == "heartbeat":
            activities.heartbeat(state, ACT, attempt, None, at(5))
        elif operation == "complete":
            activities.complete(state, ACT, attempt, None, "w", at(5))
        elif operation == "fail":
            activities.fail(state, ACT, attempt, app_failure(), "w", None, at(5))
        else:
            activities.canceled(state, ACT, attempt, None, "w", at(5))

    assert state.to_json() == snapshot


@pytest.mark.parametrize("operation", ["heartbeat", "complete"])
def test_activity_task_after_outcome_or_close_is_stale(operation: str) -> None:
    finished = running()
    activities.complete(finished, ACT, 1, None, "w", at(2))
    closed = running()
    engine.terminate(closed, reason="", details=None, identity="", now=at(2))

    for state in (finished, closed):
        with pytest.raises(activities.StaleActivityTask):
            if operation == "heartbeat":
                activities.heartbeat(state, ACT, 1, None, at(3))
            else:
                activities.complete(state, ACT, 1, None, "w", at(3))


# --- outcomes -----------------------------------------------------------------------


def _complete(state: MutableState, now: datetime) -> Transition:
    return activities.complete(state, ACT, 1, {"payloads": ["ok"]}, "", now)


def _fail(state: MutableState, now: datetime) -> Transition:
    return activities.fail(state, ACT, 1, app_failure("bad"), "", None, now)


def _start_to_close(state: MutableState, now: datetime) -> Transition:
    return activities.time_out(state, STC, ACT, 1, now)


def _schedule_to_close(state: MutableState, now: datetime) -> Transition:
    return activities.time_out(state, S2C, ACT, 1, now)


OUTCOMES: dict[str, tuple[Callable[[MutableState, datetime], Transition], EventType]] = {
    "completed": (_complete, COMPLETED),
    "failed": (_fail, FAILED),
    "start-to-close": (_start_to_close, TIMED_OUT),
    "schedule-to-close": (_schedule_to_close, TIMED_OUT),
}


def no_workflow_task(state: MutableState) -> None:
    pass


def workflow_task_pending(state: MutableState) -> None:
    engine.schedule_workflow_task(state, Transition(), at(1))


def transient_workflow_task_pending(state: MutableState) -> None:
    workflow_task_started(state, at(1))
    assert state.workflow_task is not None
    wt.fail(state, 6, 1, cause="X", failure=None, identity="", now=at(1))
    assert state.workflow_task is not None and state.workflow_task.transient


@pytest.mark.parametrize("outcome", sorted(OUTCOMES))
@pytest.mark.parametrize(
    ("situation", "new_task"),
    [
        pytest.param(no_workflow_task, True, id="no-workflow-task"),
        pytest.param(workflow_task_pending, False, id="workflow-task-pending"),
        pytest.param(transient_workflow_task_pending, True, id="transient-task-pending"),
    ],
)
def test_final_outcome_writes_started_then_outcome(
    outcome: str, situation: Callable[[MutableState], None], new_task: bool
) -> None:
    state = running(start_at=1.0, retry_policy=NO_RETRY, schedule_to_close_timeout="20s")
    situation(state)
    first = state.next_event_id
    act, outcome_type = OUTCOMES[outcome]

    out = act(state, at(20))

    expected = [STARTED, outcome_type] + ([WFT_SCHEDULED] if new_task else [])
    assert types(out) == expected
    assert ids(out) == list(range(first, first + len(expected)))
    started, result = out.events[0], out.events[1]
    assert started.event_time == at(1)  # when the attempt started
    assert started.attributes == {
        "scheduled_event_id": ACT,
        "identity": "act-worker",
        "request_id": "act-poll",
        "attempt": 1,
    }
    assert result.event_time == at(20)
    assert result.attributes["scheduled_event_id"] == ACT
    assert result.attributes["started_event_id"] == started.event_id
    assert state.activities == {}
    if new_task:
        assert state.workflow_task is not None
        assert state.workflow_task.attempt == 1
        assert not state.workflow_task.transient
        assert out.events[2].attributes["attempt"] == 1
        assert out.workflow_tasks == [WorkflowTaskDispatch(QUEUE, first + 2)]
    else:
        assert out.workflow_tasks == []


@pytest.mark.parametrize("outcome", sorted(OUTCOMES))
@pytest.mark.parametrize("flush", ["complete", "fail"])
def test_outcome_during_started_workflow_task_is_buffered_and_wired_when_flushed(
    outcome: str, flush: str
) -> None:
    state = running(start_at=1.0, retry_policy=NO_RETRY, schedule_to_close_timeout="20s")
    workflow_task_started(state, at(2))  # 6 WFTScheduled, 7 WFTStarted
    act, outcome_type = OUTCOMES[outcome]

    out = act(state, at(20))

    assert out.events == []
    assert out.workflow_tasks == []
    assert [e.event_type for e in state.buffered_events] == [STARTED, outcome_type]
    assert [e.event_id for e in state.buffered_events] == [0, 0]
    assert state.activities == {}
    assert state.next_event_id == 8

    if flush == "complete":
        flushed = wt.complete(state, 6, 1, wt.Completion([]), at(21)).transition
        head = WFT_COMPLETED
    else:
        flushed = wt.fail(state, 6, 1, cause="X", failure=None, identity="", now=at(21))
        head = WFT_FAILED

    assert types(flushed) == [head, STARTED, outcome_type, WFT_SCHEDULED]
    assert ids(flushed) == [8, 9, 10, 11]
    started, result = flushed.events[1], flushed.events[2]
    assert started.attributes["scheduled_event_id"] == ACT
    assert started.event_time == at(1)
    assert result.attributes["started_event_id"] == 9
    assert result.attributes["scheduled_event_id"] == ACT
    assert result.event_time == at(20)
    assert flushed.events[3].attributes["attempt"] == 1
    assert state.buffered_events == []


@pytest.mark.parametrize(
    ("identity", "expected_identity"),
    [("", "act-worker"), ("other-worker", "other-worker")],
)
def test_complete(identity: str, expected_identity: str) -> None:
    state = running()

    out = activities.complete(state, ACT, 1, {"payloads": ["r"]}, identity, at(3))

    assert types(out) == [STARTED, COMPLETED, WFT_SCHEDULED]
    assert ids(out) == [6, 7, 8]
    assert out.events[1].attributes == {
        "scheduled_event_id": ACT,
        "started_event_id": 6,
        "result": {"payloads": ["r"]},
        "identity": expected_identity,
    }


def test_complete_without_result_omits_it() -> None:
    state = running()
    out = activities.complete(state, ACT, 1, None, "", at(3))
    assert "result" not in out.events[1].attributes


# --- retry_delay --------------------------------------------------------------------


def info(
    attempt: int = 1,
    policy: dict[str, Any] | None = None,
    schedule_to_close: float = 0.0,
    cancel_requested_event_id: int = 0,
) -> ActivityInfo:
    return ActivityInfo(
        scheduled_event_id=ACT,
        activity_id="a",
        activity_type="A",
        task_queue=QUEUE,
        schedule_to_close_timeout=schedule_to_close,
        schedule_to_start_timeout=0.0,
        start_to_close_timeout=10.0,
        heartbeat_timeout=0.0,
        retry_policy=DEFAULT_RETRY if policy is None else policy,
        scheduled_time=NOW,
        attempt_scheduled_time=NOW,
        attempt=attempt,
        cancel_requested_event_id=cancel_requested_event_id,
    )


def policy(**fields: Any) -> dict[str, Any]:
    return {**DEFAULT_RETRY, **fields}


@pytest.mark.parametrize(
    ("activity", "failure", "now", "expected"),
    [
        # backoff: initial x coefficient^(attempt-1), capped at maximum_interval
        pytest.param(info(1), app_failure(), NOW, (1.0, "IN_PROGRESS"), id="default-attempt-1"),
        pytest.param(info(2), app_failure(), NOW, (2.0, "IN_PROGRESS"), id="default-attempt-2"),
        pytest.param(info(3), app_failure(), NOW, (4.0, "IN_PROGRESS"), id="default-attempt-3"),
        pytest.param(info(7), app_failure(), NOW, (64.0, "IN_PROGRESS"), id="default-attempt-7"),
        pytest.param(info(8), app_failure(), NOW, (100.0, "IN_PROGRESS"), id="default-capped"),
        pytest.param(
            info(3, policy(initial_interval="2s", backoff_coefficient=3.0)),
            app_failure(),
            NOW,
            (18.0, "IN_PROGRESS"),
            id="initial-2-coefficient-3",
        ),
        pytest.param(
            info(3, policy(initial_interval="0.5s", backoff_coefficient=1.5)),
            app_failure(),
            NOW,
            (1.125, "IN_PROGRESS"),
            id="fractional",
        ),
        pytest.param(
            info(6, policy(initial_interval="5s", backoff_coefficient=1.0)),
            app_failure(),
            NOW,
            (5.0, "IN_PROGRESS"),
            id="constant",
        ),
        pytest.param(
            info(5, policy(maximum_interval="10s")),
            app_failure(),
            NOW,
            (10.0, "IN_PROGRESS"),
            id="maximum-interval",
        ),
        pytest.param(info(9, {}), app_failure(), NOW, (100.0, "IN_PROGRESS"), id="empty-policy"),
        # maximum_attempts
        pytest.param(
            info(2, policy(maximum_attempts=3)),
            app_failure(),
            NOW,
            (2.0, "IN_PROGRESS"),
            id="attempts-left",
        ),
        pytest.param(
            info(3, policy(maximum_attempts=3)),
            app_failure(),
            NOW,
            (None, "MAXIMUM_ATTEMPTS_REACHED"),
            id="attempts-used-up",
        ),
        pytest.param(
            info(1, policy(maximum_attempts=1)),
            app_failure(),
            NOW,
            (None, "MAXIMUM_ATTEMPTS_REACHED"),
            id="maximum-attempts-1",
        ),
        # non-retryable
        pytest.param(
            info(1),
            app_failure(type="E", non_retryable=True),
            NOW,
            (None, "NON_RETRYABLE_FAILURE"),
            id="non-retryable-flag",
        ),
        pytest.param(
            info(3, policy(maximum_attempts=3)),
            app_failure(non_retryable=True),
            NOW,
            (None, "NON_RETRYABLE_FAILURE"),
            id="non-retryable-before-attempts",
        ),
        pytest.param(
            info(1, policy(non_retryable_error_types=["CardDeclined", "Fraud"])),
            app_failure(type="CardDeclined"),
            NOW,
            (None, "NON_RETRYABLE_FAILURE"),
            id="listed-type",
        ),
        pytest.param(
            info(1, policy(non_retryable_error_types=["CardDeclined"])),
            app_failure(type="CardDeclinedError"),
            NOW,
            (1.0, "IN_PROGRESS"),
            id="listed-type-is-exact-not-prefix",
        ),
        pytest.param(
            info(1, policy(non_retryable_error_types=["CardDeclinedError"])),
            app_failure(type="CardDeclined"),
            NOW,
            (1.0, "IN_PROGRESS"),
            id="listed-type-is-exact-not-substring",
        ),
        pytest.param(
            info(1, policy(non_retryable_error_types=["CardDeclined"])),
            app_failure(type="carddeclined"),
            NOW,
            (1.0, "IN_PROGRESS"),
            id="listed-type-is-case-sensitive",
        ),
        pytest.param(
            info(1, policy(non_retryable_error_types=["CardDeclined"])),
            app_failure(),
            NOW,
            (1.0, "IN_PROGRESS"),
            id="untyped-failure",
        ),
        pytest.param(
            info(1, policy(non_retryable_error_types=[""])),
            app_failure(type=""),
            NOW,
            (1.0, "IN_PROGRESS"),
            id="empty-type",
        ),
        # timeouts
        pytest.param(
            info(1), timeout_failure("START_TO_CLOSE"), NOW, (1.0, "IN_PROGRESS"), id="stc"
        ),
        pytest.param(
            info(1), timeout_failure("HEARTBEAT"), NOW, (1.0, "IN_PROGRESS"), id="heartbeat"
        ),
        pytest.param(
            info(1),
            timeout_failure("SCHEDULE_TO_START"),
            NOW,
            (None, "NON_RETRYABLE_FAILURE"),
            id="s2s",
        ),
        pytest.param(
            info(1),
            timeout_failure("SCHEDULE_TO_CLOSE"),
            NOW,
            (None, "NON_RETRYABLE_FAILURE"),
            id="s2c",
        ),
        pytest.param(
            info(1, policy(non_retryable_error_types=["TemporalTimeout:StartToClose"])),
            timeout_failure("START_TO_CLOSE"),
            NOW,
            (None, "NON_RETRYABLE_FAILURE"),
            id="stc-listed",
        ),
        pytest.param(
            info(1, policy(non_retryable_error_types=["TemporalTimeout:Heartbeat"])),
            timeout_failure("HEARTBEAT"),
            NOW,
            (None, "NON_RETRYABLE_FAILURE"),
            id="heartbeat-listed",
        ),
        pytest.param(
            info(1, policy(non_retryable_error_types=["TemporalTimeout:Heartbeat"])),
            timeout_failure("START_TO_CLOSE"),
            NOW,
            (1.0, "IN_PROGRESS"),
            id="other-timeout-listed",
        ),
        # next_retry_delay overrides the computed interval and the maximum
        pytest.param(
            info(1),
            app_failure(next_retry_delay="30s"),
            NOW,
            (30.0, "IN_PROGRESS"),
            id="next-retry-delay",
        ),
        pytest.param(
            info(4, policy(maximum_interval="10s")),
            app_failure(next_retry_delay="0.5s"),
            NOW,
            (0.5, "IN_PROGRESS"),
            id="next-retry-delay-shorter",
        ),
        pytest.param(
            info(1, policy(maximum_interval="10s")),
            app_failure(next_retry_delay="500s"),
            NOW,
            (500.0, "IN_PROGRESS"),
            id="next-retry-delay-over-maximum",
        ),
        pytest.param(
            info(2, policy(maximum_attempts=2)),
            app_failure(next_retry_delay="5s"),
            NOW,
            (None, "MAXIMUM_ATTEMPTS_REACHED"),
            id="next-retry-delay-attempts-used-up",
        ),
        pytest.param(
            info(1),
            app_failure(next_retry_delay="30s", non_retryable=True),
            NOW,
            (None, "NON_RETRYABLE_FAILURE"),
            id="next-retry-delay-non-retryable",
        ),
        # schedule-to-close bounds all attempts
        pytest.param(
            info(1, schedule_to_close=10.0),
            app_failure(),
            at(5),
            (1.0, "IN_PROGRESS"),
            id="s2c-time-left",
        ),
        pytest.param(
            info(1, schedule_to_close=10.0),
            app_failure(),
            at(9.5),
            (None, "TIMEOUT"),
            id="s2c-no-time-left",
        ),
        pytest.param(
            info(4, schedule_to_close=10.0),
            app_failure(),
            at(3),
            (None, "TIMEOUT"),
            id="s2c-backoff-too-long",
        ),
        pytest.param(
            info(1, schedule_to_close=10.0),
            app_failure(next_retry_delay="20s"),
            at(1),
            (None, "TIMEOUT"),
            id="s2c-next-retry-delay-too-long",
        ),
        # cancellation
        pytest.param(
            info(1, cancel_requested_event_id=9),
            app_failure(),
            NOW,
            (None, "CANCEL_REQUESTED"),
            id="cancel-requested",
        ),
        pytest.param(
            info(1, cancel_requested_event_id=9),
            app_failure(non_retryable=True),
            NOW,
            (None, "CANCEL_REQUESTED"),
            id="cancel-requested-first",
        ),
    ],
)
def test_retry_delay(
    activity: ActivityInfo,
    failure: dict[str, Any],
    now: datetime,
    expected: tuple[float | None, str],
) -> None:
    assert activities.retry_delay(activity, failure, now) == expected


# --- fail and retries ---------------------------------------------------------------


def test_retryable_failure_writes_nothing_and_sets_retry_timer() -> None:
    state = running(heartbeat_timeout="3s")
    failure = app_failure("flaky", type="Transient")

    out = activities.fail(state, ACT, 1, failure, "act-worker", {"progress": 7}, at(2))

    assert out.events == []
    assert out.workflow_tasks == []
    assert out.activity_tasks == []
    assert out.timers == [TimerToSet(RETRY, at(3), {"scheduled_event_id": ACT, "attempt": 2})]
    info = info_of(state)
    assert info.attempt == 2
    assert info.last_failure == failure
    assert not info.started
    assert (info.started_identity, info.request_id) == ("", "")
    assert info.heartbeat_details == {"progress": 7}
    assert state.next_event_id == 6
    assert state.workflow_task is None


@pytest.mark.parametrize(
    ("retry_policy", "failure", "retry_state"),
    [
        pytest.param(NO_RETRY, app_failure(), "MAXIMUM_ATTEMPTS_REACHED", id="maximum-attempts"),
        pytest.param(
            None, app_failure(non_retryable=True), "NON_RETRYABLE_FAILURE", id="non-retryable"
        ),
        pytest.param(
            {"non_retryable_error_types": ["CardDeclined"]},
            app_failure(type="CardDeclined"),
            "NON_RETRYABLE_FAILURE",
            id="listed-type",
        ),
    ],
)
@pytest.mark.parametrize(("identity", "expected_identity"), [("", "act-worker"), ("w2", "w2")])
def test_final_failure(
    retry_policy: dict[str, Any] | None,
    failure: dict[str, Any],
    retry_state: str,
    identity: str,
    expected_identity: str,
) -> None:
    state = running(retry_policy=retry_policy)

    out = activities.fail(state, ACT, 1, failure, identity, None, at(2))

    assert types(out) == [STARTED, FAILED, WFT_SCHEDULED]
    assert ids(out) == [6, 7, 8]
    assert out.events[0].attributes == {
        "scheduled_event_id": ACT,
        "identity": "act-worker",
        "request_id": "act-poll",
        "attempt": 1,
    }
    assert out.events[1].attributes == {
        "scheduled_event_id": ACT,
        "started_event_id": 6,
        "failure": failure,
        "identity": expected_identity,
        "retry_state": retry_state,
    }
    assert out.timers == []
    assert state.activities == {}


def test_retries_until_maximum_attempts_then_writes_the_last_attempt() -> None:
    state = running(start_at=1.0, retry_policy={"maximum_attempts": 3})
    failures = [app_failure(f"failure {n}") for n in (1, 2, 3)]

    # attempt 1 fails at 2s: retry after 1s
    out = activities.fail(state, ACT, 1, failures[0], "", None, at(2))
    assert out.timers == [TimerToSet(RETRY, at(3), {"scheduled_event_id": ACT, "attempt": 2})]
    due = activities.retry_due(state, ACT, 2, at(3))
    assert due.activity_tasks == [ActivityTaskDispatch(QUEUE, ACT)]
    assert due.events == []
    activities.start(state, ACT, identity="w-2", request_id="p-2", now=at(4))

    # attempt 2 fails at 5s: retry after 2s
    out = activities.fail(state, ACT, 2, failures[1], "", None, at(5))
    assert out.events == []
    assert out.timers == [TimerToSet(RETRY, at(7), {"scheduled_event_id": ACT, "attempt": 3})]
    activities.retry_due(state, ACT, 3, at(7))
    activities.start(state, ACT, identity="w-3", request_id="p-3", now=at(8))

    # attempt 3 fails: no attempts left
    out = activities.fail(state, ACT, 3, failures[2], "", None, at(9))

    assert types(out) == [STARTED, FAILED, WFT_SCHEDULED]
    assert ids(out) == [6, 7, 8]
    assert out.events[0].event_time == at(8)
    assert out.events[0].attributes == {
        "scheduled_event_id": ACT,
        "identity": "w-3",
        "request_id": "p-3",
        "attempt": 3,
        "last_failure": failures[1],
    }
    assert out.events[1].attributes == {
        "scheduled_event_id": ACT,
        "started_event_id": 6,
        "failure": failures[2],
        "identity": "w-3",
        "retry_state": "MAXIMUM_ATTEMPTS_REACHED",
    }


def test_completion_after_retries_reports_the_attempt_and_last_failure() -> None:
    state = retried()
    activities.retry_due(state, ACT, 2, at(3))
    activities.start(state, ACT, identity="w-2", request_id="p-2", now=at(4))

    out = activities.complete(state, ACT, 2, None, "", at(5))

    assert types(out) == [STARTED, COMPLETED, WFT_SCHEDULED]
    assert out.events[0].attributes["attempt"] == 2
    assert out.events[0].attributes["last_failure"] == app_failure("first")
    assert out.events[1].attributes["started_event_id"] == out.events[0].event_id


def test_failure_past_schedule_to_close_ends_retries_with_timeout() -> None:
    state = running(start_at=1.0, schedule_to_close_timeout="10s", start_to_close_timeout="5s")

    out = activities.fail(state, ACT, 1, app_failure(), "", None, at(9.5))

    assert types(out) == [STARTED, FAILED, WFT_SCHEDULED]
    assert out.events[1].attributes["retry_state"] == "TIMEOUT"


def test_cancel_requested_failure_is_not_retried() -> None:
    state = running()
    requested = request_cancel(state, at(2))  # 6-8 the workflow task, 9 CancelRequested
    assert requested == 9

    out = activities.fail(state, ACT, 1, app_failure(), "", None, at(3))

    assert types(out) == [STARTED, FAILED, WFT_SCHEDULED]
    assert ids(out) == [10, 11, 12]
    assert out.events[1].attributes["retry_state"] == "CANCEL_REQUESTED"


# --- retry_due ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule_to_start", "expected_timers"),
    [
        pytest.param(None, [], id="no-schedule-to-start"),
        pytest.param(
            "4s",
            [TimerToSet(S2S, at(7), {"scheduled_event_id": ACT, "attempt": 2})],
            id="schedule-to-start-per-attempt",
        ),
    ],
)
def test_retry_due_dispatches_the_next_attempt(
    schedule_to_start: str | None, expected_timers: list[TimerToSet]
) -> None:
    state = retried(schedule_to_start_timeout=schedule_to_start)

    out = activities.retry_due(state, ACT, 2, at(3))

    assert out.events == []
    assert out.workflow_tasks == []
    assert out.activity_tasks == [ActivityTaskDispatch(QUEUE, ACT)]
    assert out.timers == expected_timers
    info = info_of(state)
    assert info.attempt_scheduled_time == at(3)
    assert info.scheduled_time == NOW  # the first schedule, for schedule-to-close


def _retry_started(state: MutableState) -> None:
    activities.retry_due(state, ACT, 2, at(3))
    activities.start(state, ACT, identity="w", request_id="r", now=at(4))


def _completed(state: MutableState) -> None:
    _retry_started(state)
    activities.complete(state, ACT, 2, None, "", at(5))


def _closed(state: MutableState) -> None:
    engine.terminate(state, reason="", details=None, identity="", now=at(3))


@pytest.mark.parametrize(
    ("setup", "attempt"),
    [
        pytest.param(lambda s: None, 1, id="previous-attempt"),
        pytest.param(lambda s: None, 3, id="future-attempt"),
        pytest.param(_retry_started, 2, id="already-started"),
        pytest.param(_completed, 2, id="activity-closed"),
        pytest.param(_closed, 2, id="run-closed"),
    ],
)
def test_retry_due_that_no_longer_applies_is_a_no_op(
    setup: Callable[[MutableState], None], attempt: int
) -> None:
    state = retried()
    setup(state)
    snapshot = state.to_json()

    out = activities.retry_due(state, ACT, attempt, at(6))

    assert out == Transition()
    assert state.to_json() == snapshot


# --- canceled -----------------------------------------------------------------------


def test_canceled_without_request_is_refused() -> None:
    state = running()
    snapshot = state.to_json()

    with pytest.raises(activities.CancelNotRequested):
        activities.canceled(state, ACT, 1, None, "act-worker", at(2))

    assert state.to_json() == snapshot


@pytest.mark.parametrize(
    ("details", "identity", "expected_extra"),
    [
        pytest.param(
            {"payloads": ["bye"]},
            "w2",
            {"details": {"payloads": ["bye"]}, "identity": "w2"},
            id="details",
        ),
        pytest.param(None, "", {"identity": "act-worker"}, id="no-details"),
    ],
)
def test_canceled_after_request(
    details: dict[str, Any] | None, identity: str, expected_extra: dict[str, Any]
) -> None:
    state = running()
    requested = request_cancel(state, at(2))
    cancel_requested, _ = activities.heartbeat(state, ACT, 1, None, at(3))
    assert cancel_requested

    out = activities.canceled(state, ACT, 1, details, identity, at(4))

    assert types(out) == [STARTED, CANCELED, WFT_SCHEDULED]
    assert ids(out) == [10, 11, 12]
    assert out.events[1].attributes == {
        "scheduled_event_id": ACT,
        "started_event_id": 10,
        "latest_cancel_requested_event_id": requested,
        **expected_extra,
    }
    assert state.activities == {}


# --- time_out -----------------------------------------------------------------------


def test_start_to_close_timeout_is_retried() -> None:
    state = running(start_at=1.0)

    out = activities.time_out(state, STC, ACT, 1, at(11))

    assert out.events == []
    assert out.workflow_tasks == []
    assert out.timers == [TimerToSet(RETRY, at(12), {"scheduled_event_id": ACT, "attempt": 2})]
    info = info_of(state)
    assert info.attempt == 2
    assert not info.started
    assert info.last_failure == server_timeout("START_TO_CLOSE", "StartToClose")


@pytest.mark.parametrize(
    ("kind", "attrs", "fire_at", "timeout_type", "retry_state"),
    [
        pytest.param(
            STC,
            {"retry_policy": NO_RETRY},
            11,
            "START_TO_CLOSE",
            "MAXIMUM_ATTEMPTS_REACHED",
            id="stc-no-attempts-left",
        ),
        pytest.param(
            STC,
            {"retry_policy": {"non_retryable_error_types": ["TemporalTimeout:StartToClose"]}},
            11,
            "START_TO_CLOSE",
            "NON_RETRYABLE_FAILURE",
            id="stc-listed-non-retryable",
        ),
        pytest.param(
            STC,
            {"schedule_to_close_timeout": "11.5s"},
            11,
            "SCHEDULE_TO_CLOSE",
            "TIMEOUT",
            id="stc-no-time-left-reported-as-s2c",
        ),
        pytest.param(
            HEARTBEAT,
            {"heartbeat_timeout": "3s", "retry_policy": NO_RETRY},
            4,
            "HEARTBEAT",
            "MAXIMUM_ATTEMPTS_REACHED",
            id="heartbeat-no-attempts-left",
        ),
        pytest.param(
            HEARTBEAT,
            {"heartbeat_timeout": "3s", "schedule_to_close_timeout": "4.5s"},
            4,
            "SCHEDULE_TO_CLOSE",
            "TIMEOUT",
            id="heartbeat-no-time-left-reported-as-s2c",
        ),
    ],
)
def test_attempt_timeout_that_ends_retries(
    kind: TimerKind,
    attrs: dict[str, Any],
    fire_at: float,
    timeout_type: str,
    retry_state: str,
) -> None:
    state = running(start_at=1.0, **attrs)

    out = activities.time_out(state, kind, ACT, 1, at(fire_at))

    assert types(out) == [STARTED, TIMED_OUT, WFT_SCHEDULED]
    assert ids(out) == [6, 7, 8]
    attributes = out.events[1].attributes
    assert attributes["scheduled_event_id"] == ACT
    assert attributes["started_event_id"] == 6
    assert attributes["retry_state"] == retry_state
    assert attributes["failure"]["timeout_failure_info"]["timeout_type"] == timeout_type
    assert attributes["failure"]["source"] == "Server"
    assert state.activities == {}


def test_heartbeat_timeout_is_pushed_back_by_heartbeats() -> None:
    state = running(start_at=1.0, heartbeat_timeout="5s", start_to_close_timeout="60s")

    _, beat = activities.heartbeat(state, ACT, 1, {"progress": 50}, at(4))
    assert [t.fire_time for t in beat.timers] == [at(9)]

    # The timer set at start (1 + 5) fires: the heartbeat at 4 keeps the attempt alive.
    assert activities.time_out(state, HEARTBEAT, ACT, 1, at(6)) == Transition()
    assert info_of(state).attempt == 1
    assert info_of(state).started

    # No heartbeat since 4: at 9 the attempt times out and is retried.
    out = activities.time_out(state, HEARTBEAT, ACT, 1, at(9))

    assert out.events == []
    assert out.timers == [TimerToSet(RETRY, at(10), {"scheduled_event_id": ACT, "attempt": 2})]
    info = info_of(state)
    assert info.attempt == 2
    # As in Temporal, heartbeat details live on the activity (and on the final failure),
    # not in every retained cause.
    assert info.last_failure == server_timeout("HEARTBEAT", "Heartbeat")
    assert info.heartbeat_details == {"progress": 50}


def test_heartbeat_timeout_without_any_heartbeat() -> None:
    state = running(start_at=1.0, heartbeat_timeout="5s", start_to_close_timeout="60s")
    assert activities.time_out(state, HEARTBEAT, ACT, 1, at(5.9)) == Transition()

    out = activities.time_out(state, HEARTBEAT, ACT, 1, at(6))

    assert out.events == []
    assert info_of(state).attempt == 2


def test_schedule_to_start_timeout() -> None:
    state = scheduled(schedule_to_start_timeout="5s")

    out = activities.time_out(state, S2S, ACT, 1, at(5))

    assert types(out) == [TIMED_OUT, WFT_SCHEDULED]
    assert ids(out) == [6, 7]
    assert out.events[0].attributes == {
        "scheduled_event_id": ACT,
        "started_event_id": 0,
        "failure": server_timeout("SCHEDULE_TO_START", "ScheduleToStart"),
        "retry_state": "NON_RETRYABLE_FAILURE",
    }
    assert state.activities == {}


@pytest.mark.parametrize(
    ("setup", "expected_types", "started_id"),
    [
        pytest.param(lambda s: None, [TIMED_OUT, WFT_SCHEDULED], 0, id="never-started"),
        pytest.param(
            lambda s: activities.start(s, ACT, identity="w", request_id="r", now=at(1)),
            [STARTED, TIMED_OUT, WFT_SCHEDULED],
            6,
            id="running",
        ),
    ],
)
def test_schedule_to_close_timeout(
    setup: Callable[[MutableState], Any], expected_types: list[EventType], started_id: int
) -> None:
    state = scheduled(schedule_to_close_timeout="30s", start_to_close_timeout=None)
    setup(state)

    out = activities.time_out(state, S2C, ACT, 1, at(30))

    assert types(out) == expected_types
    timed_out = out.events[expected_types.index(TIMED_OUT)]
    assert timed_out.attributes == {
        "scheduled_event_id": ACT,
        "started_event_id": started_id,
        "failure": server_timeout("SCHEDULE_TO_CLOSE", "ScheduleToClose"),
        "retry_state": "NON_RETRYABLE_FAILURE",
    }


def test_schedule_to_close_timeout_during_retry_backoff_carries_the_last_failure() -> None:
    state = running(schedule_to_close_timeout="30s", retry_policy={"initial_interval": "20s"})
    activities.fail(state, ACT, 1, app_failure("first"), "", {"progress": 2}, at(2))
    assert info_of(state).attempt == 2

    # The timer carries the first attempt; it bounds all attempts.
    out = activities.time_out(state, S2C, ACT, 1, at(30))

    assert types(out) == [TIMED_OUT, WFT_SCHEDULED]
    assert out.events[0].attributes == {
        "scheduled_event_id": ACT,
        "started_event_id": 0,
        "failure": {
            "message": "activity ScheduleToClose timeout",
            "source": "Server",
            "timeout_failure_info": {
                "timeout_type": "SCHEDULE_TO_CLOSE",
                "last_heartbeat_details": {"progress": 2},
            },
            "cause": app_failure("first"),
        },
        "retry_state": "NON_RETRYABLE_FAILURE",
    }


def test_timeout_while_workflow_task_started_is_buffered() -> None:
    state = scheduled(schedule_to_start_timeout="5s")
    workflow_task_started(state, at(1))  # 6, 7

    out = activities.time_out(state, S2S, ACT, 1, at(5))

    assert out.events == []
    assert [e.event_type for e in state.buffered_events] == [TIMED_OUT]
    flushed = wt.complete(state, 6, 1, wt.Completion([]), at(6)).transition
    assert types(flushed) == [WFT_COMPLETED, TIMED_OUT, WFT_SCHEDULED]
    assert flushed.events[1].attributes["started_event_id"] == 0


def _scheduled_s2s() -> MutableState:
    return scheduled(schedule_to_start_timeout="5s", heartbeat_timeout="3s")


def _running_s2s() -> MutableState:
    state = _scheduled_s2s()
    activities.start(state, ACT, identity="w", request_id="r", now=at(1))
    return state


def _retry_pending() -> MutableState:
    """Attempt 1 timed out; attempt 2 waits for its backoff."""
    state = _running_s2s()
    activities.time_out(state, STC, ACT, 1, at(11))
    assert info_of(state).attempt == 2
    return state


def _retry_running() -> MutableState:
    state = _retry_pending()
    activities.retry_due(state, ACT, 2, at(12))
    activities.start(state, ACT, identity="w", request_id="r", now=at(12))
    return state


def _activity_completed() -> MutableState:
    state = _running_s2s()
    activities.complete(state, ACT, 1, None, "", at(2))
    return state


def _run_closed() -> MutableState:
    state = _running_s2s()
    engine.terminate(state, reason="", details=None, identity="", now=at(2))
    return state


@pytest.mark.parametrize(
    ("scenario", "kind", "attempt"),
    [
        pytest.param(_running_s2s, S2S, 1, id="s2s-after-start"),
        pytest.param(_scheduled_s2s, STC, 1, id="stc-before-start"),
        pytest.param(_scheduled_s2s, HEARTBEAT, 1, id="heartbeat-before-start"),
        pytest.param(_retry_pending, STC, 1, id="stc-of-previous-attempt-in-backoff"),
        pytest.param(_retry_pending, HEARTBEAT, 1, id="heartbeat-of-previous-attempt"),
        pytest.param(_retry_pending, S2S, 1, id="s2s-of-previous-attempt"),
        pytest.param(_retry_pending, STC, 2, id="stc-of-attempt-not-started"),
        pytest.param(_retry_running, STC, 1, id="stc-of-previous-attempt-running"),
        pytest.param(_retry_running, HEARTBEAT, 1, id="heartbeat-of-previous-attempt-running"),
        pytest.param(_retry_running, S2S, 2, id="s2s-of-started-attempt"),
        pytest.param(_activity_completed, STC, 1, id="stc-after-completion"),
        pytest.param(_activity_completed, HEARTBEAT, 1, id="heartbeat-after-completion"),
        pytest.param(_activity_completed, S2S, 1, id="s2s-after-completion"),
        pytest.param(_activity_completed, S2C, 1, id="s2c-after-completion"),
        pytest.param(_run_closed, STC, 1, id="stc-after-close"),
        pytest.param(_run_closed, S2C, 1, id="s2c-after-close"),
    ],
)
def test_stale_timeout_does_nothing(
    scenario: Callable[[], MutableState], kind: TimerKind, attempt: int
) -> None:
    state = scenario()
    snapshot = state.to_json()

    out = activities.time_out(state, kind, ACT, attempt, at(100))

    assert out == Transition()
    assert state.to_json() == snapshot
