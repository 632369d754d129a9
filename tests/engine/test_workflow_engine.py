"""Pure tests of the workflow state machine (app.engine.workflow) and of cron schedules
(app.engine.cron): no database, no clock, time is passed in."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.engine import cron
from app.engine import workflow as engine
from app.engine.events import EventType
from app.engine.state import (
    ActivityInfo,
    MutableState,
    TimerKind,
    Transition,
    UserTimer,
    WorkflowStatus,
)

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
LATER = NOW + timedelta(seconds=7)

STARTED = EventType.WORKFLOW_EXECUTION_STARTED
WFT_SCHEDULED = EventType.WORKFLOW_TASK_SCHEDULED
WFT_FAILED = EventType.WORKFLOW_TASK_FAILED
SIGNALED = EventType.WORKFLOW_EXECUTION_SIGNALED
CANCEL_REQUESTED = EventType.WORKFLOW_EXECUTION_CANCEL_REQUESTED
TERMINATED = EventType.WORKFLOW_EXECUTION_TERMINATED


def params(**overrides: Any) -> engine.StartParams:
    values: dict[str, Any] = {
        "workflow_id": "wf-1",
        "run_id": "11111111-1111-4111-8111-111111111111",
        "workflow_type": "OrderProcessingWorkflow",
        "task_queue": "orders",
        "request_id": "req-1",
        "identity": "tester",
        "input": {"payloads": [{"metadata": {}, "data": "e30="}]},
    }
    values.update(overrides)
    return engine.StartParams(**values)


def types(transition: Transition) -> list[EventType]:
    return [e.event_type for e in transition.events]


def ids(transition: Transition) -> list[int]:
    return [e.event_id for e in transition.events]


# --- scenarios: a run brought into a given situation -------------------------------


def pending_task() -> MutableState:
    """Started; the first workflow task is scheduled and not yet picked up."""
    state, _ = engine.start(params(), NOW)
    return state


def no_task() -> MutableState:
    """Started; no workflow task outstanding (as after a completed workflow task)."""
    state, _ = engine.start(params(), NOW)
    state.workflow_task = None
    return state


def started_task() -> MutableState:
    """Started; a worker has picked up the workflow task (event 3 WorkflowTaskStarted)."""
    state, _ = engine.start(params(), NOW)
    assert state.workflow_task is not None
    state.workflow_task.started_event_id = state.next_event_id
    state.workflow_task.started_time = NOW
    state.next_event_id += 1
    return state


def in_backoff() -> MutableState:
    """Started with a first-workflow-task backoff (cron or start delay) still running."""
    state, _ = engine.start(params(first_workflow_task_backoff=30.0), NOW)
    return state


def terminated() -> MutableState:
    state, _ = engine.start(params(), NOW)
    engine.terminate(state, reason="done", details=None, identity="", now=NOW)
    return state


SCENARIOS: dict[str, Callable[[], MutableState]] = {
    "pending_task": pending_task,
    "no_task": no_task,
    "started_task": started_task,
    "in_backoff": in_backoff,
}


# --- start --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("backoff", "run_timeout", "expected_types", "expected_timers", "has_task"),
    [
        pytest.param(0.0, 0.0, [STARTED, WFT_SCHEDULED], [], True, id="plain"),
        pytest.param(
            0.0,
            60.0,
            [STARTED, WFT_SCHEDULED],
            [(TimerKind.WORKFLOW_RUN_TIMEOUT, 60)],
            True,
            id="run-timeout",
        ),
        pytest.param(30.0, 0.0, [STARTED], [(TimerKind.WORKFLOW_BACKOFF, 30)], False, id="backoff"),
        pytest.param(
            30.0,
            60.0,
            [STARTED],
            [(TimerKind.WORKFLOW_BACKOFF, 30), (TimerKind.WORKFLOW_RUN_TIMEOUT, 90)],
            False,
            id="backoff-and-run-timeout",
        ),
    ],
)
def test_start(
    backoff: float,
    run_timeout: float,
    expected_types: list[EventType],
    expected_timers: list[tuple[TimerKind, int]],
    has_task: bool,
) -> None:
    state, out = engine.start(
        params(first_workflow_task_backoff=backoff, run_timeout=run_timeout), NOW
    )

    assert types(out) == expected_types
    assert ids(out) == list(range(1, len(expected_types) + 1))
    assert state.next_event_id == len(expected_types) + 1
    assert all(e.event_time == NOW for e in out.events)
    assert state.status is WorkflowStatus.RUNNING
    assert state.start_time == NOW
    assert [(t.kind, t.fire_time) for t in out.timers] == [
        (kind, NOW + timedelta(seconds=offset)) for kind, offset in expected_timers
    ]
    assert state.awaiting_first_task_backoff is (not has_task)

    started = out.events[0].attributes
    assert started["first_workflow_task_backoff"] == f"{int(backoff)}s"
    assert started["attempt"] == 1
    assert started["original_execution_run_id"] == state.run_id
    assert started["first_execution_run_id"] == state.run_id
    if run_timeout:
        assert started["workflow_run_timeout"] == f"{int(run_timeout)}s"
        assert state.run_expiration_time == NOW + timedelta(seconds=backoff + run_timeout)
    else:
        assert "workflow_run_timeout" not in started
        assert state.run_expiration_time is None

    if has_task:
        assert state.workflow_task is not None
        assert state.workflow_task.scheduled_event_id == 2
        assert not state.workflow_task.started
        assert [(d.task_queue, d.scheduled_event_id) for d in out.workflow_tasks] == [("orders", 2)]
        assert out.events[1].attributes == {
            "task_queue": {"name": "orders", "kind": "NORMAL"},
            "start_to_close_timeout": "10s",
            "attempt": 1,
        }
    else:
        assert state.workflow_task is None
        assert out.workflow_tasks == []


def test_start_attributes_omit_empty_values() -> None:
    state, out = engine.start(params(identity="", input=None), NOW)
    started = out.events[0].attributes
    for absent in (
        "identity",
        "input",
        "workflow_execution_timeout",
        "workflow_run_timeout",
        "workflow_execution_expiration_time",
        "cron_schedule",
        "initiator",
        "retry_policy",
        "memo",
        "search_attributes",
        "header",
    ):
        assert absent not in started, absent
    assert started["workflow_type"] == {"name": "OrderProcessingWorkflow"}
    assert started["task_queue"] == {"name": "orders", "kind": "NORMAL"}
    assert started["workflow_task_timeout"] == "10s"
    assert started["workflow_id"] == "wf-1"
    assert state.execution_expiration_time is None


def test_start_with_execution_timeout_sets_expiration() -> None:
    state, out = engine.start(params(execution_timeout=100.0, run_timeout=100.0), NOW)
    started = out.events[0].attributes
    assert started["workflow_execution_timeout"] == "100s"
    assert started["workflow_execution_expiration_time"] == "2026-01-01T12:01:40Z"
    assert state.execution_expiration_time == NOW + timedelta(seconds=100)


def test_start_cron_marks_initiator() -> None:
    _, out = engine.start(
        params(cron_schedule="*/5 * * * *", first_workflow_task_backoff=254.0), NOW
    )
    assert types(out) == [STARTED]
    started = out.events[0].attributes
    assert started["cron_schedule"] == "*/5 * * * *"
    assert started["initiator"] == "CRON_SCHEDULE"
    assert started["first_workflow_task_backoff"] == "254s"


# --- signal -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "expected_types", "buffered"),
    [
        pytest.param("pending_task", [SIGNALED], 0, id="task-pending"),
        pytest.param("no_task", [SIGNALED, WFT_SCHEDULED], 0, id="no-task"),
        pytest.param("in_backoff", [SIGNALED], 0, id="during-backoff"),
        pytest.param("started_task", [], 1, id="task-started-buffers"),
    ],
)
def test_signal(scenario: str, expected_types: list[EventType], buffered: int) -> None:
    state = SCENARIOS[scenario]()
    first_id = state.next_event_id
    task_before = state.workflow_task

    out = engine.signal(
        state,
        signal_name="payment_received",
        input={"payloads": []},
        identity="payer",
        header=None,
        request_id="sig-1",
        now=LATER,
    )

    assert types(out) == expected_types
    assert ids(out) == list(range(first_id, first_id + len(expected_types)))
    assert state.next_event_id == first_id + len(expected_types)
    assert state.signal_count == 1
    assert len(state.buffered_events) == buffered
    signaled = out.events[0] if out.events else state.buffered_events[0]
    assert signaled.event_type is SIGNALED
    assert signaled.event_time == LATER
    assert signaled.attributes == {
        "signal_name": "payment_received",
        "input": {"payloads": []},
        "identity": "payer",
        "request_id": "sig-1",
    }
    if buffered:
        assert signaled.event_id == 0
    if WFT_SCHEDULED in expected_types:
        assert state.workflow_task is not None
        assert state.workflow_task.scheduled_event_id == first_id + 1
        assert [d.scheduled_event_id for d in out.workflow_tasks] == [first_id + 1]
    else:
        assert out.workflow_tasks == []
        assert state.workflow_task is task_before
    if scenario == "in_backoff":
        assert state.awaiting_first_task_backoff
        assert state.workflow_task is None


def test_signal_omits_empty_attributes() -> None:
    state = pending_task()
    out = engine.signal(
        state, signal_name="s", input=None, identity="", header=None, request_id="", now=NOW
    )
    assert out.events[0].attributes == {"signal_name": "s"}


def test_signals_while_task_pending_schedule_no_second_task() -> None:
    state = pending_task()
    outs = [
        engine.signal(
            state, signal_name="s", input=None, identity="", header=None, request_id="", now=NOW
        )
        for _ in range(5)
    ]
    assert [types(o) for o in outs] == [[SIGNALED]] * 5
    assert [i for o in outs for i in ids(o)] == [3, 4, 5, 6, 7]
    assert state.signal_count == 5


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param(
            lambda s: engine.signal(
                s, signal_name="s", input=None, identity="", header=None, request_id="", now=NOW
            ),
            id="signal",
        ),
        pytest.param(
            lambda s: engine.request_cancel(s, reason="", identity="", now=NOW), id="cancel"
        ),
        pytest.param(
            lambda s: engine.terminate(s, reason="", details=None, identity="", now=NOW),
            id="terminate",
        ),
    ],
)
def test_operations_on_closed_run_are_illegal(
    operation: Callable[[MutableState], Transition],
) -> None:
    state = terminated()
    next_id = state.next_event_id
    with pytest.raises(engine.IllegalTransition):
        operation(state)
    assert state.next_event_id == next_id
    assert state.status is WorkflowStatus.TERMINATED


# --- request_cancel -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "expected_types", "buffered"),
    [
        pytest.param("pending_task", [CANCEL_REQUESTED], 0, id="task-pending"),
        pytest.param("no_task", [CANCEL_REQUESTED, WFT_SCHEDULED], 0, id="no-task"),
        pytest.param("in_backoff", [CANCEL_REQUESTED, WFT_SCHEDULED], 0, id="during-backoff-wakes"),
        pytest.param("started_task", [], 1, id="task-started-buffers"),
    ],
)
def test_request_cancel(scenario: str, expected_types: list[EventType], buffered: int) -> None:
    state = SCENARIOS[scenario]()
    first_id = state.next_event_id

    out = engine.request_cancel(state, reason="user asked", identity="canceller", now=LATER)

    assert types(out) == expected_types
    assert ids(out) == list(range(first_id, first_id + len(expected_types)))
    assert state.cancel_requested
    assert state.status is WorkflowStatus.RUNNING
    assert not state.awaiting_first_task_backoff
    assert len(state.buffered_events) == buffered
    requested = out.events[0] if out.events else state.buffered_events[0]
    assert requested.event_type is CANCEL_REQUESTED
    assert requested.attributes == {"cause": "user asked", "identity": "canceller"}
    if WFT_SCHEDULED in expected_types:
        assert state.workflow_task is not None
        assert state.workflow_task.scheduled_event_id == first_id + 1
        assert state.workflow_task.scheduled_time == LATER
        assert [d.scheduled_event_id for d in out.workflow_tasks] == [first_id + 1]
    else:
        assert out.workflow_tasks == []


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_request_cancel_is_idempotent(scenario: str) -> None:
    state = SCENARIOS[scenario]()
    engine.request_cancel(state, reason="first", identity="a", now=NOW)
    snapshot = state.to_json()

    again = engine.request_cancel(state, reason="second", identity="b", now=LATER)

    assert again.events == []
    assert again.workflow_tasks == []
    assert again.timers == []
    assert state.to_json() == snapshot


def test_request_cancel_with_empty_reason_has_empty_attributes() -> None:
    state = pending_task()
    out = engine.request_cancel(state, reason="", identity="", now=NOW)
    assert out.events[0].attributes == {}


# --- terminate ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "expected_types"),
    [
        pytest.param("pending_task", [TERMINATED], id="task-pending"),
        pytest.param("no_task", [TERMINATED], id="no-task"),
        pytest.param("in_backoff", [TERMINATED], id="during-backoff"),
        pytest.param("started_task", [WFT_FAILED, TERMINATED], id="task-started"),
    ],
)
def test_terminate(scenario: str, expected_types: list[EventType]) -> None:
    state = SCENARIOS[scenario]()
    first_id = state.next_event_id
    task = state.workflow_task

    out = engine.terminate(
        state, reason="enough", details={"payloads": []}, identity="terminator", now=LATER
    )

    assert types(out) == expected_types
    assert ids(out) == list(range(first_id, first_id + len(expected_types)))
    assert state.status is WorkflowStatus.TERMINATED
    assert not state.is_running
    assert state.close_time == LATER
    assert state.workflow_task is None
    assert not state.awaiting_first_task_backoff
    assert state.buffered_events == []
    assert out.workflow_tasks == []
    assert out.events[-1].attributes == {
        "reason": "enough",
        "details": {"payloads": []},
        "identity": "terminator",
    }
    if WFT_FAILED in expected_types:
        assert task is not None
        assert out.events[0].attributes == {
            "scheduled_event_id": task.scheduled_event_id,
            "started_event_id": task.started_event_id,
            "cause": "FORCE_CLOSE_COMMAND",
            "identity": "history-service",
        }


def test_terminate_with_started_task_flushes_buffered_events_in_order() -> None:
    state = started_task()  # events 1 Started, 2 WFTScheduled, 3 WFTStarted
    engine.signal(
        state, signal_name="a", input=None, identity="", header=None, request_id="", now=NOW
    )
    engine.request_cancel(state, reason="stop", identity="", now=NOW)
    engine.signal(
        state, signal_name="b", input=None, identity="", header=None, request_id="", now=LATER
    )
    assert [e.event_id for e in state.buffered_events] == [0, 0, 0]
    assert state.next_event_id == 4

    out = engine.terminate(state, reason="", details=None, identity="", now=LATER)

    assert types(out) == [WFT_FAILED, SIGNALED, CANCEL_REQUESTED, SIGNALED, TERMINATED]
    assert ids(out) == [4, 5, 6, 7, 8]
    assert out.events[0].attributes["cause"] == "FORCE_CLOSE_COMMAND"
    assert [e.attributes.get("signal_name") for e in out.events[1:4]] == ["a", None, "b"]
    assert [e.event_time for e in out.events[1:4]] == [NOW, NOW, LATER]
    assert out.events[-1].attributes == {}
    assert state.buffered_events == []
    assert state.next_event_id == 9


def test_terminate_twice_is_illegal() -> None:
    state = pending_task()
    engine.terminate(state, reason="", details=None, identity="", now=NOW)
    with pytest.raises(engine.IllegalTransition):
        engine.terminate(state, reason="", details=None, identity="", now=LATER)
    assert state.close_time == NOW


# --- event ids ----------------------------------------------------------------------


@pytest.mark.parametrize("backoff", [0.0, 45.0])
def test_event_ids_are_dense_and_increasing(backoff: float) -> None:
    state, first = engine.start(params(first_workflow_task_backoff=backoff), NOW)
    transitions = [first]
    for n in range(3):
        transitions.append(
            engine.signal(
                state,
                signal_name=f"s{n}",
                input=None,
                identity="",
                header=None,
                request_id="",
                now=NOW,
            )
        )
    state.workflow_task = None
    transitions.append(
        engine.signal(
            state, signal_name="x", input=None, identity="", header=None, request_id="", now=NOW
        )
    )
    transitions.append(engine.request_cancel(state, reason="r", identity="", now=NOW))
    transitions.append(engine.request_cancel(state, reason="r", identity="", now=NOW))
    transitions.append(engine.terminate(state, reason="t", details=None, identity="", now=NOW))

    all_ids = [i for t in transitions for i in ids(t)]
    assert all_ids == list(range(1, len(all_ids) + 1))
    assert state.next_event_id == len(all_ids) + 1
    assert types(transitions[-1]) == [TERMINATED]


# --- MutableState serialisation -----------------------------------------------------


def _with_everything() -> MutableState:
    state, _ = engine.start(
        params(execution_timeout=3600.0, run_timeout=600.0, workflow_task_timeout=5.0), NOW
    )
    assert state.workflow_task is not None
    state.workflow_task.started_event_id = 3
    state.workflow_task.started_time = LATER
    state.next_event_id = 4
    engine.signal(
        state,
        signal_name="s",
        input={"payloads": [{"metadata": {"encoding": "x"}, "data": "eyJhIjogMX0="}]},
        identity="id",
        header=None,
        request_id="r",
        now=LATER,
    )
    engine.request_cancel(state, reason="why", identity="me", now=LATER)
    return state


ROUND_TRIP: dict[str, Callable[[], MutableState]] = {
    **SCENARIOS,
    "terminated": terminated,
    "everything": _with_everything,
}


@pytest.mark.parametrize("scenario", sorted(ROUND_TRIP))
def test_mutable_state_json_round_trip(scenario: str) -> None:
    state = ROUND_TRIP[scenario]()

    encoded = state.to_json()
    through_text = json.loads(json.dumps(encoded))
    restored = MutableState.from_json(through_text)

    assert restored == state
    assert isinstance(restored.status, WorkflowStatus)
    assert restored.to_json() == encoded
    if state.workflow_task is not None:
        assert restored.workflow_task is not None
        assert restored.workflow_task.started == state.workflow_task.started
        assert restored.workflow_task.scheduled_time.tzinfo is not None
    for before, after in zip(state.buffered_events, restored.buffered_events, strict=True):
        assert after.event_type is before.event_type
        assert after.event_time == before.event_time


def _with_activity_and_timer() -> MutableState:
    state = _with_everything()
    state.activities["5"] = ActivityInfo(
        scheduled_event_id=5,
        activity_id="charge",
        activity_type="Charge",
        task_queue="q",
        schedule_to_close_timeout=60.0,
        schedule_to_start_timeout=0.0,
        start_to_close_timeout=30.0,
        heartbeat_timeout=0.0,
        retry_policy={"maximum_attempts": 3},
        scheduled_time=NOW,
        attempt_scheduled_time=LATER,
        input={"payloads": [{"metadata": {"encoding": "x"}, "data": "MQ=="}]},
        started_time=LATER,
    )
    state.user_timers["t"] = UserTimer("t", 6, LATER)
    return state


def test_encoded_state_is_plain_json_and_shares_nothing_with_the_state() -> None:
    state = _with_activity_and_timer()

    encoded = state.to_json()

    assert json.loads(json.dumps(encoded)) == encoded  # only JSON types, times as text
    assert encoded["activities"]["5"]["started_time"] == LATER.isoformat()
    assert encoded["user_timers"]["t"] == {
        "timer_id": "t",
        "started_event_id": 6,
        "fire_time": LATER.isoformat(),
    }
    assert MutableState.from_json(encoded) == state
    encoded["activities"]["5"]["input"]["payloads"][0]["data"] = "changed"
    encoded["activities"]["5"]["retry_policy"]["maximum_attempts"] = 9
    activity = state.activities["5"]
    assert activity.input == {"payloads": [{"metadata": {"encoding": "x"}, "data": "MQ=="}]}
    assert activity.retry_policy == {"maximum_attempts": 3}


def test_round_tripped_state_keeps_transitioning() -> None:
    state = MutableState.from_json(json.loads(json.dumps(_with_everything().to_json())))
    out = engine.terminate(state, reason="", details=None, identity="", now=LATER)
    assert types(out) == [WFT_FAILED, SIGNALED, CANCEL_REQUESTED, TERMINATED]
    assert ids(out) == [4, 5, 6, 7]


# --- cron ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "schedule",
    [
        "*/5 * * * *",
        "0 9 * * 1-5",
        "@hourly",
        "@daily",
        "@every 90s",
        "@every 1h30m",
        "CRON_TZ=America/New_York 0 9 * * *",
    ],
)
def test_cron_validate_accepts(schedule: str) -> None:
    cron.validate(schedule)


@pytest.mark.parametrize(
    "schedule",
    [
        "* * *",
        "61 * * * *",
        "* 25 * * *",
        "not a cron",
        "@every 0s",
        "@sometimes",
        "CRON_TZ=Nowhere/X * * * * *",
        "CRON_TZ=Nowhere/X * * * *",
    ],
)
def test_cron_validate_rejects(schedule: str) -> None:
    with pytest.raises(cron.InvalidCron):
        cron.validate(schedule)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("schedule", "now", "expected"),
    [
        # Temporal's observed case: 16:00:46.63 -> 16:05:00 is 253.37s, rounded up.
        ("*/5 * * * *", "2026-11-29T16:00:46.625721+00:00", 254),
        ("*/5 * * * *", "2026-01-01T00:00:00+00:00", 300),  # strictly after now
        ("*/5 * * * *", "2026-01-01T00:04:59.999+00:00", 1),
        ("@hourly", "2026-01-01T10:30:00+00:00", 1800),
        ("@hourly", "2026-01-01T10:00:00+00:00", 3600),
        # A constant interval counts from now (as Temporal's cron library does).
        ("@every 90s", "2026-01-01T00:00:00+00:00", 90),
        ("@every 90s", "2026-01-01T00:00:30.5+00:00", 90),
        ("0 9 * * *", "2026-01-01T08:59:59.2+00:00", 1),
        # 13:00Z is 08:00 in New York (EST): the 09:00 local slot is an hour away.
        ("CRON_TZ=America/New_York 0 9 * * *", "2026-01-01T13:00:00+00:00", 3600),
        # Just after 09:00 local: next is 09:00 local tomorrow.
        ("CRON_TZ=America/New_York 0 9 * * *", "2026-01-01T14:00:00.5+00:00", 86400),
    ],
)
def test_cron_backoff_until_next(schedule: str, now: str, expected: int) -> None:
    backoff = cron.backoff_until_next(schedule, _at(now))
    assert backoff == expected
    assert backoff == int(backoff)
    assert backoff > 0


@pytest.mark.parametrize("schedule", ["*/5 * * * *", "@hourly", "* * * * *"])
@pytest.mark.parametrize("offset", [0.0, 0.25, 59.999, 299.5, 3599.0])
def test_cron_backoff_lands_on_or_just_after_a_fire_time(schedule: str, offset: float) -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(seconds=offset)
    backoff = cron.backoff_until_next(schedule, now)
    assert backoff == int(backoff) and backoff > 0
    # The next fire time is strictly after now and at most one second before now+backoff.
    earlier = cron.backoff_until_next(schedule, now + timedelta(seconds=backoff - 1))
    assert earlier == 1
