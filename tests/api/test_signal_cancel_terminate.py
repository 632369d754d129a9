"""SignalWorkflowExecution, RequestCancelWorkflowExecution and TerminateWorkflowExecution,
on a run and on the current run."""

from __future__ import annotations

import copy
import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest

from app.clock import ManualClock
from tests.conftest import assert_error, start_body

WORKFLOWS = "/api/v1/namespaces/default/workflows"
SPEC_WORKFLOW_ID = "order-processing-12345"

# The spec's SignalWorkflowExecution example request, verbatim apart from the run id,
# which must be the real run's (the body has to agree with the path).
SPEC_SIGNAL_BODY: dict[str, Any] = {
    "namespace": "default",
    "workflow_execution": {
        "workflow_id": "order-processing-12345",
        "run_id": "01234567-89ab-cdef-0123-456789abcdef",
    },
    "signal_name": "payment_received",
    "input": {
        "payment_id": "payment-98765",
        "amount": 59.98,
        "currency": "USD",
        "method": "credit_card",
    },
    "identity": "payment-service-v1.1.0",
    "request_id": "signal-request-12345",
}

STARTED = "WORKFLOW_EXECUTION_STARTED"
SCHEDULED = "WORKFLOW_TASK_SCHEDULED"
SIGNALED = "WORKFLOW_EXECUTION_SIGNALED"
CANCEL_REQUESTED = "WORKFLOW_EXECUTION_CANCEL_REQUESTED"
TERMINATED = "WORKFLOW_EXECUTION_TERMINATED"


async def start(client: httpx.AsyncClient, workflow_id: str, **overrides: Any) -> str:
    response = await client.post(WORKFLOWS, json=start_body(workflow_id, **overrides))
    assert response.status_code == 200, response.text
    run_id: str = response.json()["run_id"]
    return run_id


def run_path(workflow_id: str, run_id: str) -> str:
    return f"{WORKFLOWS}/{workflow_id}/runs/{run_id}"


async def history(client: httpx.AsyncClient, workflow_id: str, run_id: str) -> list[Any]:
    response = await client.get(f"{run_path(workflow_id, run_id)}/history")
    assert response.status_code == 200, response.text
    events: list[Any] = response.json()["history"]
    return events


async def event_types(client: httpx.AsyncClient, workflow_id: str, run_id: str) -> list[str]:
    return [e["event_type"] for e in await history(client, workflow_id, run_id)]


async def describe(client: httpx.AsyncClient, workflow_id: str, run_id: str) -> Any:
    response = await client.get(run_path(workflow_id, run_id))
    assert response.status_code == 200, response.text
    return response.json()


def attrs(event: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = event[f"{event['event_type'].lower()}_event_attributes"]
    return value


def spec_signal(run_id: str) -> dict[str, Any]:
    body = copy.deepcopy(SPEC_SIGNAL_BODY)
    body["workflow_execution"]["run_id"] = run_id
    return body


async def terminate(client: httpx.AsyncClient, workflow_id: str, run_id: str) -> None:
    response = await client.post(f"{run_path(workflow_id, run_id)}/terminate", json={})
    assert response.status_code == 200, response.text


# --- signal -------------------------------------------------------------------------


async def test_spec_example_signal(client: httpx.AsyncClient, clock: ManualClock) -> None:
    run_id = await start(client, SPEC_WORKFLOW_ID)
    clock.advance(3)

    response = await client.post(
        f"{run_path(SPEC_WORKFLOW_ID, run_id)}/signal", json=spec_signal(run_id)
    )

    assert response.status_code == 200, response.text
    assert response.json() == {}
    events = await history(client, SPEC_WORKFLOW_ID, run_id)
    assert [e["event_type"] for e in events] == [STARTED, SCHEDULED, SIGNALED]
    signaled = events[2]
    assert signaled["event_id"] == 3
    assert datetime.fromisoformat(signaled["event_time"]) == clock.now()
    assert attrs(signaled) == {
        "signal_name": "payment_received",
        "input": SPEC_SIGNAL_BODY["input"],
        "identity": "payment-service-v1.1.0",
        "request_id": "signal-request-12345",
    }
    info = (await describe(client, SPEC_WORKFLOW_ID, run_id))["execution_info"]
    assert info["history_length"] == 3
    assert info["status"] == "RUNNING"


async def test_repeated_signal_request_id_is_applied_once(client: httpx.AsyncClient) -> None:
    run_id = await start(client, SPEC_WORKFLOW_ID)
    path = f"{run_path(SPEC_WORKFLOW_ID, run_id)}/signal"

    first = await client.post(path, json=spec_signal(run_id))
    second = await client.post(path, json=spec_signal(run_id))

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert await event_types(client, SPEC_WORKFLOW_ID, run_id) == [STARTED, SCHEDULED, SIGNALED]


async def test_signals_without_request_id_are_all_written(client: httpx.AsyncClient) -> None:
    run_id = await start(client, "wf-sig")
    for _ in range(3):
        response = await client.post(
            f"{run_path('wf-sig', run_id)}/signal", json={"signal_name": "ping"}
        )
        assert response.status_code == 200, response.text

    events = await history(client, "wf-sig", run_id)
    # One WorkflowTaskScheduled only: a task is already pending when the signals arrive.
    assert [e["event_type"] for e in events] == [STARTED, SCHEDULED, SIGNALED, SIGNALED, SIGNALED]
    assert [e["event_id"] for e in events] == [1, 2, 3, 4, 5]
    assert [attrs(e) for e in events[2:]] == [{"signal_name": "ping"}] * 3


async def test_signal_to_closed_run_is_completed(client: httpx.AsyncClient) -> None:
    run_id = await start(client, SPEC_WORKFLOW_ID)
    await terminate(client, SPEC_WORKFLOW_ID, run_id)

    response = await client.post(
        f"{run_path(SPEC_WORKFLOW_ID, run_id)}/signal", json=spec_signal(run_id)
    )

    assert_error(response, 409, "WORKFLOW_EXECUTION_COMPLETED")
    assert await event_types(client, SPEC_WORKFLOW_ID, run_id) == [STARTED, SCHEDULED, TERMINATED]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param(
            {"workflow_execution": {"workflow_id": "someone-else"}},
            "workflow_execution.workflow_id",
            id="workflow-id",
        ),
        pytest.param(
            {
                "workflow_execution": {
                    "workflow_id": SPEC_WORKFLOW_ID,
                    "run_id": "01234567-89ab-cdef-0123-456789abcdef",
                }
            },
            "workflow_execution.run_id",
            id="run-id",
        ),
        pytest.param({"namespace": "other"}, "namespace", id="namespace"),
    ],
)
async def test_signal_body_must_match_path(
    client: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    run_id = await start(client, SPEC_WORKFLOW_ID)
    body = {**spec_signal(run_id), **change}

    response = await client.post(f"{run_path(SPEC_WORKFLOW_ID, run_id)}/signal", json=body)

    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert error["details"][0]["field"] == field
    assert await event_types(client, SPEC_WORKFLOW_ID, run_id) == [STARTED, SCHEDULED]


async def test_signal_current_run(client: httpx.AsyncClient) -> None:
    old_run = await start(client, SPEC_WORKFLOW_ID)
    await terminate(client, SPEC_WORKFLOW_ID, old_run)
    run_id = await start(client, SPEC_WORKFLOW_ID)
    body = copy.deepcopy(SPEC_SIGNAL_BODY)
    body["workflow_execution"] = {"workflow_id": SPEC_WORKFLOW_ID}

    response = await client.post(f"{WORKFLOWS}/{SPEC_WORKFLOW_ID}/signal", json=body)

    assert response.status_code == 200, response.text
    assert await event_types(client, SPEC_WORKFLOW_ID, run_id) == [STARTED, SCHEDULED, SIGNALED]
    assert await event_types(client, SPEC_WORKFLOW_ID, old_run) == [
        STARTED,
        SCHEDULED,
        TERMINATED,
    ]


@pytest.mark.parametrize("operation", ["signal", "cancel", "terminate"])
@pytest.mark.parametrize("with_run", [False, True])
async def test_operations_on_unknown_workflow_are_not_found(
    client: httpx.AsyncClient, operation: str, with_run: bool
) -> None:
    path = f"{WORKFLOWS}/no-such-wf" + (f"/runs/{uuid.uuid4()}" if with_run else "")
    body = {"signal_name": "s"} if operation == "signal" else {}
    response = await client.post(f"{path}/{operation}", json=body)
    assert_error(response, 404, "WORKFLOW_EXECUTION_NOT_FOUND")


async def test_signal_during_cron_backoff_schedules_no_task(client: httpx.AsyncClient) -> None:
    run_id = await start(client, "wf-cron", cron_schedule="*/5 * * * *")

    response = await client.post(
        f"{run_path('wf-cron', run_id)}/signal", json={"signal_name": "ping"}
    )

    assert response.status_code == 200, response.text
    assert await event_types(client, "wf-cron", run_id) == [STARTED, SIGNALED]
    assert (await describe(client, "wf-cron", run_id))["pending_workflow_task"] is None


# --- cancel -------------------------------------------------------------------------


async def test_cancel_records_request(client: httpx.AsyncClient) -> None:
    run_id = await start(client, "wf-cancel")

    response = await client.post(
        f"{run_path('wf-cancel', run_id)}/cancel",
        json={"reason": "user asked", "identity": "canceller", "request_id": "cancel-1"},
    )

    assert response.status_code == 200, response.text
    assert response.json() == {}
    events = await history(client, "wf-cancel", run_id)
    # A task is already pending, so no second WorkflowTaskScheduled.
    assert [e["event_type"] for e in events] == [STARTED, SCHEDULED, CANCEL_REQUESTED]
    assert attrs(events[2]) == {"cause": "user asked", "identity": "canceller"}
    described = await describe(client, "wf-cancel", run_id)
    assert described["workflow_extended_info"]["cancel_requested"] is True
    assert described["execution_info"]["status"] == "RUNNING"


@pytest.mark.parametrize(
    "second",
    [
        pytest.param({"reason": "user asked", "request_id": "cancel-1"}, id="same-request"),
        pytest.param({"reason": "again", "request_id": "cancel-2"}, id="other-request"),
        pytest.param({}, id="no-request-id"),
    ],
)
async def test_second_cancel_is_a_no_op(client: httpx.AsyncClient, second: dict[str, Any]) -> None:
    run_id = await start(client, "wf-cancel")
    path = f"{run_path('wf-cancel', run_id)}/cancel"
    first = await client.post(path, json={"reason": "user asked", "request_id": "cancel-1"})
    assert first.status_code == 200, first.text

    again = await client.post(path, json=second)

    assert again.status_code == 200, again.text
    assert again.json() == {}
    assert await event_types(client, "wf-cancel", run_id) == [STARTED, SCHEDULED, CANCEL_REQUESTED]


async def test_cancel_of_closed_run_succeeds_without_effect(client: httpx.AsyncClient) -> None:
    run_id = await start(client, "wf-cancel")
    await terminate(client, "wf-cancel", run_id)

    response = await client.post(f"{run_path('wf-cancel', run_id)}/cancel", json={"reason": "r"})

    assert response.status_code == 200, response.text
    assert response.json() == {}
    assert await event_types(client, "wf-cancel", run_id) == [STARTED, SCHEDULED, TERMINATED]
    described = await describe(client, "wf-cancel", run_id)
    assert described["workflow_extended_info"]["cancel_requested"] is False


@pytest.mark.parametrize("body", [None, {}], ids=["no-body", "empty-body"])
async def test_cancel_without_reason_has_empty_attributes(
    client: httpx.AsyncClient, body: dict[str, Any] | None
) -> None:
    run_id = await start(client, "wf-cancel")

    response = await client.post(f"{run_path('wf-cancel', run_id)}/cancel", json=body)

    assert response.status_code == 200, response.text
    events = await history(client, "wf-cancel", run_id)
    assert events[-1]["event_type"] == CANCEL_REQUESTED
    assert attrs(events[-1]) == {}


async def test_cancel_during_cron_backoff_schedules_a_task(client: httpx.AsyncClient) -> None:
    run_id = await start(client, "wf-cron", cron_schedule="*/5 * * * *")
    assert (await describe(client, "wf-cron", run_id))["pending_workflow_task"] is None

    response = await client.post(
        f"{run_path('wf-cron', run_id)}/cancel", json={"reason": "stop waiting"}
    )

    assert response.status_code == 200, response.text
    events = await history(client, "wf-cron", run_id)
    assert [e["event_type"] for e in events] == [STARTED, CANCEL_REQUESTED, SCHEDULED]
    assert [e["event_id"] for e in events] == [1, 2, 3]
    assert attrs(events[2]) == {
        "task_queue": {"name": "order-processing-queue", "kind": "NORMAL"},
        "start_to_close_timeout": "10s",
        "attempt": 1,
    }
    pending = (await describe(client, "wf-cron", run_id))["pending_workflow_task"]
    assert pending is not None
    assert pending["state"] == "SCHEDULED"
    assert pending["attempt"] == 1


async def test_cancel_current_run(client: httpx.AsyncClient) -> None:
    run_id = await start(client, "wf-cancel")

    response = await client.post(f"{WORKFLOWS}/wf-cancel/cancel", json={"reason": "r"})

    assert response.status_code == 200, response.text
    assert await event_types(client, "wf-cancel", run_id) == [STARTED, SCHEDULED, CANCEL_REQUESTED]


@pytest.mark.parametrize("operation", ["cancel", "terminate"])
async def test_first_execution_run_id_mismatch_is_not_found(
    client: httpx.AsyncClient, operation: str
) -> None:
    run_id = await start(client, "wf-chain")

    response = await client.post(
        f"{run_path('wf-chain', run_id)}/{operation}",
        json={"first_execution_run_id": str(uuid.uuid4())},
    )

    assert_error(response, 404, "WORKFLOW_EXECUTION_NOT_FOUND")
    assert await event_types(client, "wf-chain", run_id) == [STARTED, SCHEDULED]


@pytest.mark.parametrize("operation", ["cancel", "terminate"])
async def test_first_execution_run_id_match_is_accepted(
    client: httpx.AsyncClient, operation: str
) -> None:
    run_id = await start(client, "wf-chain")

    response = await client.post(
        f"{run_path('wf-chain', run_id)}/{operation}", json={"first_execution_run_id": run_id}
    )

    assert response.status_code == 200, response.text
    expected = CANCEL_REQUESTED if operation == "cancel" else TERMINATED
    assert (await event_types(client, "wf-chain", run_id))[-1] == expected


# --- terminate ----------------------------------------------------------------------


async def test_terminate_closes_the_run(client: httpx.AsyncClient, clock: ManualClock) -> None:
    run_id = await start(client, "wf-term")
    clock.advance(5)

    response = await client.post(
        f"{run_path('wf-term', run_id)}/terminate",
        json={"reason": "enough", "details": {"why": "test"}, "identity": "terminator"},
    )

    assert response.status_code == 200, response.text
    assert response.json() == {}
    events = await history(client, "wf-term", run_id)
    assert [e["event_type"] for e in events] == [STARTED, SCHEDULED, TERMINATED]
    assert events[2]["event_id"] == 3
    assert datetime.fromisoformat(events[2]["event_time"]) == clock.now()
    assert attrs(events[2]) == {
        "reason": "enough",
        "details": {"why": "test"},
        "identity": "terminator",
    }
    info = (await describe(client, "wf-term", run_id))["execution_info"]
    assert info["status"] == "TERMINATED"
    assert info["close_time"] is not None
    assert datetime.fromisoformat(info["close_time"]) == clock.now()
    assert info["history_length"] == 3


async def test_terminate_twice_is_completed(client: httpx.AsyncClient) -> None:
    run_id = await start(client, "wf-term")
    await terminate(client, "wf-term", run_id)

    response = await client.post(
        f"{run_path('wf-term', run_id)}/terminate", json={"reason": "again"}
    )

    assert_error(response, 409, "WORKFLOW_EXECUTION_COMPLETED")
    assert await event_types(client, "wf-term", run_id) == [STARTED, SCHEDULED, TERMINATED]


@pytest.mark.parametrize("body", [None, {}], ids=["no-body", "empty-body"])
async def test_terminate_with_empty_body(
    client: httpx.AsyncClient, body: dict[str, Any] | None
) -> None:
    run_id = await start(client, "wf-term")

    response = await client.post(f"{run_path('wf-term', run_id)}/terminate", json=body)

    assert response.status_code == 200, response.text
    assert await event_types(client, "wf-term", run_id) == [STARTED, SCHEDULED, TERMINATED]
    info = (await describe(client, "wf-term", run_id))["execution_info"]
    assert info["status"] == "TERMINATED"
    assert info["close_time"] is not None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            {},
            {"reason": "terminated via the gateway API", "identity": "temporal-gateway"},
            id="empty",
        ),
        pytest.param(
            {"reason": "done"}, {"reason": "done", "identity": "temporal-gateway"}, id="reason"
        ),
    ],
)
async def test_terminate_fills_temporal_defaults(
    client: httpx.AsyncClient, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    """Like Temporal, an empty reason and identity on terminate get defaults (in the
    gateway's own words); signal and cancel keep theirs empty."""
    run_id = await start(client, "wf-term")

    response = await client.post(f"{run_path('wf-term', run_id)}/terminate", json=body)

    assert response.status_code == 200, response.text
    assert attrs((await history(client, "wf-term", run_id))[-1]) == expected


async def test_terminate_current_run(client: httpx.AsyncClient) -> None:
    run_id = await start(client, "wf-term")

    response = await client.post(f"{WORKFLOWS}/wf-term/terminate", json={"reason": "bye"})

    assert response.status_code == 200, response.text
    assert (await describe(client, "wf-term", run_id))["execution_info"]["status"] == "TERMINATED"
    again = await client.post(f"{WORKFLOWS}/wf-term/terminate", json={})
    assert_error(again, 409, "WORKFLOW_EXECUTION_COMPLETED")
