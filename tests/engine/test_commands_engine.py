"""Pure tests of the commands a worker completes a workflow task with (app.engine.commands),
driven through app.engine.workflow_tasks.complete: validation causes, resulting events
and the state and timers they leave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.engine import activities, commands, timers
from app.engine import workflow as engine
from app.engine import workflow_tasks as wt
from app.engine.events import EventType, format_seconds
from app.engine.state import (
    ActivityTaskDispatch,
    MutableState,
    TimerKind,
    TimerToSet,
    Transition,
    UserTimer,
    WorkflowStatus,
    WorkflowTask,
)
from app.payloads import encode_payload, encode_payloads

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
LATER = NOW + timedelta(seconds=3)
LATEST = NOW + timedelta(seconds=8)

WFT_SCHEDULED = EventType.WORKFLOW_TASK_SCHEDULED
WFT_COMPLETED = EventType.WORKFLOW_TASK_COMPLETED
WFT_FAILED = EventType.WORKFLOW_TASK_FAILED
TIMER_STARTED = EventType.TIMER_STARTED
TIMER_FIRED = EventType.TIMER_FIRED
TIMER_CANCELED = EventType.TIMER_CANCELED
MARKER = EventType.MARKER_RECORDED
UPSERT_SA = EventType.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
PROPERTIES_MODIFIED = EventType.WORKFLOW_PROPERTIES_MODIFIED
ACTIVITY_SCHEDULED = EventType.ACTIVITY_TASK_SCHEDULED
ACTIVITY_CANCEL_REQUESTED = EventType.ACTIVITY_TASK_CANCEL_REQUESTED
ACTIVITY_CANCELED = EventType.ACTIVITY_TASK_CANCELED

QUEUE = "orders"
# In a freshly started run the first workflow task is 2 Scheduled / 3 Started, so its
# completion is event 4 and command events start at 5.
WTC = 4


def params(**overrides: Any) -> engine.StartParams:
    values: dict[str, Any] = {
        "workflow_id": "wf-1",
        "run_id": "11111111-1111-4111-8111-111111111111",
        "workflow_type": "OrderProcessingWorkflow",
        "task_queue": QUEUE,
        "request_id": "req-1",
    }
    values.update(overrides)
    return engine.StartParams(**values)


def types(transition: Transition) -> list[EventType]:
    return [e.event_type for e in transition.events]


def ids(transition: Transition) -> list[int]:
    return [e.event_id for e in transition.events]


def cmd(kind: str, **attrs: Any) -> dict[str, Any]:
    return {"command_type": kind, f"{kind.lower()}_command_attributes": attrs}


def task_of(state: MutableState) -> WorkflowTask:
    assert state.workflow_task is not None
    return state.workflow_task


def started(**overrides: Any) -> MutableState:
    """A new run whose first workflow task a worker holds (events 1-3)."""
    state, _ = engine.start(params(**overrides), NOW)
    wt.start(state, 2, identity="worker-1", request_id="poll-1", now=NOW)
    return state


def take(state: MutableState, now: datetime = LATER) -> None:
    wt.start(state, task_of(state).scheduled_event_id, identity="worker-1", request_id="p", now=now)


def complete(
    state: MutableState, *commands_: dict[str, Any], now: datetime = LATER, **completion: Any
) -> wt.CompletionResult:
    task = task_of(state)
    return wt.complete(
        state,
        task.scheduled_event_id,
        task.attempt,
        wt.Completion(list(commands_), identity="worker-1", **completion),
        now,
    )


def apply(
    *commands_: dict[str, Any], run_timeout: float = 0.0, **completion: Any
) -> tuple[MutableState, Transition]:
    """Complete the first workflow task of a new run with the commands, which must pass."""
    state = started(run_timeout=run_timeout)
    result = complete(state, *commands_, **completion)
    assert result.failed_cause is None, result.failure_message
    assert types(result.transition)[0] is WFT_COMPLETED
    return state, result.transition


def rejected(*commands_: dict[str, Any]) -> tuple[MutableState, str]:
    """Complete the first workflow task of a new run with the commands, which must fail
    it; returns the cause."""
    state = started()
    result = complete(state, *commands_)
    assert result.failed_cause is not None
    assert types(result.transition) == [WFT_FAILED]
    assert result.transition.events[0].attributes["cause"] == result.failed_cause
    assert state.status is WorkflowStatus.RUNNING
    assert task_of(state).attempt == 2
    return state, result.failed_cause


def with_next_task(state: MutableState) -> MutableState:
    """Schedule and start another workflow task on a run without one."""
    engine.schedule_workflow_task(state, Transition(), LATER)
    take(state)
    return state


# --- close commands -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "event_type", "status", "attributes"),
    [
        pytest.param(
            cmd("COMPLETE_WORKFLOW_EXECUTION", result={"total": 42}),
            EventType.WORKFLOW_EXECUTION_COMPLETED,
            WorkflowStatus.COMPLETED,
            {"result": encode_payloads({"total": 42}), "workflow_task_completed_event_id": WTC},
            id="complete",
        ),
        pytest.param(
            cmd("COMPLETE_WORKFLOW_EXECUTION"),
            EventType.WORKFLOW_EXECUTION_COMPLETED,
            WorkflowStatus.COMPLETED,
            {"workflow_task_completed_event_id": WTC},
            id="complete-no-result",
        ),
        pytest.param(
            {"command_type": "COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION"},
            EventType.WORKFLOW_EXECUTION_COMPLETED,
            WorkflowStatus.COMPLETED,
            {"workflow_task_completed_event_id": WTC},
            id="complete-prefixed-no-attributes",
        ),
        pytest.param(
            cmd("FAIL_WORKFLOW_EXECUTION", failure={"message": "boom"}),
            EventType.WORKFLOW_EXECUTION_FAILED,
            WorkflowStatus.FAILED,
            {
                "failure": {"message": "boom"},
                "retry_state": "RETRY_POLICY_NOT_SET",
                "workflow_task_completed_event_id": WTC,
            },
            id="fail",
        ),
        pytest.param(
            cmd(
                "FAIL_WORKFLOW_EXECUTION",
                failure={
                    "message": "outer",
                    "application_failure_info": {"type": "E", "details": {"why": 1}},
                    "cause": {
                        "message": "inner",
                        "application_failure_info": {"details": [2]},
                    },
                },
            ),
            EventType.WORKFLOW_EXECUTION_FAILED,
            WorkflowStatus.FAILED,
            {
                "failure": {
                    "message": "outer",
                    "application_failure_info": {
                        "type": "E",
                        "details": encode_payloads({"why": 1}),
                    },
                    "cause": {
                        "message": "inner",
                        "application_failure_info": {"details": encode_payloads([2])},
                    },
                },
                "retry_state": "RETRY_POLICY_NOT_SET",
                "workflow_task_completed_event_id": WTC,
            },
            id="fail-details-stored-as-payloads",
        ),
        pytest.param(
            cmd("CANCEL_WORKFLOW_EXECUTION", details="bye"),
            EventType.WORKFLOW_EXECUTION_CANCELED,
            WorkflowStatus.CANCELED,
            {"workflow_task_completed_event_id": WTC, "details": encode_payloads("bye")},
            id="cancel",
        ),
        pytest.param(
            cmd("CANCEL_WORKFLOW_EXECUTION"),
            EventType.WORKFLOW_EXECUTION_CANCELED,
            WorkflowStatus.CANCELED,
            {"workflow_task_completed_event_id": WTC},
            id="cancel-no-details",
        ),
    ],
)
def test_close_command(
    command: dict[str, Any],
    event_type: EventType,
    status: WorkflowStatus,
    attributes: dict[str, Any],
) -> None:
    state = started()

    result = complete(state, command, now=LATEST, force_create_new_workflow_task=True)

    out = result.transition
    assert result.failed_cause is None
    assert types(out) == [WFT_COMPLETED, event_type]
    assert ids(out) == [WTC, WTC + 1]
    assert out.events[1].attributes == attributes
    assert out.events[1].event_time == LATEST
    assert state.status is status
    assert not state.is_running
    assert state.close_time == LATEST
    assert state.workflow_task is None
    assert out.workflow_tasks == []
    assert not result.new_task_scheduled


def test_close_command_after_other_commands_refers_to_the_same_completion() -> None:
    state, out = apply(
        cmd("RECORD_MARKER", marker_name="m"),
        cmd("COMPLETE_WORKFLOW_EXECUTION", result=1),
    )
    assert types(out) == [WFT_COMPLETED, MARKER, EventType.WORKFLOW_EXECUTION_COMPLETED]
    assert ids(out) == [4, 5, 6]
    assert [e.attributes["workflow_task_completed_event_id"] for e in out.events[1:]] == [4, 4]
    assert state.status is WorkflowStatus.COMPLETED


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(None, id="missing"),
        pytest.param("boom", id="not-an-object"),
        pytest.param({"message": "x", "cause": "y"}, id="nested-cause-not-object-is-kept"),
    ],
)
def test_fail_workflow_failure_must_be_an_object(failure: Any) -> None:
    state = started()
    result = complete(state, cmd("FAIL_WORKFLOW_EXECUTION", failure=failure))
    if isinstance(failure, dict):
        assert result.failed_cause is None
        assert state.status is WorkflowStatus.FAILED
    else:
        assert result.failed_cause == "BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES"
        assert state.status is WorkflowStatus.RUNNING


# --- START_TIMER --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timeout", "seconds"),
    [("5s", 5.0), ("1.5s", 1.5), ("0.25s", 0.25), ("3600s", 3600.0), ("0.000001s", 0.000001)],
)
def test_start_timer(timeout: str, seconds: float) -> None:
    state, out = apply(cmd("START_TIMER", timer_id="t1", start_to_fire_timeout=timeout))

    assert types(out) == [WFT_COMPLETED, TIMER_STARTED]
    assert ids(out) == [4, 5]
    assert out.events[1].attributes == {
        "timer_id": "t1",
        "start_to_fire_timeout": format_seconds(seconds),
        "workflow_task_completed_event_id": WTC,
    }
    fire_time = LATER + timedelta(seconds=seconds)
    assert out.timers == [
        TimerToSet(TimerKind.USER_TIMER, fire_time, {"timer_id": "t1", "started_event_id": 5})
    ]
    assert state.user_timers == {"t1": UserTimer("t1", 5, fire_time)}
    assert out.workflow_tasks == []


@pytest.mark.parametrize(
    "attrs",
    [
        pytest.param({"start_to_fire_timeout": "5s"}, id="missing-id"),
        pytest.param({"timer_id": "", "start_to_fire_timeout": "5s"}, id="empty-id"),
        pytest.param({"timer_id": 7, "start_to_fire_timeout": "5s"}, id="id-not-a-string"),
        pytest.param({"timer_id": "x" * 1001, "start_to_fire_timeout": "5s"}, id="id-too-long"),
        pytest.param({"timer_id": "t1"}, id="missing-timeout"),
        pytest.param({"timer_id": "t1", "start_to_fire_timeout": "0s"}, id="zero"),
        pytest.param({"timer_id": "t1", "start_to_fire_timeout": "0.0s"}, id="zero-fraction"),
        pytest.param({"timer_id": "t1", "start_to_fire_timeout": "-5s"}, id="negative"),
        pytest.param({"timer_id": "t1", "start_to_fire_timeout": "5"}, id="no-unit"),
        pytest.param({"timer_id": "t1", "start_to_fire_timeout": "5m"}, id="minutes"),
        pytest.param({"timer_id": "t1", "start_to_fire_timeout": "five"}, id="malformed"),
        pytest.param({"timer_id": "t1", "start_to_fire_timeout": 5}, id="number"),
    ],
)
def test_start_timer_bad_attributes(attrs: dict[str, Any]) -> None:
    state, cause = rejected(cmd("START_TIMER", **attrs))
    assert cause == "BAD_START_TIMER_ATTRIBUTES"
    assert state.user_timers == {}


def test_start_timer_id_of_max_length_is_accepted() -> None:
    state, _ = apply(cmd("START_TIMER", timer_id="x" * 1000, start_to_fire_timeout="1s"))
    assert list(state.user_timers) == ["x" * 1000]


def test_start_timer_duplicate_in_same_batch() -> None:
    state, cause = rejected(
        cmd("START_TIMER", timer_id="t1", start_to_fire_timeout="5s"),
        cmd("START_TIMER", timer_id="t1", start_to_fire_timeout="9s"),
    )
    assert cause == "START_TIMER_DUPLICATE_ID"
    assert state.user_timers == {}


def test_start_timer_duplicate_of_a_live_timer() -> None:
    state, _ = apply(
        cmd("START_TIMER", timer_id="t1", start_to_fire_timeout="5s"),
        force_create_new_workflow_task=True,
    )
    take(state)
    live = dict(state.user_timers)

    result = complete(state, cmd("START_TIMER", timer_id="t1", start_to_fire_timeout="5s"))

    assert result.failed_cause == "START_TIMER_DUPLICATE_ID"
    assert state.user_timers == live


def test_timer_id_can_be_reused_once_the_timer_fired() -> None:
    state, _ = apply(cmd("START_TIMER", timer_id="t1", start_to_fire_timeout="5s"))
    fired = timers.fire_user_timer(state, "t1", 5, LATER + timedelta(seconds=5))
    assert types(fired) == [TIMER_FIRED, WFT_SCHEDULED]
    take(state, now=LATEST)

    result = complete(state, cmd("START_TIMER", timer_id="t1", start_to_fire_timeout="1s"))

    assert result.failed_cause is None
    assert types(result.transition) == [WFT_COMPLETED, TIMER_STARTED]
    assert state.user_timers["t1"].started_event_id == result.transition.events[1].event_id


# --- CANCEL_TIMER -------------------------------------------------------------------


def test_cancel_timer() -> None:
    state, _ = apply(
        cmd("START_TIMER", timer_id="t1", start_to_fire_timeout="60s"),
        cmd("START_TIMER", timer_id="t2", start_to_fire_timeout="60s"),
        force_create_new_workflow_task=True,
    )  # 5 TimerStarted t1, 6 TimerStarted t2, 7 WFTScheduled
    take(state)  # 8

    result = complete(state, cmd("CANCEL_TIMER", timer_id="t1"))

    out = result.transition
    assert types(out) == [WFT_COMPLETED, TIMER_CANCELED]
    assert ids(out) == [9, 10]
    assert out.events[1].attributes == {
        "timer_id": "t1",
        "started_event_id": 5,
        "workflow_task_completed_event_id": 9,
        "identity": "worker-1",
    }
    assert list(state.user_timers) == ["t2"]
    assert out.workflow_tasks == []
    # The timer's own firing, when it comes, does nothing.
    assert timers.fire_user_timer(state, "t1", 5, LATER + timedelta(seconds=60)) == Transition()


def test_start_and_cancel_timer_in_one_batch() -> None:
    state, out = apply(
        cmd("START_TIMER", timer_id="t1", start_to_fire_timeout="60s"),
        cmd("CANCEL_TIMER", timer_id="t1"),
    )
    assert types(out) == [WFT_COMPLETED, TIMER_STARTED, TIMER_CANCELED]
    assert out.events[2].attributes["started_event_id"] == 5
    assert state.user_timers == {}


@pytest.mark.parametrize(
    "attrs",
    [
        pytest.param({"timer_id": "nope"}, id="unknown"),
        pytest.param({}, id="missing-id"),
        pytest.param({"timer_id": ""}, id="empty-id"),
    ],
)
def test_cancel_timer_bad_attributes(attrs: dict[str, Any]) -> None:
    _, cause = rejected(cmd("CANCEL_TIMER", **attrs))
    assert cause == "BAD_CANCEL_TIMER_ATTRIBUTES"


@pytest.mark.parametrize(
    ("fired", "expected_types"),
    [
        pytest.param(["t1"], [WFT_COMPLETED, TIMER_CANCELED], id="only-this-timer-fired"),
        pytest.param(
            ["t1", "t2"],
            [WFT_COMPLETED, TIMER_CANCELED, TIMER_FIRED, WFT_SCHEDULED],
            id="other-timer-fired-is-kept",
        ),
    ],
)
def test_cancel_timer_drops_its_buffered_timer_fired(
    fired: list[str], expected_types: list[EventType]
) -> None:
    """The timer fired while the worker held the task: the TimerFired is buffered. The
    worker cancels it: Temporal drops that buffered TimerFired and writes TimerCanceled
    (its started id taken from the fired event)."""
    state, _ = apply(
        cmd("START_TIMER", timer_id="t1", start_to_fire_timeout="5s"),
        cmd("START_TIMER", timer_id="t2", start_to_fire_timeout="5s"),
        force_create_new_workflow_task=True,
    )  # 5 TimerStarted t1, 6 TimerStarted t2, 7 WFTScheduled
    take(state)  # 8
    started_ids = {"t1": 5, "t2": 6}
    for timer_id in fired:
        out = timers.fire_user_timer(state, timer_id, started_ids[timer_id], LATEST)
        assert out.events == []
    assert [e.event_type for e in state.buffered_events] == [TIMER_FIRED] * len(fired)

    result = complete(state, cmd("CANCEL_TIMER", timer_id="t1"), now=LATEST)

    assert result.failed_cause is None, result.failure_message
    out = result.transition
    assert types(out) == expected_types
    assert ids(out) == list(range(9, 9 + len(expected_types)))
    assert out.events[1].attributes == {
        "timer_id": "t1",
        "started_event_id": 5,
        "workflow_task_completed_event_id": 9,
        "identity": "worker-1",
    }
    assert [e.attributes["timer_id"] for e in out.events if e.event_type is TIMER_FIRED] == [
        t for t in fired if t != "t1"
    ]
    assert state.buffered_events == []


# --- RECORD_MARKER ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        pytest.param(
            {"marker_name": "version"},
            {"marker_name": "version", "workflow_task_completed_event_id": WTC},
            id="name-only",
        ),
        pytest.param(
            {"marker_name": "SideEffect", "details": {"data": {"v": 1}, "id": 7}},
            {
                "marker_name": "SideEffect",
                "details": {"data": encode_payloads({"v": 1}), "id": encode_payloads(7)},
                "workflow_task_completed_event_id": WTC,
            },
            id="details",
        ),
        pytest.param(
            {
                "marker_name": "LocalActivity",
                "header": {"fields": {"trace": {"data": "abc"}}},
                "failure": {"message": "la failed"},
            },
            {
                "marker_name": "LocalActivity",
                "workflow_task_completed_event_id": WTC,
                "header": {"fields": {"trace": encode_payload("abc")}},
                "failure": {"message": "la failed"},
            },
            id="header-and-failure",
        ),
    ],
)
def test_record_marker(attrs: dict[str, Any], expected: dict[str, Any]) -> None:
    state, out = apply(cmd("RECORD_MARKER", **attrs))
    assert types(out) == [WFT_COMPLETED, MARKER]
    assert ids(out) == [4, 5]
    assert out.events[1].attributes == expected
    assert out.workflow_tasks == []
    assert state.is_running


@pytest.mark.parametrize(
    "attrs",
    [
        pytest.param({}, id="missing-name"),
        pytest.param({"marker_name": ""}, id="empty-name"),
        pytest.param({"marker_name": "m", "details": [1, 2]}, id="details-not-object"),
        pytest.param({"marker_name": "m", "failure": "x"}, id="failure-not-object"),
    ],
)
def test_record_marker_bad_attributes(attrs: dict[str, Any]) -> None:
    _, cause = rejected(cmd("RECORD_MARKER", **attrs))
    assert cause == "BAD_RECORD_MARKER_ATTRIBUTES"


# --- UPSERT_WORKFLOW_SEARCH_ATTRIBUTES ----------------------------------------------


@pytest.mark.parametrize(
    "search_attributes",
    [
        pytest.param({"indexed_fields": {"CustomKeywordField": "gold", "Count": 3}}, id="indexed"),
        pytest.param({"CustomKeywordField": "gold", "Count": 3}, id="bare-map"),
        pytest.param(
            {"indexed_fields": {"CustomKeywordField": {"data": "gold"}, "Count": {"data": 3}}},
            id="data-wrapped",
        ),
    ],
)
def test_upsert_search_attributes(search_attributes: dict[str, Any]) -> None:
    _, out = apply(cmd("UPSERT_WORKFLOW_SEARCH_ATTRIBUTES", search_attributes=search_attributes))

    encoded = {"CustomKeywordField": encode_payload("gold"), "Count": encode_payload(3)}
    assert types(out) == [WFT_COMPLETED, UPSERT_SA]
    assert out.events[1].attributes == {
        "workflow_task_completed_event_id": WTC,
        "search_attributes": {"indexed_fields": encoded},
    }
    assert out.search_attributes_upsert == encoded
    assert out.memo_upsert is None


def test_upserts_in_one_batch_merge_later_wins() -> None:
    _, out = apply(
        cmd("UPSERT_WORKFLOW_SEARCH_ATTRIBUTES", search_attributes={"A": 1, "B": 1}),
        cmd("UPSERT_WORKFLOW_SEARCH_ATTRIBUTES", search_attributes={"B": 2}),
    )
    assert types(out) == [WFT_COMPLETED, UPSERT_SA, UPSERT_SA]
    assert out.search_attributes_upsert == {"A": encode_payload(1), "B": encode_payload(2)}


@pytest.mark.parametrize(
    "attrs",
    [
        pytest.param({}, id="missing"),
        pytest.param({"search_attributes": {}}, id="empty"),
        pytest.param({"search_attributes": {"indexed_fields": {}}}, id="empty-indexed"),
        pytest.param({"search_attributes": ["A"]}, id="not-object"),
    ],
)
def test_upsert_search_attributes_bad(attrs: dict[str, Any]) -> None:
    _, cause = rejected(cmd("UPSERT_WORKFLOW_SEARCH_ATTRIBUTES", **attrs))
    assert cause == "BAD_SEARCH_ATTRIBUTES"


# --- MODIFY_WORKFLOW_PROPERTIES -----------------------------------------------------


@pytest.mark.parametrize(
    "memo",
    [
        pytest.param({"fields": {"note": "hi", "gone": None}}, id="fields"),
        pytest.param({"note": "hi", "gone": None}, id="bare-map"),
        pytest.param({"fields": {"note": {"data": "hi"}, "gone": None}}, id="data-wrapped"),
    ],
)
def test_modify_workflow_properties(memo: dict[str, Any]) -> None:
    _, out = apply(cmd("MODIFY_WORKFLOW_PROPERTIES", upserted_memo=memo))

    encoded = {"note": encode_payload("hi"), "gone": encode_payload(None)}
    assert types(out) == [WFT_COMPLETED, PROPERTIES_MODIFIED]
    assert out.events[1].attributes == {
        "workflow_task_completed_event_id": WTC,
        "upserted_memo": {"fields": encoded},
    }
    assert out.memo_upsert == encoded
    assert out.search_attributes_upsert is None


def test_memo_update_of_the_completion_is_written_after_the_commands() -> None:
    state = started()
    result = complete(
        state, cmd("RECORD_MARKER", marker_name="m"), memo_update={"fields": {"k": "v"}}
    )
    out = result.transition
    assert types(out) == [WFT_COMPLETED, MARKER, PROPERTIES_MODIFIED]
    assert out.events[2].attributes == {
        "workflow_task_completed_event_id": WTC,
        "upserted_memo": {"fields": {"k": encode_payload("v")}},
    }
    assert out.memo_upsert == {"k": encode_payload("v")}


@pytest.mark.parametrize(
    "attrs",
    [
        pytest.param({}, id="missing"),
        pytest.param({"upserted_memo": {}}, id="empty"),
        pytest.param({"upserted_memo": {"fields": "x"}}, id="fields-not-object"),
    ],
)
def test_modify_workflow_properties_bad(attrs: dict[str, Any]) -> None:
    _, cause = rejected(cmd("MODIFY_WORKFLOW_PROPERTIES", **attrs))
    assert cause == "BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES"


# --- SCHEDULE_ACTIVITY_TASK ---------------------------------------------------------


def activity(activity_id: str = "a1", **attrs: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "activity_id": activity_id,
        "activity_type": {"name": "Charge"},
        "start_to_close_timeout": "10s",
    }
    values.update(attrs)
    return cmd("SCHEDULE_ACTIVITY_TASK", **{k: v for k, v in values.items() if v is not None})


DEFAULT_RETRY = {"initial_interval": "1s", "backoff_coefficient": 2.0, "maximum_interval": "100s"}


def test_schedule_activity() -> None:
    state, out = apply(activity(input={"amount": 10}, header={"fields": {"trace": {"data": "t"}}}))

    assert types(out) == [WFT_COMPLETED, ACTIVITY_SCHEDULED]
    assert ids(out) == [4, 5]
    assert out.events[1].attributes == {
        "activity_id": "a1",
        "activity_type": {"name": "Charge"},
        "task_queue": {"name": QUEUE, "kind": "NORMAL"},
        "header": {"fields": {"trace": encode_payload("t")}},
        "input": encode_payloads({"amount": 10}),
        "schedule_to_close_timeout": "0s",
        "schedule_to_start_timeout": "0s",
        "start_to_close_timeout": "10s",
        "heartbeat_timeout": "0s",
        "workflow_task_completed_event_id": WTC,
        "retry_policy": DEFAULT_RETRY,
    }
    assert out.activity_tasks == [ActivityTaskDispatch(QUEUE, 5)]
    assert out.timers == []  # no schedule-to-start / schedule-to-close bound
    assert out.workflow_tasks == []
    info = state.activities["5"]
    assert (info.scheduled_event_id, info.activity_id, info.activity_type) == (5, "a1", "Charge")
    assert (info.attempt, info.started, info.task_queue) == (1, False, QUEUE)
    assert info.scheduled_time == info.attempt_scheduled_time == LATER
    assert info.input == encode_payloads({"amount": 10})
    assert info.retry_policy == DEFAULT_RETRY


@pytest.mark.parametrize(
    ("task_queue", "activity_type", "expected_queue", "expected_type"),
    [
        pytest.param(None, {"name": "Charge"}, QUEUE, "Charge", id="defaults-to-run-queue"),
        pytest.param({"name": "payments"}, "Charge", "payments", "Charge", id="queue-object"),
        pytest.param("payments", "Refund", "payments", "Refund", id="plain-strings"),
    ],
)
def test_schedule_activity_queue_and_type(
    task_queue: Any, activity_type: Any, expected_queue: str, expected_type: str
) -> None:
    state, out = apply(activity(task_queue=task_queue, activity_type=activity_type))
    attrs = out.events[1].attributes
    assert attrs["task_queue"] == {"name": expected_queue, "kind": "NORMAL"}
    assert attrs["activity_type"] == {"name": expected_type}
    assert out.activity_tasks == [ActivityTaskDispatch(expected_queue, 5)]
    assert state.activities["5"].task_queue == expected_queue


CANCEL_A1 = cmd("REQUEST_CANCEL_ACTIVITY_TASK", scheduled_event_id=5)
COMPLETE = cmd("COMPLETE_WORKFLOW_EXECUTION", result=None)


@pytest.mark.parametrize(
    ("attrs", "later", "starts", "queued"),
    [
        pytest.param({"request_eager_execution": True}, [], True, [], id="eager"),
        pytest.param(
            {"request_eager_execution": True, "schedule_to_start_timeout": "5s"},
            [],
            True,
            [],
            id="eager-without-schedule-to-start-bound",
        ),
        pytest.param(
            {"request_eager_execution": True, "task_queue": "payments"},
            [],
            False,
            [ActivityTaskDispatch("payments", 5)],
            id="another-queue-is-queued",
        ),
        pytest.param(
            {"request_eager_execution": False},
            [],
            False,
            [ActivityTaskDispatch(QUEUE, 5)],
            id="not-asked",
        ),
        pytest.param(
            {"request_eager_execution": True}, [CANCEL_A1], False, [], id="canceled-by-same-task"
        ),
        pytest.param(
            {"request_eager_execution": True}, [COMPLETE], False, [], id="run-closed-by-same-task"
        ),
    ],
)
def test_eager_activity_execution(
    attrs: dict[str, Any], later: list[dict[str, Any]], starts: bool, queued: list[Any]
) -> None:
    state = started()
    result = complete(state, activity(**attrs), *later)
    assert result.failed_cause is None, result.failure_message
    out = result.transition
    assert out.activity_tasks == queued
    if starts:
        [info] = result.eager_activities
        assert info is state.activities["5"]
        assert (info.started_time, info.started_identity, info.attempt) == (LATER, "worker-1", 1)
        assert info.request_id
        assert out.timers == [
            TimerToSet(
                TimerKind.ACTIVITY_START_TO_CLOSE,
                LATER + timedelta(seconds=10),
                {"scheduled_event_id": 5, "attempt": 1},
            )
        ]
    else:
        assert result.eager_activities == []
        assert TimerKind.ACTIVITY_START_TO_CLOSE not in [t.kind for t in out.timers]


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"activity_id": ""}, id="empty-id"),
        pytest.param({"request_eager_execution": "yes"}, id="eager-not-a-boolean"),
        pytest.param({"activity_id": "x" * 1001}, id="id-too-long"),
        pytest.param({"activity_type": None}, id="missing-type"),
        pytest.param({"activity_type": {"name": ""}}, id="empty-type"),
        pytest.param({"activity_type": {}}, id="type-without-name"),
        pytest.param({"task_queue": {"name": ""}, "activity_id": "q"}, id="empty-queue-name"),
        pytest.param({"start_to_close_timeout": None}, id="no-timeout"),
        pytest.param({"start_to_close_timeout": "0s"}, id="zero-timeouts"),
        pytest.param(
            {"start_to_close_timeout": None, "schedule_to_start_timeout": "5s"},
            id="only-schedule-to-start",
        ),
        pytest.param(
            {"start_to_close_timeout": None, "heartbeat_timeout": "5s"}, id="only-heartbeat"
        ),
        pytest.param({"start_to_close_timeout": "-1s"}, id="negative"),
        pytest.param({"start_to_close_timeout": "ten"}, id="malformed"),
        pytest.param({"heartbeat_timeout": "1h"}, id="malformed-heartbeat"),
        pytest.param({"retry_policy": {"backoff_coefficient": 0.5}}, id="coefficient-below-1"),
        pytest.param(
            {"retry_policy": {"initial_interval": "10s", "maximum_interval": "5s"}},
            id="maximum-below-initial",
        ),
        pytest.param({"retry_policy": {"maximum_attempts": -1}}, id="negative-attempts"),
        pytest.param({"retry_policy": {"initial_interval": "x"}}, id="malformed-interval"),
    ],
)
def test_schedule_activity_bad_attributes(overrides: dict[str, Any]) -> None:
    values: dict[str, Any] = {
        "activity_id": "a1",
        "activity_type": {"name": "Charge"},
        "start_to_close_timeout": "10s",
        **overrides,
    }
    command = cmd("SCHEDULE_ACTIVITY_TASK", **{k: v for k, v in values.items() if v is not None})
    state, cause = rejected(command)
    assert cause == "BAD_SCHEDULE_ACTIVITY_ATTRIBUTES"
    assert state.activities == {}


def test_schedule_activity_missing_id() -> None:
    command = cmd(
        "SCHEDULE_ACTIVITY_TASK", activity_type={"name": "A"}, start_to_close_timeout="1s"
    )
    _, cause = rejected(command)
    assert cause == "BAD_SCHEDULE_ACTIVITY_ATTRIBUTES"


def test_schedule_activity_duplicate_id_in_same_batch() -> None:
    state, cause = rejected(activity("a1"), activity("a1"))
    assert cause == "SCHEDULE_ACTIVITY_DUPLICATE_ID"
    assert state.activities == {}


def test_schedule_activity_duplicate_of_a_pending_activity() -> None:
    state, _ = apply(activity("a1"))
    with_next_task(state)

    result = complete(state, activity("a1"), activity("a2"))

    assert result.failed_cause == "SCHEDULE_ACTIVITY_DUPLICATE_ID"
    assert list(state.activities) == ["5"]


def test_activity_id_can_be_reused_once_the_activity_closed() -> None:
    state, _ = apply(activity("a1"))
    activities.start(state, 5, identity="w", request_id="r", now=LATER)
    activities.complete(state, 5, 1, None, "w", LATER)  # schedules a workflow task
    take(state)

    result = complete(state, activity("a1"))

    assert result.failed_cause is None
    assert [a.activity_id for a in state.activities.values()] == ["a1"]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        pytest.param(None, DEFAULT_RETRY, id="absent"),
        pytest.param({}, DEFAULT_RETRY, id="empty"),
        pytest.param(
            {"initial_interval": "2s"},
            {"initial_interval": "2s", "backoff_coefficient": 2.0, "maximum_interval": "200s"},
            id="maximum-is-100x-initial",
        ),
        pytest.param(
            {"initial_interval": "0.5s", "backoff_coefficient": 1.5, "maximum_interval": "30s"},
            {"initial_interval": "0.5s", "backoff_coefficient": 1.5, "maximum_interval": "30s"},
            id="all-set",
        ),
        pytest.param(
            {"maximum_attempts": 3, "non_retryable_error_types": ["CardDeclined"]},
            {
                **DEFAULT_RETRY,
                "maximum_attempts": 3,
                "non_retryable_error_types": ["CardDeclined"],
            },
            id="attempts-and-non-retryable",
        ),
        pytest.param({"maximum_attempts": 0}, DEFAULT_RETRY, id="zero-attempts-is-unlimited"),
    ],
)
def test_schedule_activity_retry_policy_defaults(
    policy: dict[str, Any] | None, expected: dict[str, Any]
) -> None:
    state, out = apply(activity(retry_policy=policy))
    assert out.events[1].attributes["retry_policy"] == expected
    assert state.activities["5"].retry_policy == expected


@pytest.mark.parametrize(
    ("run_timeout", "given", "expected"),
    [
        pytest.param(0.0, {"start_to_close": 10}, (0, 0, 10, 0), id="stc-only"),
        pytest.param(0.0, {"schedule_to_close": 30}, (30, 30, 30, 0), id="s2c-only"),
        pytest.param(
            0.0,
            {"schedule_to_close": 30, "schedule_to_start": 5, "start_to_close": 60},
            (30, 5, 30, 0),
            id="s2c-bounds-stc",
        ),
        pytest.param(
            0.0,
            {"schedule_to_close": 30, "schedule_to_start": 50, "start_to_close": 10},
            (30, 30, 10, 0),
            id="s2c-bounds-s2s",
        ),
        pytest.param(
            0.0, {"start_to_close": 10, "heartbeat": 30}, (0, 0, 10, 10), id="heartbeat-le-stc"
        ),
        pytest.param(
            0.0,
            {"schedule_to_close": 20, "heartbeat": 25},
            (20, 20, 20, 20),
            id="heartbeat-le-derived-stc",
        ),
        pytest.param(
            0.0, {"start_to_close": 10, "heartbeat": 3}, (0, 0, 10, 3), id="heartbeat-kept"
        ),
        pytest.param(
            20.0, {"start_to_close": 10}, (20, 20, 10, 0), id="run-timeout-stands-in-for-s2c"
        ),
        pytest.param(
            20.0,
            {"start_to_close": 10, "schedule_to_start": 5},
            (20, 5, 10, 0),
            id="run-timeout-keeps-s2s",
        ),
        pytest.param(
            20.0,
            {"schedule_to_close": 100, "start_to_close": 50, "heartbeat": 40},
            (20, 20, 20, 20),
            id="all-clamped-to-run-timeout",
        ),
        pytest.param(
            20.0, {"start_to_close": 60, "heartbeat": 30}, (20, 20, 20, 20), id="clamp-stc"
        ),
    ],
)
def test_schedule_activity_timeout_normalization(
    run_timeout: float, given: dict[str, float], expected: tuple[float, float, float, float]
) -> None:
    timeouts: dict[str, Any] = {f"{name}_timeout": f"{s}s" for name, s in given.items()}
    timeouts.setdefault("start_to_close_timeout", None)  # not the helper's default

    state, out = apply(activity(**timeouts), run_timeout=run_timeout)

    s2c, s2s, stc, heartbeat = expected
    info = state.activities["5"]
    assert (
        info.schedule_to_close_timeout,
        info.schedule_to_start_timeout,
        info.start_to_close_timeout,
        info.heartbeat_timeout,
    ) == expected
    attrs = out.events[1].attributes
    assert {k: attrs[k] for k in attrs if k.endswith("_timeout")} == {
        "schedule_to_close_timeout": format_seconds(s2c),
        "schedule_to_start_timeout": format_seconds(s2s),
        "start_to_close_timeout": format_seconds(stc),
        "heartbeat_timeout": format_seconds(heartbeat),
    }
    expected_timers = []
    if s2s:
        expected_timers.append((TimerKind.ACTIVITY_SCHEDULE_TO_START, s2s))
    if s2c:
        expected_timers.append((TimerKind.ACTIVITY_SCHEDULE_TO_CLOSE, s2c))
    activity_timers = [t for t in out.timers if t.kind is not TimerKind.WORKFLOW_RUN_TIMEOUT]
    assert [(t.kind, t.fire_time) for t in activity_timers] == [
        (kind, LATER + timedelta(seconds=seconds)) for kind, seconds in expected_timers
    ]
    assert all(t.data == {"scheduled_event_id": 5, "attempt": 1} for t in activity_timers)


# --- REQUEST_CANCEL_ACTIVITY_TASK ---------------------------------------------------


def activity_then_task(activity_state: str) -> MutableState:
    """Activity a1 scheduled by event 5 and, in the given state, while the worker holds a
    new workflow task (scheduled 6, started 7)."""
    state, _ = apply(
        activity("a1", retry_policy={"initial_interval": "30s"}),
        force_create_new_workflow_task=True,
    )
    if activity_state in ("started", "retrying"):
        activities.start(state, 5, identity="act-worker", request_id="ar", now=LATER)
    if activity_state == "retrying":
        out = activities.fail(state, 5, 1, {"message": "flaky"}, "act-worker", None, LATER)
        assert out.events == []
        assert state.activities["5"].attempt == 2
    take(state)
    return state


@pytest.mark.parametrize("activity_state", ["scheduled", "retrying"])
@pytest.mark.parametrize("scheduled_event_id", [5, "5"])
def test_request_cancel_of_activity_not_running_cancels_it_at_once(
    activity_state: str, scheduled_event_id: int | str
) -> None:
    state = activity_then_task(activity_state)

    result = complete(
        state, cmd("REQUEST_CANCEL_ACTIVITY_TASK", scheduled_event_id=scheduled_event_id)
    )

    out = result.transition
    assert result.failed_cause is None
    assert types(out) == [
        WFT_COMPLETED,
        ACTIVITY_CANCEL_REQUESTED,
        ACTIVITY_CANCELED,
        WFT_SCHEDULED,
    ]
    assert ids(out) == [8, 9, 10, 11]
    assert out.events[1].attributes == {
        "scheduled_event_id": 5,
        "workflow_task_completed_event_id": 8,
    }
    assert out.events[2].attributes == {
        "latest_cancel_requested_event_id": 9,
        "scheduled_event_id": 5,
        "started_event_id": 0,
    }
    assert state.activities == {}
    assert result.new_task_scheduled
    assert task_of(state).scheduled_event_id == 11
    assert not state.needs_workflow_task  # consumed by the completion


def test_request_cancel_of_running_activity_only_records_the_request() -> None:
    state = activity_then_task("started")

    result = complete(state, cmd("REQUEST_CANCEL_ACTIVITY_TASK", scheduled_event_id=5))

    out = result.transition
    assert types(out) == [WFT_COMPLETED, ACTIVITY_CANCEL_REQUESTED]
    assert ids(out) == [8, 9]
    assert not result.new_task_scheduled
    assert state.workflow_task is None
    info = state.activities["5"]
    assert info.cancel_requested_event_id == 9
    cancel_requested, _ = activities.heartbeat(state, 5, 1, None, LATEST)
    assert cancel_requested


def test_schedule_and_cancel_activity_in_one_batch() -> None:
    state, out = apply(activity("a1"), cmd("REQUEST_CANCEL_ACTIVITY_TASK", scheduled_event_id=5))
    assert types(out) == [
        WFT_COMPLETED,
        ACTIVITY_SCHEDULED,
        ACTIVITY_CANCEL_REQUESTED,
        ACTIVITY_CANCELED,
        WFT_SCHEDULED,
    ]
    assert ids(out) == [4, 5, 6, 7, 8]
    assert state.activities == {}


@pytest.mark.parametrize(
    "attrs",
    [
        pytest.param({"scheduled_event_id": 99}, id="unknown"),
        pytest.param({"scheduled_event_id": 4}, id="not-an-activity"),
        pytest.param({}, id="missing"),
        pytest.param({"scheduled_event_id": "five"}, id="not-a-number"),
        pytest.param({"scheduled_event_id": True}, id="bool"),
        pytest.param({"scheduled_event_id": 5.0}, id="float"),
    ],
)
def test_request_cancel_activity_bad_attributes(attrs: dict[str, Any]) -> None:
    state, _ = apply(activity("a1"))
    with_next_task(state)

    result = complete(state, cmd("REQUEST_CANCEL_ACTIVITY_TASK", **attrs))

    assert result.failed_cause == "BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES"
    assert types(result.transition) == [WFT_FAILED]
    assert state.activities["5"].cancel_requested_event_id == 0


# --- check_sequence -----------------------------------------------------------------


@pytest.mark.parametrize(
    "sequence",
    [
        pytest.param([], id="empty"),
        pytest.param([cmd("START_TIMER")], id="one"),
        pytest.param(
            [cmd("START_TIMER"), cmd("RECORD_MARKER"), cmd("COMPLETE_WORKFLOW_EXECUTION")],
            id="close-last",
        ),
        pytest.param([{"command_type": "COMMAND_TYPE_START_TIMER"}], id="prefixed"),
        pytest.param([{"command_type": "start_timer"}], id="lower-case"),
        pytest.param([cmd("CANCEL_WORKFLOW_EXECUTION")], id="lone-close"),
    ],
)
def test_check_sequence_accepts(sequence: list[dict[str, Any]]) -> None:
    commands.check_sequence(sequence)


@pytest.mark.parametrize(
    "sequence",
    [
        pytest.param(
            [cmd("COMPLETE_WORKFLOW_EXECUTION"), cmd("START_TIMER")], id="complete-not-last"
        ),
        pytest.param(
            [cmd("FAIL_WORKFLOW_EXECUTION"), cmd("CANCEL_WORKFLOW_EXECUTION")],
            id="two-close-commands",
        ),
        pytest.param(
            [cmd("CANCEL_WORKFLOW_EXECUTION"), cmd("RECORD_MARKER")], id="cancel-not-last"
        ),
        pytest.param([{"command_type": "BOGUS"}], id="unknown"),
        pytest.param([{}], id="no-type"),
        pytest.param(
            [cmd("START_TIMER"), {"command_type": "COMMAND_TYPE_UNSPECIFIED"}], id="unspec"
        ),
    ],
)
def test_check_sequence_rejects(sequence: list[dict[str, Any]]) -> None:
    with pytest.raises(commands.InvalidCommandSequence):
        commands.check_sequence(sequence)


@pytest.mark.parametrize(
    "kind", ["SCHEDULE_NEXUS_OPERATION", "REQUEST_CANCEL_NEXUS_OPERATION", "PROTOCOL_MESSAGE"]
)
def test_a_command_of_a_feature_not_served_fails_the_task(kind: str) -> None:
    """As Temporal where the feature is turned off: FEATURE_DISABLED, a new attempt."""
    state = started()
    result = complete(state, cmd(kind))
    assert result.failed_cause == "FEATURE_DISABLED"
    assert kind in result.failure_message
    assert task_of(state).attempt == 2


def test_invalid_sequence_rejects_the_completion_without_touching_the_run() -> None:
    state = started()
    snapshot = state.to_json()

    with pytest.raises(commands.InvalidCommandSequence):
        complete(
            state,
            cmd("START_TIMER", timer_id="t1", start_to_fire_timeout="1s"),
            cmd("COMPLETE_WORKFLOW_EXECUTION"),
            cmd("RECORD_MARKER", marker_name="m"),
        )

    assert state.to_json() == snapshot
    assert task_of(state).started
