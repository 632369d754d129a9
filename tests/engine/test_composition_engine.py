"""Pure tests of how runs compose: child workflows as their parent sees them
(app.engine.children), signals and cancel requests between workflows
(app.engine.external), the chain of runs that follows a closed one (app.engine.chains),
continue-as-new (app.engine.close_commands) and the run timeout (app.engine.timers).
No database, no clock: time is passed in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.engine import chains, children, close_commands, external, timers
from app.engine import workflow as engine
from app.engine import workflow_tasks as wt
from app.engine.command_values import BadCommand, retry_policy
from app.engine.events import EventType
from app.engine.state import (
    ChildStart,
    ExternalRequest,
    MutableState,
    NextRun,
    TimerKind,
    Transition,
    WorkflowStatus,
    WorkflowTaskDispatch,
)
from app.payloads import encode_payload, encode_payloads

# 2026-01-01T12:00:00Z is a whole minute and hour, so cron fire times are round numbers.
NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
LATER = NOW + timedelta(seconds=3)
LATEST = NOW + timedelta(seconds=8)

RUN_ID = "11111111-1111-4111-8111-111111111111"
CHILD_RUN = "22222222-2222-4222-8222-222222222222"
TARGET_RUN = "33333333-3333-4333-8333-333333333333"
QUEUE = "orders"
WORKFLOW_TYPE = "OrderProcessingWorkflow"
CHILD_ID = "child-1"
CHILD_TYPE = "ChildWorkflow"
# In an idle run (first workflow task completed with no commands) the completion is
# event 4, and the next event is 5.
WTC = 4
FIRST_FREE = 5

BAD_CHILD = "BAD_START_CHILD_EXECUTION_ATTRIBUTES"
BAD_SIGNAL = "BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES"
BAD_CANCEL = "BAD_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_ATTRIBUTES"
BAD_CAN = "BAD_CONTINUE_AS_NEW_ATTRIBUTES"

WFT_SCHEDULED = EventType.WORKFLOW_TASK_SCHEDULED
WFT_COMPLETED = EventType.WORKFLOW_TASK_COMPLETED
WFT_FAILED = EventType.WORKFLOW_TASK_FAILED
INITIATED = EventType.START_CHILD_WORKFLOW_EXECUTION_INITIATED
CHILD_STARTED = EventType.CHILD_WORKFLOW_EXECUTION_STARTED
CHILD_START_FAILED = EventType.START_CHILD_WORKFLOW_EXECUTION_FAILED
CHILD_COMPLETED = EventType.CHILD_WORKFLOW_EXECUTION_COMPLETED
TIMED_OUT = EventType.WORKFLOW_EXECUTION_TIMED_OUT
CONTINUED = EventType.WORKFLOW_EXECUTION_CONTINUED_AS_NEW

FAILURE = {"message": "card declined", "application_failure_info": {"type": "Declined"}}
RESULT = encode_payloads({"total": 42})


def params(**overrides: Any) -> engine.StartParams:
    values: dict[str, Any] = {
        "workflow_id": "wf-1",
        "run_id": RUN_ID,
        "workflow_type": WORKFLOW_TYPE,
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


# --- scenarios ----------------------------------------------------------------------


def settle(state: MutableState, now: datetime = NOW) -> None:
    """Start and complete (with no commands) the pending workflow task, if any."""
    task = state.workflow_task
    if task is None:
        return
    wt.start(state, task.scheduled_event_id, identity="worker", request_id="poll", now=now)
    result = wt.complete(state, task.scheduled_event_id, task.attempt, wt.Completion([]), now)
    assert result.failed_cause is None, result.failure_message


def idle(**overrides: Any) -> MutableState:
    """A running run whose first workflow task completed with no commands (events 1-4):
    nothing is pending, the next event is 5."""
    state, _ = engine.start(params(**overrides), NOW)
    settle(state)
    assert state.next_event_id == FIRST_FREE and state.workflow_task is None
    return state


def busy(state: MutableState) -> None:
    """Give the run a workflow task that a worker holds (events arriving now buffer)."""
    engine.schedule_workflow_task(state, Transition(), NOW)
    assert state.workflow_task is not None
    wt.start(state, state.workflow_task.scheduled_event_id, identity="w", request_id="p", now=NOW)


def complete_held_task(state: MutableState, *commands: dict[str, Any]) -> wt.CompletionResult:
    task = state.workflow_task
    assert task is not None and task.started
    return wt.complete(
        state, task.scheduled_event_id, task.attempt, wt.Completion(list(commands)), LATER
    )


def terminated(state: MutableState) -> MutableState:
    engine.terminate(state, reason="stop", details=None, identity="", now=NOW)
    return state


def child_attrs(**overrides: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {"workflow_id": CHILD_ID, "workflow_type": {"name": CHILD_TYPE}}
    attrs.update(overrides)
    return attrs


def initiate(state: MutableState, **overrides: Any) -> int:
    """The run sends START_CHILD_WORKFLOW_EXECUTION; returns the Initiated event id."""
    out = Transition()
    children.start_command(state, out, child_attrs(**overrides), WTC, NOW)
    return out.events[0].event_id


def with_started_child(**overrides: Any) -> tuple[MutableState, int, int]:
    """An idle parent with a started child: 5 Initiated, 6 ChildStarted, 7-9 a workflow
    task that saw it. Returns the state, the initiated and the started event ids."""
    state = idle()
    initiated = initiate(state, **overrides)
    out = children.started(state, initiated, CHILD_RUN, NOW)
    settle(state)
    return state, initiated, out.events[0].event_id


def common(initiated: int, **extra: Any) -> dict[str, Any]:
    """What every event about the child carries."""
    return {
        "workflow_execution": {"workflow_id": CHILD_ID, "run_id": CHILD_RUN},
        "workflow_type": {"name": CHILD_TYPE},
        "initiated_event_id": initiated,
        **extra,
    }


# --- children.start_command: validation ---------------------------------------------


@pytest.mark.parametrize(
    "attrs",
    [
        pytest.param({"workflow_type": {"name": CHILD_TYPE}}, id="missing-workflow-id"),
        pytest.param(child_attrs(workflow_id=""), id="empty-workflow-id"),
        pytest.param(child_attrs(workflow_id=7), id="workflow-id-not-a-string"),
        pytest.param(child_attrs(workflow_id="x" * 1001), id="workflow-id-too-long"),
        pytest.param({"workflow_id": CHILD_ID}, id="missing-workflow-type"),
        pytest.param(child_attrs(workflow_type={"name": ""}), id="empty-workflow-type"),
        pytest.param(child_attrs(workflow_type={}), id="workflow-type-without-name"),
        pytest.param(child_attrs(workflow_type="x" * 1001), id="workflow-type-too-long"),
        pytest.param(child_attrs(task_queue={"name": ""}), id="task-queue-empty-name"),
        pytest.param(child_attrs(parent_close_policy="BOGUS"), id="unknown-close-policy"),
        pytest.param(
            child_attrs(parent_close_policy="PARENT_CLOSE_POLICY_KEEP"), id="unknown-prefixed"
        ),
        pytest.param(child_attrs(workflow_id_reuse_policy="BOGUS"), id="unknown-reuse-policy"),
        pytest.param(
            child_attrs(workflow_id_reuse_policy="WORKFLOW_ID_REUSE_POLICY_SOMETIMES"),
            id="unknown-prefixed-reuse-policy",
        ),
        pytest.param(child_attrs(workflow_execution_timeout="10"), id="execution-no-unit"),
        pytest.param(child_attrs(workflow_run_timeout="-1s"), id="run-timeout-negative"),
        pytest.param(child_attrs(workflow_task_timeout="abc"), id="task-timeout-garbage"),
        pytest.param(child_attrs(workflow_run_timeout=10), id="run-timeout-a-number"),
        pytest.param(child_attrs(retry_policy="often"), id="retry-policy-not-an-object"),
        pytest.param(
            child_attrs(retry_policy={"backoff_coefficient": 0.5}), id="retry-coefficient-below-1"
        ),
        pytest.param(
            child_attrs(retry_policy={"initial_interval": "10s", "maximum_interval": "5s"}),
            id="retry-maximum-below-initial",
        ),
        pytest.param(
            child_attrs(retry_policy={"maximum_attempts": -1}), id="retry-negative-attempts"
        ),
        # The cause is the command's own, whichever retry policy field is wrong.
        pytest.param(
            child_attrs(retry_policy={"initial_interval": "soon"}), id="retry-bad-interval"
        ),
        # Temporal validates the child's cron schedule (backoff.ValidateSchedule).
        pytest.param(child_attrs(cron_schedule="every full moon"), id="invalid-cron"),
        pytest.param(child_attrs(header="trace"), id="header-not-an-object"),
        pytest.param(child_attrs(memo=["note"]), id="memo-not-an-object"),
    ],
)
def test_start_child_bad_attributes(attrs: dict[str, Any]) -> None:
    state = idle()
    out = Transition()

    with pytest.raises(BadCommand) as caught:
        children.start_command(state, out, attrs, WTC, LATER)

    assert caught.value.cause == BAD_CHILD
    assert caught.value.message
    assert out == Transition()
    assert state.next_event_id == FIRST_FREE
    assert state.children == {}


def test_start_child_bad_attributes_fail_the_workflow_task_and_start_nothing() -> None:
    state, _ = engine.start(params(), NOW)
    wt.start(state, 2, identity="w", request_id="p", now=NOW)

    result = complete_held_task(
        state,
        cmd("START_CHILD_WORKFLOW_EXECUTION", **child_attrs()),
        cmd("START_CHILD_WORKFLOW_EXECUTION", workflow_id="child-2"),
    )

    assert result.failed_cause == BAD_CHILD
    assert types(result.transition) == [WFT_FAILED]
    assert result.transition.child_starts == []
    assert state.children == {}
    assert state.status is WorkflowStatus.RUNNING


def test_start_and_cancel_of_the_same_child_in_one_task_is_refused() -> None:
    """Temporal: "Start and RequestCancel for child workflow is not allowed in same
    workflow task" (ValidateCancelExternalWorkflowExecutionAttributes)."""
    state, _ = engine.start(params(), NOW)
    wt.start(state, 2, identity="w", request_id="p", now=NOW)

    result = complete_held_task(
        state,
        cmd("START_CHILD_WORKFLOW_EXECUTION", **child_attrs()),
        cmd("REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION", workflow_id=CHILD_ID),
    )

    assert result.failed_cause == BAD_CANCEL
    assert result.transition.child_starts == []
    assert result.transition.external_requests == []


# --- children.start_command: defaults and the Initiated event -----------------------


@pytest.mark.parametrize(
    ("close_policy", "reuse_policy", "expected_close", "expected_reuse"),
    [
        pytest.param(None, None, "TERMINATE", "ALLOW_DUPLICATE", id="defaults"),
        pytest.param("", "", "TERMINATE", "ALLOW_DUPLICATE", id="empty-is-default"),
        pytest.param("ABANDON", "REJECT_DUPLICATE", "ABANDON", "REJECT_DUPLICATE", id="short"),
        pytest.param(
            "PARENT_CLOSE_POLICY_REQUEST_CANCEL",
            "WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY",
            "REQUEST_CANCEL",
            "ALLOW_DUPLICATE_FAILED_ONLY",
            id="proto-names",
        ),
        pytest.param(
            "terminate", "allow_duplicate", "TERMINATE", "ALLOW_DUPLICATE", id="lower-case"
        ),
    ],
)
def test_start_child_policies(
    close_policy: str | None, reuse_policy: str | None, expected_close: str, expected_reuse: str
) -> None:
    state = idle()
    out = Transition()
    attrs = child_attrs(parent_close_policy=close_policy, workflow_id_reuse_policy=reuse_policy)

    children.start_command(state, out, attrs, WTC, LATER)

    event = out.events[0].attributes
    assert event["parent_close_policy"] == expected_close
    assert event["workflow_id_reuse_policy"] == expected_reuse
    assert state.children[str(FIRST_FREE)]["parent_close_policy"] == expected_close
    assert out.child_starts[0].reuse_policy == expected_reuse


@pytest.mark.parametrize(
    ("execution", "run", "task", "expected"),
    [
        pytest.param(None, None, None, (None, None, "10s"), id="none-task-defaults-to-10s"),
        pytest.param("0s", "0s", "0s", (None, None, "10s"), id="zero-is-unset"),
        pytest.param("60s", None, None, ("60s", "60s", "10s"), id="run-defaults-to-execution"),
        pytest.param("60s", "30s", None, ("60s", "30s", "10s"), id="run-within-execution"),
        pytest.param("60s", "90s", None, ("60s", "60s", "10s"), id="run-capped-by-execution"),
        pytest.param(None, "30s", None, (None, "30s", "10s"), id="run-only"),
        pytest.param(None, "5s", None, (None, "5s", "5s"), id="task-capped-by-run"),
        pytest.param(None, "1.5s", None, (None, "1.5s", "1.5s"), id="fractional-run"),
        pytest.param(None, None, "200s", (None, None, "120s"), id="task-capped-at-120s"),
        pytest.param(None, "30s", "3s", (None, "30s", "3s"), id="task-explicit"),
        pytest.param("4s", None, "20s", ("4s", "4s", "4s"), id="task-capped-by-execution"),
    ],
)
def test_start_child_timeouts(
    execution: str | None,
    run: str | None,
    task: str | None,
    expected: tuple[str | None, str | None, str],
) -> None:
    state = idle()
    out = Transition()
    attrs = child_attrs(
        workflow_execution_timeout=execution, workflow_run_timeout=run, workflow_task_timeout=task
    )

    children.start_command(state, out, attrs, WTC, LATER)

    event = out.events[0].attributes
    assert (
        event.get("workflow_execution_timeout"),
        event.get("workflow_run_timeout"),
        event["workflow_task_timeout"],
    ) == expected
    start = out.child_starts[0]

    def seconds(text: str | None) -> float:
        return float(text[:-1]) if text else 0.0

    assert (start.execution_timeout, start.run_timeout, start.workflow_task_timeout) == (
        seconds(expected[0]),
        seconds(expected[1]),
        seconds(expected[2]),
    )


def test_start_child_minimal_command() -> None:
    state = idle()
    out = Transition()

    children.start_command(
        state, out, {"workflow_id": CHILD_ID, "workflow_type": CHILD_TYPE}, WTC, LATER
    )

    assert types(out) == [INITIATED]
    assert ids(out) == [FIRST_FREE]
    assert out.events[0].event_time == LATER
    assert out.events[0].attributes == {
        "workflow_id": CHILD_ID,
        "workflow_type": {"name": CHILD_TYPE},
        "task_queue": {"name": QUEUE, "kind": "NORMAL"},  # the parent's queue
        "workflow_task_timeout": "10s",
        "parent_close_policy": "TERMINATE",
        "workflow_task_completed_event_id": WTC,
        "workflow_id_reuse_policy": "ALLOW_DUPLICATE",
    }
    assert out.child_starts == [
        ChildStart(
            initiated_event_id=FIRST_FREE,
            namespace="",
            workflow_id=CHILD_ID,
            workflow_type=CHILD_TYPE,
            task_queue=QUEUE,
            input=None,
            execution_timeout=0.0,
            run_timeout=0.0,
            workflow_task_timeout=10.0,
            reuse_policy="ALLOW_DUPLICATE",
        )
    ]
    assert state.children == {
        str(FIRST_FREE): {
            "namespace": "",
            "workflow_id": CHILD_ID,
            "workflow_type": CHILD_TYPE,
            "parent_close_policy": "TERMINATE",
            "run_id": "",
            "started_event_id": 0,
            "wtc": WTC,
        }
    }
    # Initiating writes no workflow task: the parent waits for Started or StartFailed.
    assert out.workflow_tasks == []
    assert state.workflow_task is None
    assert state.next_event_id == FIRST_FREE + 1


def test_start_child_full_command() -> None:
    state = idle()
    out = Transition()
    attrs = {
        "namespace": "default",
        "workflow_id": CHILD_ID,
        "workflow_type": {"name": CHILD_TYPE},
        "task_queue": {"name": "child-q"},
        "input": {"order": 7},
        "workflow_execution_timeout": "600s",
        "workflow_run_timeout": "60s",
        "workflow_task_timeout": "5s",
        "parent_close_policy": "ABANDON",
        "workflow_id_reuse_policy": "REJECT_DUPLICATE",
        "retry_policy": {"initial_interval": "2s", "maximum_attempts": 3},
        "cron_schedule": "@every 60s",
        "control": "ctl",
        "header": {"fields": {"trace": {"data": "t-1"}}},
        "memo": {"fields": {"note": "n"}},
        "search_attributes": {"indexed_fields": {"CustomKeywordField": "k"}},
    }

    children.start_command(state, out, attrs, WTC, LATER)

    policy = {
        "initial_interval": "2s",
        "backoff_coefficient": 2.0,
        "maximum_interval": "200s",
        "maximum_attempts": 3,
    }
    header = {"fields": {"trace": encode_payload("t-1")}}
    memo = {"fields": {"note": encode_payload("n")}}
    search = {"indexed_fields": {"CustomKeywordField": encode_payload("k")}}
    assert out.events[0].attributes == {
        "namespace": "default",
        "workflow_id": CHILD_ID,
        "workflow_type": {"name": CHILD_TYPE},
        "task_queue": {"name": "child-q", "kind": "NORMAL"},
        "input": encode_payloads({"order": 7}),
        "workflow_execution_timeout": "600s",
        "workflow_run_timeout": "60s",
        "workflow_task_timeout": "5s",
        "parent_close_policy": "ABANDON",
        "control": "ctl",
        "workflow_task_completed_event_id": WTC,
        "workflow_id_reuse_policy": "REJECT_DUPLICATE",
        "retry_policy": policy,
        "cron_schedule": "@every 60s",
        "header": header,
        "memo": memo,
        "search_attributes": search,
    }
    assert out.child_starts == [
        ChildStart(
            FIRST_FREE,
            "default",
            CHILD_ID,
            CHILD_TYPE,
            "child-q",
            encode_payloads({"order": 7}),
            600.0,
            60.0,
            5.0,
            "REJECT_DUPLICATE",
            policy,
            "@every 60s",
            header,
            memo,
            search,
        )
    ]
    assert state.children[str(FIRST_FREE)]["namespace"] == "default"


def test_start_children_through_a_workflow_task_completion() -> None:
    state, _ = engine.start(params(), NOW)
    wt.start(state, 2, identity="w", request_id="p", now=NOW)

    result = complete_held_task(
        state,
        cmd("START_CHILD_WORKFLOW_EXECUTION", **child_attrs()),
        cmd("START_CHILD_WORKFLOW_EXECUTION", **child_attrs(workflow_id="child-2")),
    )

    out = result.transition
    assert result.failed_cause is None
    assert types(out) == [WFT_COMPLETED, INITIATED, INITIATED]
    assert ids(out) == [4, 5, 6]
    assert [e.attributes["workflow_task_completed_event_id"] for e in out.events[1:]] == [4, 4]
    assert [(c.initiated_event_id, c.workflow_id) for c in out.child_starts] == [
        (5, CHILD_ID),
        (6, "child-2"),
    ]
    assert set(state.children) == {"5", "6"}
    assert out.workflow_tasks == []
    assert state.workflow_task is None


# --- children.started / start_failed --------------------------------------------------


@pytest.mark.parametrize(
    ("namespace", "expected_extra"),
    [
        pytest.param("", {}, id="same-namespace"),
        pytest.param("default", {"namespace": "default"}, id="named-namespace"),
    ],
)
def test_child_started(namespace: str, expected_extra: dict[str, Any]) -> None:
    state = idle()
    initiated = initiate(state, namespace=namespace)

    out = children.started(state, initiated, CHILD_RUN, LATER)

    assert types(out) == [CHILD_STARTED, WFT_SCHEDULED]
    assert ids(out) == [6, 7]
    assert out.events[0].event_time == LATER
    assert out.events[0].attributes == {**expected_extra, **common(initiated)}
    assert out.workflow_tasks == [WorkflowTaskDispatch(QUEUE, 7)]
    child = state.children[str(initiated)]
    assert (child["run_id"], child["started_event_id"]) == (CHILD_RUN, 6)


@pytest.mark.parametrize(
    "cause", ["WORKFLOW_ALREADY_EXISTS", "NAMESPACE_NOT_FOUND"], ids=["exists", "no-namespace"]
)
def test_child_start_failed(cause: str) -> None:
    state = idle()
    initiated = initiate(state)

    out = children.start_failed(state, initiated, cause, LATER)

    assert types(out) == [CHILD_START_FAILED, WFT_SCHEDULED]
    assert ids(out) == [6, 7]
    assert out.events[0].attributes == {
        "workflow_id": CHILD_ID,
        "workflow_type": {"name": CHILD_TYPE},
        "cause": cause,
        "initiated_event_id": initiated,
        "workflow_task_completed_event_id": WTC,
    }
    assert out.workflow_tasks == [WorkflowTaskDispatch(QUEUE, 7)]
    assert state.children == {}
    # The child is forgotten: a second report about it changes nothing.
    assert children.start_failed(state, initiated, cause, LATEST) == Transition()
    assert children.started(state, initiated, CHILD_RUN, LATEST) == Transition()


def test_child_start_failed_names_the_namespace() -> None:
    state = idle()
    initiated = initiate(state, namespace="elsewhere")

    out = children.start_failed(state, initiated, "NAMESPACE_NOT_FOUND", LATER)

    assert out.events[0].attributes["namespace"] == "elsewhere"


@pytest.mark.parametrize("operation", ["started", "start_failed"])
@pytest.mark.parametrize("situation", ["unknown-initiated-id", "parent-closed"])
def test_child_start_outcome_no_op(operation: str, situation: str) -> None:
    state = idle()
    initiated = initiate(state)
    if situation == "parent-closed":
        terminated(state)
    else:
        initiated += 1
    before = state.to_json()

    if operation == "started":
        out = children.started(state, initiated, CHILD_RUN, LATER)
    else:
        out = children.start_failed(state, initiated, "WORKFLOW_ALREADY_EXISTS", LATER)

    assert out == Transition()
    if situation == "unknown-initiated-id":
        assert state.to_json() == before


def test_child_started_during_a_workflow_task_is_buffered_and_its_close_refers_to_it() -> None:
    """Temporal wires a buffered Started event's id into what refers to it (§1.4)."""
    state = idle()
    initiated = initiate(state)  # 5
    busy(state)  # 6 scheduled, 7 started

    out = children.started(state, initiated, CHILD_RUN, LATER)

    assert out.events == []
    assert [e.event_type for e in state.buffered_events] == [CHILD_STARTED]
    flushed = complete_held_task(state).transition
    assert types(flushed) == [WFT_COMPLETED, CHILD_STARTED, WFT_SCHEDULED]
    started_id = flushed.events[1].event_id
    assert started_id == 9
    settle(state)

    closing = children.closed(
        state, initiated, "WORKFLOW_EXECUTION_COMPLETED", {"result": RESULT}, LATEST
    )

    assert types(closing)[0] is CHILD_COMPLETED
    assert closing.events[0].attributes["started_event_id"] == started_id


# --- children.closed ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("close_type", "close_attributes", "parent_event", "carried"),
    [
        pytest.param(
            "WORKFLOW_EXECUTION_COMPLETED",
            {"result": RESULT, "workflow_task_completed_event_id": 9},
            EventType.CHILD_WORKFLOW_EXECUTION_COMPLETED,
            {"result": RESULT},
            id="completed",
        ),
        pytest.param(
            "WORKFLOW_EXECUTION_COMPLETED",
            {"workflow_task_completed_event_id": 9},
            EventType.CHILD_WORKFLOW_EXECUTION_COMPLETED,
            {},
            id="completed-without-result",
        ),
        pytest.param(
            "WORKFLOW_EXECUTION_FAILED",
            {
                "failure": FAILURE,
                "retry_state": "MAXIMUM_ATTEMPTS_REACHED",
                "workflow_task_completed_event_id": 9,
            },
            EventType.CHILD_WORKFLOW_EXECUTION_FAILED,
            {"failure": FAILURE, "retry_state": "MAXIMUM_ATTEMPTS_REACHED"},
            id="failed",
        ),
        pytest.param(
            "WORKFLOW_EXECUTION_FAILED",
            {"failure": FAILURE, "retry_state": "RETRY_POLICY_NOT_SET"},
            EventType.CHILD_WORKFLOW_EXECUTION_FAILED,
            {"failure": FAILURE, "retry_state": "RETRY_POLICY_NOT_SET"},
            id="failed-no-policy",
        ),
        pytest.param(
            "WORKFLOW_EXECUTION_CANCELED",
            {"details": encode_payloads("bye"), "workflow_task_completed_event_id": 9},
            EventType.CHILD_WORKFLOW_EXECUTION_CANCELED,
            {"details": encode_payloads("bye")},
            id="canceled",
        ),
        pytest.param(
            "WORKFLOW_EXECUTION_TIMED_OUT",
            {"retry_state": "TIMEOUT"},
            EventType.CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
            {"retry_state": "TIMEOUT"},
            id="timed-out",
        ),
        pytest.param(
            "WORKFLOW_EXECUTION_TERMINATED",
            {"reason": "stop", "identity": "admin"},
            EventType.CHILD_WORKFLOW_EXECUTION_TERMINATED,
            {},
            id="terminated",
        ),
        # ChildWorkflowExecutionTerminatedEventAttributes has no details field.
        pytest.param(
            "WORKFLOW_EXECUTION_TERMINATED",
            {"reason": "stop", "details": encode_payloads("why"), "identity": "admin"},
            EventType.CHILD_WORKFLOW_EXECUTION_TERMINATED,
            {},
            id="terminated-with-details",
        ),
    ],
)
def test_child_closed(
    close_type: str,
    close_attributes: dict[str, Any],
    parent_event: EventType,
    carried: dict[str, Any],
) -> None:
    state, initiated, started_id = with_started_child()
    assert (initiated, started_id, state.next_event_id) == (5, 6, 10)

    out = children.closed(state, initiated, close_type, close_attributes, LATEST)

    assert types(out) == [parent_event, WFT_SCHEDULED]
    assert ids(out) == [10, 11]
    assert out.events[0].event_time == LATEST
    assert out.events[0].attributes == common(initiated, started_event_id=started_id, **carried)
    assert out.workflow_tasks == [WorkflowTaskDispatch(QUEUE, 11)]
    assert state.children == {}
    assert state.is_running


def test_child_closed_names_the_run_that_closed() -> None:
    """After a retry or continue-as-new the chain ends in a later run: the parent's event
    names that run, not the first one."""
    state, initiated, started_id = with_started_child()
    last_run = "44444444-4444-4444-8444-444444444444"

    out = children.closed(
        state,
        initiated,
        "WORKFLOW_EXECUTION_COMPLETED",
        {"result": RESULT},
        LATEST,
        child_run_id=last_run,
    )

    assert out.events[0].attributes == {
        **common(initiated, started_event_id=started_id, result=RESULT),
        "workflow_execution": {"workflow_id": CHILD_ID, "run_id": last_run},
    }


@pytest.mark.parametrize(
    "situation",
    ["unknown-initiated-id", "continued-as-new", "unknown-close-type", "parent-closed", "twice"],
)
def test_child_closed_no_op(situation: str) -> None:
    state, initiated, _ = with_started_child()
    close_type = "WORKFLOW_EXECUTION_COMPLETED"
    if situation == "unknown-initiated-id":
        initiated += 100
    elif situation == "continued-as-new":
        # The child's chain goes on: its parent hears only when the chain ends.
        close_type = "WORKFLOW_EXECUTION_CONTINUED_AS_NEW"
    elif situation == "unknown-close-type":
        close_type = "WORKFLOW_EXECUTION_PAUSED"
    elif situation == "parent-closed":
        terminated(state)
    else:
        children.closed(state, initiated, close_type, {"result": RESULT}, LATER)
        settle(state)
    before = state.to_json()

    out = children.closed(state, initiated, close_type, {"result": RESULT}, LATEST)

    assert out == Transition()
    assert state.to_json() == before


def test_child_closed_during_a_workflow_task_is_buffered_then_written() -> None:
    state, initiated, started_id = with_started_child()
    busy(state)  # 10 scheduled, 11 started

    out = children.closed(
        state, initiated, "WORKFLOW_EXECUTION_COMPLETED", {"result": RESULT}, LATER
    )

    assert out.events == []
    assert out.workflow_tasks == []
    assert [e.event_type for e in state.buffered_events] == [CHILD_COMPLETED]
    flushed = complete_held_task(state).transition
    assert types(flushed) == [WFT_COMPLETED, CHILD_COMPLETED, WFT_SCHEDULED]
    assert ids(flushed) == [12, 13, 14]
    assert flushed.events[1].attributes == common(
        initiated, started_event_id=started_id, result=RESULT
    )


# --- external.signal_command / cancel_command -----------------------------------------


def test_signal_external_command() -> None:
    state = idle()
    out = Transition()
    attrs = {
        "namespace": "default",
        "execution": {"workflow_id": "target", "run_id": TARGET_RUN},
        "signal_name": "go",
        "input": {"x": 1},
        "control": "ctl",
        "child_workflow_only": True,
    }

    external.signal_command(state, out, attrs, WTC, LATER)

    assert types(out) == [EventType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED]
    assert ids(out) == [FIRST_FREE]
    assert out.events[0].event_time == LATER
    assert out.events[0].attributes == {
        "workflow_task_completed_event_id": WTC,
        "namespace": "default",
        "workflow_execution": {"workflow_id": "target", "run_id": TARGET_RUN},
        "signal_name": "go",
        "input": encode_payloads({"x": 1}),
        "control": "ctl",
        "child_workflow_only": True,
    }
    assert out.external_requests == [
        ExternalRequest(
            external.SIGNAL,
            FIRST_FREE,
            "default",
            "target",
            TARGET_RUN,
            signal_name="go",
            input=encode_payloads({"x": 1}),
            child_workflow_only=True,
        )
    ]
    assert state.pending_external == {
        str(FIRST_FREE): {
            "kind": external.SIGNAL,
            "wtc": WTC,
            "namespace": "default",
            "workflow_execution": {"workflow_id": "target", "run_id": TARGET_RUN},
        }
    }
    assert out.workflow_tasks == []


@pytest.mark.parametrize("key", ["execution", "workflow_execution"])
def test_signal_external_minimal_command(key: str) -> None:
    state = idle()
    out = Transition()

    external.signal_command(
        state, out, {key: {"workflow_id": "target"}, "signal_name": "go"}, WTC, LATER
    )

    assert out.events[0].attributes == {
        "workflow_task_completed_event_id": WTC,
        "workflow_execution": {"workflow_id": "target", "run_id": ""},
        "signal_name": "go",
        "child_workflow_only": False,
    }
    request = out.external_requests[0]
    assert (request.kind, request.namespace, request.workflow_id, request.run_id) == (
        external.SIGNAL,
        "",
        "target",
        "",
    )


def test_signal_external_header_is_stored_as_payloads() -> None:
    """Like the header of every other command (child start, activity, continue-as-new):
    plain JSON values arrive and Payloads are stored."""
    state = idle()
    out = Transition()
    attrs = {
        "execution": {"workflow_id": "target"},
        "signal_name": "go",
        "header": {"fields": {"trace": "t-1"}},
    }

    external.signal_command(state, out, attrs, WTC, LATER)

    expected = {"fields": {"trace": encode_payload("t-1")}}
    assert out.events[0].attributes["header"] == expected
    assert out.external_requests[0].header == expected


@pytest.mark.parametrize(
    "attrs",
    [
        pytest.param({"signal_name": "go"}, id="missing-execution"),
        pytest.param({"execution": "target", "signal_name": "go"}, id="execution-not-object"),
        pytest.param({"execution": {}, "signal_name": "go"}, id="missing-workflow-id"),
        pytest.param(
            {"execution": {"workflow_id": ""}, "signal_name": "go"}, id="empty-workflow-id"
        ),
        pytest.param(
            {"execution": {"workflow_id": "x" * 1001}, "signal_name": "go"},
            id="workflow-id-too-long",
        ),
        pytest.param({"execution": {"workflow_id": "target"}}, id="missing-signal-name"),
        pytest.param(
            {"execution": {"workflow_id": "target"}, "signal_name": ""}, id="empty-signal-name"
        ),
        # Temporal: "Invalid RunId set on SignalExternalWorkflowExecutionCommand".
        pytest.param(
            {"execution": {"workflow_id": "target", "run_id": "run-7"}, "signal_name": "go"},
            id="run-id-not-a-uuid",
        ),
    ],
)
def test_signal_external_bad_attributes(attrs: dict[str, Any]) -> None:
    state = idle()
    out = Transition()

    with pytest.raises(BadCommand) as caught:
        external.signal_command(state, out, attrs, WTC, LATER)

    assert caught.value.cause == BAD_SIGNAL
    assert out == Transition()
    assert state.pending_external == {}
    assert state.next_event_id == FIRST_FREE


def test_cancel_external_command() -> None:
    state = idle()
    out = Transition()
    attrs = {
        "namespace": "default",
        "workflow_id": "target",
        "run_id": TARGET_RUN,
        "reason": "no longer needed",
        "control": "ctl",
        "child_workflow_only": True,
    }

    external.cancel_command(state, out, attrs, WTC, LATER)

    assert types(out) == [EventType.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED]
    assert ids(out) == [FIRST_FREE]
    assert out.events[0].attributes == {
        "workflow_task_completed_event_id": WTC,
        "namespace": "default",
        "workflow_execution": {"workflow_id": "target", "run_id": TARGET_RUN},
        "control": "ctl",
        "child_workflow_only": True,
        "reason": "no longer needed",
    }
    assert out.external_requests == [
        ExternalRequest(
            external.CANCEL,
            FIRST_FREE,
            "default",
            "target",
            TARGET_RUN,
            reason="no longer needed",
            child_workflow_only=True,
        )
    ]
    assert state.pending_external[str(FIRST_FREE)]["kind"] == external.CANCEL


def test_cancel_external_minimal_command() -> None:
    state = idle()
    out = Transition()

    external.cancel_command(state, out, {"workflow_id": "target"}, WTC, LATER)

    assert out.events[0].attributes == {
        "workflow_task_completed_event_id": WTC,
        "workflow_execution": {"workflow_id": "target", "run_id": ""},
        "child_workflow_only": False,
    }
    assert out.external_requests[0].reason == ""


@pytest.mark.parametrize(
    "attrs",
    [
        pytest.param({}, id="missing-workflow-id"),
        pytest.param({"workflow_id": ""}, id="empty-workflow-id"),
        pytest.param({"workflow_id": 5}, id="workflow-id-not-a-string"),
        pytest.param({"workflow_id": "x" * 1001}, id="workflow-id-too-long"),
        # Temporal: "Invalid RunId set on RequestCancelExternalWorkflowExecutionCommand".
        pytest.param({"workflow_id": "target", "run_id": "run-7"}, id="run-id-not-a-uuid"),
    ],
)
def test_cancel_external_bad_attributes(attrs: dict[str, Any]) -> None:
    state = idle()
    out = Transition()

    with pytest.raises(BadCommand) as caught:
        external.cancel_command(state, out, attrs, WTC, LATER)

    assert caught.value.cause == BAD_CANCEL
    assert out == Transition()
    assert state.pending_external == {}


# --- external.delivered / failed ------------------------------------------------------


def send(state: MutableState, kind: str, **extra: Any) -> int:
    out = Transition()
    if kind == external.SIGNAL:
        attrs = {"execution": {"workflow_id": "target"}, "signal_name": "go", **extra}
        external.signal_command(state, out, attrs, WTC, NOW)
    else:
        external.cancel_command(state, out, {"workflow_id": "target", **extra}, WTC, NOW)
    return out.events[0].event_id


@pytest.mark.parametrize(
    ("kind", "namespace", "event_type", "extra"),
    [
        pytest.param(
            external.SIGNAL, "", EventType.EXTERNAL_WORKFLOW_EXECUTION_SIGNALED, {}, id="signal"
        ),
        pytest.param(
            external.CANCEL,
            "",
            EventType.EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
            {},
            id="cancel",
        ),
        pytest.param(
            external.SIGNAL,
            "default",
            EventType.EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
            {"namespace": "default"},
            id="signal-named-namespace",
        ),
    ],
)
def test_external_delivered(
    kind: str, namespace: str, event_type: EventType, extra: dict[str, Any]
) -> None:
    state = idle()
    initiated = send(state, kind, namespace=namespace)

    # The request named no run; the event names the run that received it.
    out = external.delivered(state, initiated, TARGET_RUN, LATER)

    assert types(out) == [event_type, WFT_SCHEDULED]
    assert ids(out) == [6, 7]
    assert out.events[0].event_time == LATER
    assert out.events[0].attributes == {
        "initiated_event_id": initiated,
        **extra,
        "workflow_execution": {"workflow_id": "target", "run_id": TARGET_RUN},
    }
    assert out.workflow_tasks == [WorkflowTaskDispatch(QUEUE, 7)]
    assert state.pending_external == {}


@pytest.mark.parametrize(
    ("kind", "event_type"),
    [
        (external.SIGNAL, EventType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED),
        (external.CANCEL, EventType.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED),
    ],
    ids=["signal", "cancel"],
)
@pytest.mark.parametrize("cause", ["EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND", "NAMESPACE_NOT_FOUND"])
def test_external_failed(kind: str, event_type: EventType, cause: str) -> None:
    state = idle()
    initiated = send(state, kind)

    out = external.failed(state, initiated, cause, LATER)

    assert types(out) == [event_type, WFT_SCHEDULED]
    assert ids(out) == [6, 7]
    assert out.events[0].attributes == {
        "cause": cause,
        "workflow_task_completed_event_id": WTC,
        "workflow_execution": {"workflow_id": "target", "run_id": ""},
        "initiated_event_id": initiated,
    }
    assert out.workflow_tasks == [WorkflowTaskDispatch(QUEUE, 7)]
    assert state.pending_external == {}


@pytest.mark.parametrize("kind", [external.SIGNAL, external.CANCEL])
@pytest.mark.parametrize(
    "situation", ["unknown-initiated-id", "already-delivered", "already-failed", "sender-closed"]
)
def test_external_outcome_no_op(kind: str, situation: str) -> None:
    state = idle()
    initiated = send(state, kind)
    if situation == "unknown-initiated-id":
        initiated += 100
    elif situation == "already-delivered":
        external.delivered(state, initiated, TARGET_RUN, NOW)
        settle(state)
    elif situation == "already-failed":
        external.failed(state, initiated, "EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND", NOW)
        settle(state)
    else:
        terminated(state)
    before = state.to_json()

    assert external.delivered(state, initiated, TARGET_RUN, LATER) == Transition()
    assert (
        external.failed(state, initiated, "EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND", LATER)
        == Transition()
    )
    if situation != "sender-closed":
        assert state.to_json() == before


def test_external_outcome_during_a_workflow_task_is_buffered() -> None:
    state = idle()
    initiated = send(state, external.SIGNAL)  # 5
    busy(state)  # 6 scheduled, 7 started

    out = external.delivered(state, initiated, TARGET_RUN, LATER)

    assert out.events == []
    assert out.workflow_tasks == []
    flushed = complete_held_task(state).transition
    assert types(flushed) == [
        WFT_COMPLETED,
        EventType.EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
        WFT_SCHEDULED,
    ]
    assert flushed.events[1].attributes["initiated_event_id"] == initiated


# --- chains: retry, cron, next run id -------------------------------------------------


def policy(**fields: Any) -> dict[str, Any]:
    """A workflow retry policy as the server stores it (defaults filled in)."""
    return retry_policy(fields, "BAD_CONTINUE_AS_NEW_ATTRIBUTES")


@pytest.mark.parametrize(
    ("retry", "attempt", "failure", "execution_timeout", "delay", "retry_state"),
    [
        pytest.param(None, 1, FAILURE, 0.0, None, "RETRY_POLICY_NOT_SET", id="no-policy"),
        pytest.param(policy(), 1, FAILURE, 0.0, 1.0, "IN_PROGRESS", id="defaults-first"),
        pytest.param(policy(), 2, FAILURE, 0.0, 2.0, "IN_PROGRESS", id="defaults-second"),
        pytest.param(policy(), 4, FAILURE, 0.0, 8.0, "IN_PROGRESS", id="defaults-fourth"),
        pytest.param(
            policy(initial_interval="2s", backoff_coefficient=3.0),
            3,
            FAILURE,
            0.0,
            18.0,
            "IN_PROGRESS",
            id="initial-times-coefficient-power",
        ),
        pytest.param(
            policy(maximum_interval="5s"), 4, FAILURE, 0.0, 5.0, "IN_PROGRESS", id="capped"
        ),
        pytest.param(policy(), 10, FAILURE, 0.0, 100.0, "IN_PROGRESS", id="default-cap-100x"),
        pytest.param(
            policy(maximum_attempts=3), 2, FAILURE, 0.0, 2.0, "IN_PROGRESS", id="below-maximum"
        ),
        pytest.param(
            policy(maximum_attempts=3),
            3,
            FAILURE,
            0.0,
            None,
            "MAXIMUM_ATTEMPTS_REACHED",
            id="maximum-attempts",
        ),
        pytest.param(
            policy(maximum_attempts=1),
            1,
            FAILURE,
            0.0,
            None,
            "MAXIMUM_ATTEMPTS_REACHED",
            id="single-attempt",
        ),
        pytest.param(
            policy(non_retryable_error_types=["Declined"]),
            1,
            FAILURE,
            0.0,
            None,
            "NON_RETRYABLE_FAILURE",
            id="non-retryable-type",
        ),
        pytest.param(
            policy(non_retryable_error_types=["Other"]),
            1,
            FAILURE,
            0.0,
            1.0,
            "IN_PROGRESS",
            id="other-type-retried",
        ),
        pytest.param(
            policy(),
            1,
            {"message": "no", "application_failure_info": {"non_retryable": True}},
            0.0,
            None,
            "NON_RETRYABLE_FAILURE",
            id="non-retryable-failure",
        ),
        pytest.param(
            policy(),
            1,
            {"message": "later", "application_failure_info": {"next_retry_delay": "7s"}},
            0.0,
            7.0,
            "IN_PROGRESS",
            id="next-retry-delay",
        ),
        # The run fails 5s into a 10s execution timeout.
        pytest.param(policy(), 1, FAILURE, 10.0, 1.0, "IN_PROGRESS", id="retry-within-execution"),
        pytest.param(policy(), 4, FAILURE, 10.0, None, "TIMEOUT", id="retry-past-execution"),
    ],
)
def test_after_failure_retry(
    retry: dict[str, Any] | None,
    attempt: int,
    failure: dict[str, Any],
    execution_timeout: float,
    delay: float | None,
    retry_state: str,
) -> None:
    state, _ = engine.start(
        params(retry_policy=retry, attempt=attempt, execution_timeout=execution_timeout), NOW
    )
    at = NOW + timedelta(seconds=5)

    next_run, extra = chains.after_failure(state, failure, at)

    if delay is None:
        assert next_run is None
        assert extra == {"retry_state": retry_state}
        return
    expected_id = chains.next_run_id(state)
    assert next_run == NextRun(
        expected_id, "RETRY", delay, attempt=attempt + 1, continued_failure=failure
    )
    assert extra == {"retry_state": retry_state, "new_execution_run_id": expected_id}


def test_after_failure_execution_expired_ends_the_chain() -> None:
    """Neither the retry policy nor the cron schedule continue an expired execution."""
    state, _ = engine.start(
        params(retry_policy=policy(), cron_schedule="@every 60s", execution_timeout=10.0), NOW
    )

    next_run, extra = chains.after_failure(
        state, FAILURE, NOW + timedelta(seconds=10), execution_expired=True
    )

    assert next_run is None
    assert extra == {"retry_state": "TIMEOUT"}


@pytest.mark.parametrize(
    ("retry", "attempt", "initiator", "backoff", "retry_state"),
    [
        pytest.param(None, 1, "CRON_SCHEDULE", 60.0, "RETRY_POLICY_NOT_SET", id="no-policy"),
        pytest.param(
            policy(maximum_attempts=2),
            2,
            "CRON_SCHEDULE",
            60.0,
            "MAXIMUM_ATTEMPTS_REACHED",
            id="retries-exhausted",
        ),
        pytest.param(
            policy(non_retryable_error_types=["Declined"]),
            1,
            "CRON_SCHEDULE",
            60.0,
            "NON_RETRYABLE_FAILURE",
            id="non-retryable",
        ),
        pytest.param(policy(), 1, "RETRY", 1.0, "IN_PROGRESS", id="retry-first"),
    ],
)
def test_after_failure_cron(
    retry: dict[str, Any] | None, attempt: int, initiator: str, backoff: float, retry_state: str
) -> None:
    """Retry first; when there is none, the cron schedule starts the next run (attempt 1,
    carrying the failure)."""
    state, _ = engine.start(
        params(cron_schedule="@every 60s", retry_policy=retry, attempt=attempt), NOW
    )

    next_run, extra = chains.after_failure(state, FAILURE, NOW)

    expected_id = chains.next_run_id(state)
    assert next_run == NextRun(
        expected_id,
        initiator,
        backoff,
        attempt=1 if initiator == "CRON_SCHEDULE" else attempt + 1,
        continued_failure=FAILURE,
    )
    assert extra == {"retry_state": retry_state, "new_execution_run_id": expected_id}


def test_after_failure_cron_past_the_execution_timeout_ends_the_chain() -> None:
    state, _ = engine.start(params(cron_schedule="@every 60s", execution_timeout=30.0), NOW)

    next_run, extra = chains.after_failure(state, FAILURE, NOW)

    assert next_run is None
    assert extra == {"retry_state": "RETRY_POLICY_NOT_SET"}


@pytest.mark.parametrize(
    ("schedule", "started", "first_backoff", "closed", "backoff"),
    [
        pytest.param("@every 2s", 0.0, 0.0, 0.0, 2.0, id="every-at-once"),
        pytest.param("@every 2s", 0.0, 0.0, 0.5, 2.0, id="every-rounded-up"),
        pytest.param("@every 2s", 0.0, 0.0, 1.5, 1.0, id="every-just-before-the-next-fire"),
        # Temporal steps the schedule from the run's own fire time (execution time) to
        # the first fire time not before the close (GetBackoffForNextSchedule).
        pytest.param("@every 2s", 1.0, 0.0, 1.5, 2.0, id="every-from-the-run-start"),
        pytest.param("@every 2s", 0.0, 1.0, 1.5, 2.0, id="every-from-the-first-fire"),
        pytest.param("@every 60s", 0.0, 0.0, 0.0, 60.0, id="every-minute"),
        pytest.param("@every 60s", 0.0, 0.0, 61.0, 59.0, id="every-missed-fire-skipped"),
        pytest.param("0 * * * *", 0.0, 0.0, 0.0, 3600.0, id="hourly-on-the-hour"),
        pytest.param("0 * * * *", 0.0, 0.0, 30.5, 3570.0, id="hourly-rounded-up"),
        pytest.param("*/15 * * * *", 0.0, 0.0, 16 * 60.0, 14 * 60.0, id="quarter-hours"),
    ],
)
def test_after_completion_cron(
    schedule: str, started: float, first_backoff: float, closed: float, backoff: float
) -> None:
    """The next cron run is due at the next fire time after the close, rounded up to
    whole seconds; offsets are seconds after NOW."""
    start = NOW + timedelta(seconds=started)
    state, _ = engine.start(
        params(cron_schedule=schedule, first_workflow_task_backoff=first_backoff), start
    )
    timers.end_first_task_backoff(state, start + timedelta(seconds=first_backoff))

    next_run, extra = chains.after_completion(state, RESULT, NOW + timedelta(seconds=closed))

    expected_id = chains.next_run_id(state)
    assert next_run == NextRun(
        expected_id, "CRON_SCHEDULE", backoff, attempt=1, last_completion_result=RESULT
    )
    assert extra == {"new_execution_run_id": expected_id}


@pytest.mark.parametrize(
    ("overrides", "result", "expected"),
    [
        pytest.param({}, RESULT, None, id="no-cron"),
        pytest.param({"retry_policy": policy()}, RESULT, None, id="retry-policy-only"),
        pytest.param(
            {"cron_schedule": "@every 60s", "execution_timeout": 30.0},
            RESULT,
            None,
            id="cron-past-execution-timeout",
        ),
        pytest.param(
            {"cron_schedule": "@every 60s", "retry_policy": policy(), "attempt": 3},
            RESULT,
            NextRun("", "CRON_SCHEDULE", 60.0, attempt=1, last_completion_result=RESULT),
            id="cron-resets-the-attempt",
        ),
        pytest.param(
            {"cron_schedule": "@every 60s"},
            None,
            NextRun("", "CRON_SCHEDULE", 60.0, attempt=1),
            id="cron-without-result",
        ),
    ],
)
def test_after_completion(
    overrides: dict[str, Any], result: dict[str, Any] | None, expected: NextRun | None
) -> None:
    state, _ = engine.start(params(**overrides), NOW)

    next_run, extra = chains.after_completion(state, result, NOW)

    if expected is None:
        assert next_run is None
        assert extra == {}
        return
    expected.run_id = chains.next_run_id(state)
    assert next_run == expected
    assert extra == {"new_execution_run_id": expected.run_id}


def test_next_run_id_is_deterministic() -> None:
    first, _ = engine.start(params(), NOW)
    again, _ = engine.start(params(), LATER)
    other_run, _ = engine.start(params(run_id=TARGET_RUN), NOW)

    run_id = chains.next_run_id(first)

    assert run_id == chains.next_run_id(first) == chains.next_run_id(again)
    assert run_id == str(uuid.uuid5(uuid.UUID(RUN_ID), f"next-run/{first.next_event_id}"))
    assert str(uuid.UUID(run_id)) == run_id
    assert run_id != RUN_ID
    assert chains.next_run_id(other_run) != run_id
    first.next_event_id += 1
    assert chains.next_run_id(first) != run_id


@pytest.mark.parametrize(
    ("overrides", "command", "close_type", "expected_extra", "initiator"),
    [
        pytest.param(
            {"cron_schedule": "@every 60s"},
            cmd("COMPLETE_WORKFLOW_EXECUTION", result={"total": 42}),
            EventType.WORKFLOW_EXECUTION_COMPLETED,
            {},
            "CRON_SCHEDULE",
            id="complete-cron",
        ),
        pytest.param(
            {"retry_policy": policy(initial_interval="3s")},
            cmd("FAIL_WORKFLOW_EXECUTION", failure=FAILURE),
            EventType.WORKFLOW_EXECUTION_FAILED,
            {"retry_state": "IN_PROGRESS"},
            "RETRY",
            id="fail-retry",
        ),
        pytest.param(
            {"cron_schedule": "@every 60s"},
            cmd("FAIL_WORKFLOW_EXECUTION", failure=FAILURE),
            EventType.WORKFLOW_EXECUTION_FAILED,
            {"retry_state": "RETRY_POLICY_NOT_SET"},
            "CRON_SCHEDULE",
            id="fail-cron",
        ),
    ],
)
def test_closing_command_names_the_next_run(
    overrides: dict[str, Any],
    command: dict[str, Any],
    close_type: EventType,
    expected_extra: dict[str, Any],
    initiator: str,
) -> None:
    """The old run keeps its real close type and status, with new_execution_run_id."""
    state, _ = engine.start(params(**overrides), NOW)
    wt.start(state, 2, identity="w", request_id="p", now=NOW)
    expected_id = str(uuid.uuid5(uuid.UUID(RUN_ID), "next-run/5"))

    result = complete_held_task(state, command)

    out = result.transition
    assert types(out) == [WFT_COMPLETED, close_type]
    closing = out.events[1].attributes
    assert closing["new_execution_run_id"] == expected_id
    assert {k: v for k, v in closing.items() if k == "retry_state"} == expected_extra
    assert out.next_run is not None
    assert (out.next_run.run_id, out.next_run.initiator) == (expected_id, initiator)
    assert state.status is WorkflowStatus(close_type.value.removeprefix("WORKFLOW_EXECUTION_"))


def test_canceled_run_is_never_continued() -> None:
    state, _ = engine.start(params(cron_schedule="@every 60s", retry_policy=policy()), NOW)
    wt.start(state, 2, identity="w", request_id="p", now=NOW)

    result = complete_held_task(state, cmd("CANCEL_WORKFLOW_EXECUTION"))

    assert types(result.transition) == [WFT_COMPLETED, EventType.WORKFLOW_EXECUTION_CANCELED]
    assert "new_execution_run_id" not in result.transition.events[1].attributes
    assert result.transition.next_run is None


# --- close_commands.continue_as_new ---------------------------------------------------


def can_state(**overrides: Any) -> MutableState:
    values: dict[str, Any] = {
        "execution_timeout": 600.0,
        "run_timeout": 60.0,
        "workflow_task_timeout": 5.0,
        "input": encode_payloads({"page": 1}),
    }
    values.update(overrides)
    return idle(**values)


def inherited_event(run_id: str, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "new_execution_run_id": run_id,
        "workflow_type": {"name": WORKFLOW_TYPE},
        "task_queue": {"name": QUEUE, "kind": "NORMAL"},
        "workflow_run_timeout": "60s",
        "workflow_task_timeout": "5s",
        "workflow_task_completed_event_id": WTC,
        "backoff_start_interval": "0s",
        "initiator": "WORKFLOW",
    }
    event.update(changes)
    return event


@pytest.mark.parametrize(
    "attrs",
    [
        pytest.param({}, id="nothing-set"),
        # Temporal inherits a type or queue whose name is empty, like an absent one.
        pytest.param({"workflow_type": {"name": ""}}, id="empty-type-name"),
        pytest.param({"task_queue": {"name": ""}}, id="empty-queue-name"),
        pytest.param({"workflow_run_timeout": "0s", "workflow_task_timeout": "0s"}, id="zeros"),
    ],
)
def test_continue_as_new_inherits(attrs: dict[str, Any]) -> None:
    state = can_state()
    run_id = chains.next_run_id(state)
    out = Transition()

    close_commands.continue_as_new(state, out, attrs, WTC, LATER)

    assert types(out) == [CONTINUED]
    assert ids(out) == [FIRST_FREE]
    assert out.events[0].event_time == LATER
    # Input is not inherited: the new run starts with the input the command gives.
    assert out.events[0].attributes == inherited_event(run_id)
    assert out.next_run == NextRun(run_id, "WORKFLOW", 0.0, attempt=1, overrides={"input": None})
    assert state.status is WorkflowStatus.CONTINUED_AS_NEW
    assert state.close_time == LATER
    assert state.workflow_task is None
    assert out.workflow_tasks == []


def test_continue_as_new_overrides() -> None:
    state = can_state(retry_policy=policy(), cron_schedule="@every 30s", attempt=3)
    run_id = chains.next_run_id(state)
    out = Transition()
    attrs = {
        "workflow_type": {"name": "NextWorkflow"},
        "task_queue": {"name": "next-q"},
        "input": {"page": 2},
        "workflow_run_timeout": "30s",
        "workflow_task_timeout": "3s",
        "backoff_start_interval": "5s",
        "memo": {"fields": {"note": "n"}},
        "header": {"fields": {"trace": "t"}},
        "search_attributes": {"indexed_fields": {"CustomKeywordField": "k"}},
        "cron_schedule": "@every 60s",
        "retry_policy": {"initial_interval": "2s"},
    }

    close_commands.continue_as_new(state, out, attrs, WTC, LATER)

    memo = {"fields": {"note": encode_payload("n")}}
    header = {"fields": {"trace": encode_payload("t")}}
    search = {"indexed_fields": {"CustomKeywordField": encode_payload("k")}}
    assert out.events[0].attributes == inherited_event(
        run_id,
        workflow_type={"name": "NextWorkflow"},
        task_queue={"name": "next-q", "kind": "NORMAL"},
        input=encode_payloads({"page": 2}),
        workflow_run_timeout="30s",
        workflow_task_timeout="3s",
        backoff_start_interval="5s",
        header=header,
        memo=memo,
        search_attributes=search,
    )
    # A continue-as-new always starts attempt 1, whatever attempt this run was.
    assert out.next_run == NextRun(
        run_id,
        "WORKFLOW",
        5.0,
        attempt=1,
        overrides={
            "workflow_type": "NextWorkflow",
            "task_queue": "next-q",
            "workflow_run_timeout": 30.0,
            "workflow_task_timeout": 3.0,
            "input": encode_payloads({"page": 2}),
            "memo": memo,
            "header": header,
            "search_attributes": search,
            "cron_schedule": "@every 60s",
            "retry_policy": policy(initial_interval="2s"),
        },
    )
    assert state.status is WorkflowStatus.CONTINUED_AS_NEW


@pytest.mark.parametrize(
    ("attrs", "run_timeout", "task_timeout"),
    [
        pytest.param({"workflow_run_timeout": "30s"}, "30s", "5s", id="shorter-run"),
        # Temporal caps the run timeout at the execution timeout (600s here) ...
        pytest.param({"workflow_run_timeout": "1000s"}, "600s", "5s", id="run-capped"),
        # ... the task timeout at 120s and at the run timeout.
        pytest.param({"workflow_task_timeout": "200s"}, "60s", "60s", id="task-capped-by-run"),
        pytest.param(
            {"workflow_run_timeout": "300s", "workflow_task_timeout": "200s"},
            "300s",
            "120s",
            id="task-capped-at-120s",
        ),
    ],
)
def test_continue_as_new_timeouts(
    attrs: dict[str, Any], run_timeout: str, task_timeout: str
) -> None:
    state = can_state()
    out = Transition()

    close_commands.continue_as_new(state, out, attrs, WTC, LATER)

    event = out.events[0].attributes
    assert (event["workflow_run_timeout"], event["workflow_task_timeout"]) == (
        run_timeout,
        task_timeout,
    )


def test_continue_as_new_event_carries_the_last_completion_result() -> None:
    state = can_state()
    out = Transition()

    close_commands.continue_as_new(state, out, {"last_completion_result": {"sum": 3}}, WTC, LATER)

    assert out.next_run is not None
    assert out.next_run.last_completion_result == encode_payloads({"sum": 3})
    assert out.events[0].attributes["last_completion_result"] == encode_payloads({"sum": 3})


@pytest.mark.parametrize(
    "attrs",
    [
        pytest.param({"workflow_type": {"name": "x" * 1001}}, id="type-too-long"),
        pytest.param({"workflow_run_timeout": "abc"}, id="bad-run-timeout"),
        pytest.param({"workflow_task_timeout": "-1s"}, id="negative-task-timeout"),
        pytest.param({"backoff_start_interval": "1m"}, id="bad-backoff"),
        pytest.param({"cron_schedule": "every full moon"}, id="invalid-cron"),
        pytest.param({"retry_policy": {"backoff_coefficient": 0.5}}, id="retry-coefficient"),
        pytest.param({"retry_policy": {"initial_interval": "soon"}}, id="retry-bad-interval"),
        pytest.param({"memo": "note"}, id="memo-not-an-object"),
        pytest.param({"header": ["trace"]}, id="header-not-an-object"),
    ],
)
def test_continue_as_new_bad_attributes(attrs: dict[str, Any]) -> None:
    state = can_state()
    out = Transition()

    with pytest.raises(BadCommand) as caught:
        close_commands.continue_as_new(state, out, attrs, WTC, LATER)

    assert caught.value.cause == BAD_CAN
    assert out == Transition()
    assert state.is_running


def test_continue_as_new_through_a_workflow_task_completion() -> None:
    state, _ = engine.start(params(run_timeout=60.0), NOW)
    wt.start(state, 2, identity="w", request_id="p", now=NOW)
    # The id is taken when the closing event is written: after WorkflowTaskCompleted.
    expected_id = str(uuid.uuid5(uuid.UUID(RUN_ID), "next-run/5"))

    result = complete_held_task(state, cmd("CONTINUE_AS_NEW_WORKFLOW_EXECUTION", input={"page": 2}))

    out = result.transition
    assert result.failed_cause is None
    assert types(out) == [WFT_COMPLETED, CONTINUED]
    assert out.events[1].attributes["new_execution_run_id"] == expected_id
    assert out.events[1].attributes["workflow_task_completed_event_id"] == 4
    assert out.next_run is not None
    assert out.next_run.run_id == expected_id
    assert out.next_run.overrides["input"] == encode_payloads({"page": 2})
    assert state.status is WorkflowStatus.CONTINUED_AS_NEW


# --- timers.time_out_run ------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "fire_after", "closing", "next_run"),
    [
        pytest.param(
            {"run_timeout": 10.0, "retry_policy": policy(initial_interval="2s")},
            10.0,
            {"retry_state": "IN_PROGRESS"},
            NextRun("", "RETRY", 2.0, attempt=2, continued_failure=chains.run_timeout_failure()),
            id="retried",
        ),
        pytest.param(
            {
                "run_timeout": 10.0,
                "attempt": 2,
                "retry_policy": policy(initial_interval="2s", maximum_interval="3s"),
            },
            10.0,
            {"retry_state": "IN_PROGRESS"},
            NextRun("", "RETRY", 3.0, attempt=3, continued_failure=chains.run_timeout_failure()),
            id="retried-with-backoff",
        ),
        pytest.param(
            {"run_timeout": 10.0},
            10.0,
            {"retry_state": "RETRY_POLICY_NOT_SET"},
            None,
            id="no-policy",
        ),
        pytest.param(
            {"run_timeout": 10.0, "attempt": 3, "retry_policy": policy(maximum_attempts=3)},
            10.0,
            {"retry_state": "MAXIMUM_ATTEMPTS_REACHED"},
            None,
            id="attempts-exhausted",
        ),
        pytest.param(
            {"run_timeout": 10.0, "cron_schedule": "@every 60s"},
            10.0,
            {"retry_state": "RETRY_POLICY_NOT_SET"},
            NextRun(
                "", "CRON_SCHEDULE", 50.0, attempt=1, continued_failure=chains.run_timeout_failure()
            ),
            id="cron-next-run",
        ),
        pytest.param(
            {"execution_timeout": 10.0, "retry_policy": policy()},
            10.0,
            {"retry_state": "TIMEOUT"},
            None,
            id="execution-expired",
        ),
        pytest.param(
            {"execution_timeout": 10.0, "run_timeout": 10.0, "cron_schedule": "@every 60s"},
            10.0,
            {"retry_state": "TIMEOUT"},
            None,
            id="execution-expired-with-cron",
        ),
        pytest.param(
            {
                "execution_timeout": 30.0,
                "run_timeout": 10.0,
                "retry_policy": policy(initial_interval="25s"),
            },
            10.0,
            {"retry_state": "TIMEOUT"},
            None,
            id="retry-would-pass-execution-timeout",
        ),
    ],
)
def test_time_out_run(
    overrides: dict[str, Any],
    fire_after: float,
    closing: dict[str, Any],
    next_run: NextRun | None,
) -> None:
    state, _ = engine.start(params(**overrides), NOW)
    expected_id = chains.next_run_id(state)
    at = NOW + timedelta(seconds=fire_after)

    out = timers.fire(TimerKind.WORKFLOW_RUN_TIMEOUT, {}, state, at)

    assert types(out) == [TIMED_OUT]
    assert ids(out) == [3]
    assert out.events[0].event_time == at
    if next_run is not None:
        next_run.run_id = expected_id
        closing = {**closing, "new_execution_run_id": expected_id}
    assert out.events[0].attributes == closing
    assert out.next_run == next_run
    assert state.status is WorkflowStatus.TIMED_OUT
    assert state.close_time == at
    assert state.workflow_task is None
    assert out.workflow_tasks == []


def test_time_out_run_fails_a_started_workflow_task_first() -> None:
    state, _ = engine.start(params(run_timeout=10.0, retry_policy=policy()), NOW)
    wt.start(state, 2, identity="w", request_id="p", now=NOW)
    expected_id = chains.next_run_id(state)

    out = timers.time_out_run(state, NOW + timedelta(seconds=10))

    assert types(out) == [WFT_FAILED, TIMED_OUT]
    assert ids(out) == [4, 5]
    assert out.events[0].attributes == {
        "scheduled_event_id": 2,
        "started_event_id": 3,
        "cause": "FORCE_CLOSE_COMMAND",
        "identity": "history-service",
    }
    assert out.events[1].attributes == {
        "retry_state": "IN_PROGRESS",
        "new_execution_run_id": expected_id,
    }
    assert out.next_run is not None and out.next_run.run_id == expected_id


@pytest.mark.parametrize("situation", ["not-yet-due", "no-run-timeout", "closed", "fired-twice"])
def test_time_out_run_no_op(situation: str) -> None:
    run_timeout = 0.0 if situation == "no-run-timeout" else 10.0
    state, _ = engine.start(params(run_timeout=run_timeout, retry_policy=policy()), NOW)
    at = NOW + timedelta(seconds=10)
    if situation == "not-yet-due":
        at -= timedelta(seconds=1)
    elif situation == "closed":
        terminated(state)
    elif situation == "fired-twice":
        assert timers.time_out_run(state, at).events
    before = state.to_json()

    out = timers.time_out_run(state, at)

    assert out == Transition()
    assert state.to_json() == before
