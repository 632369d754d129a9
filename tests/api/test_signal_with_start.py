"""SignalWithStartWorkflowExecution: POST .../workflows/{workflow_id}/signal-with-start.
What Temporal does was read off its dev server (temporal server start-dev, v1.35 SDK's
raw workflow service): the history of a new run is [Started, Signaled, Scheduled]; a
running run is only signalled (started=false), whatever the reuse policy; request ids
are signal request ids; FAIL is invalid; a second signal-with-start ends a start delay."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from jose import jwt

from app.clock import ManualClock
from app.main import create_app
from app.settings import Settings
from tests.api.worker_client import Worker
from tests.conftest import IN_PROCESS, assert_error, start_body

NS = "/api/v1/namespaces/default"
WORKFLOWS = f"{NS}/workflows"
STARTED = "WORKFLOW_EXECUTION_STARTED"
SIGNALED = "WORKFLOW_EXECUTION_SIGNALED"
SCHEDULED = "WORKFLOW_TASK_SCHEDULED"
TASK_STARTED = "WORKFLOW_TASK_STARTED"
TERMINATED = "WORKFLOW_EXECUTION_TERMINATED"


def sws_body(**overrides: Any) -> dict[str, Any]:
    body = start_body("unused", signal_name="payment_received", signal_input={"amount": 59.98})
    del body["workflow_id"]  # the path names it
    body.update(overrides)
    return body


async def signal_with_start(
    client: httpx.AsyncClient, workflow_id: str, /, **overrides: Any
) -> httpx.Response:
    return await client.post(
        f"{WORKFLOWS}/{workflow_id}/signal-with-start", json=sws_body(**overrides)
    )


async def sws_ok(
    client: httpx.AsyncClient, workflow_id: str, /, **overrides: Any
) -> dict[str, Any]:
    response = await signal_with_start(client, workflow_id, **overrides)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def history(client: httpx.AsyncClient, workflow_id: str, run_id: str = "") -> list[Any]:
    path = f"{WORKFLOWS}/{workflow_id}" + (f"/runs/{run_id}" if run_id else "") + "/history"
    response = await client.get(path)
    assert response.status_code == 200, response.text
    events: list[Any] = response.json()["history"]
    return events


async def event_types(client: httpx.AsyncClient, workflow_id: str, run_id: str = "") -> list[str]:
    return [e["event_type"] for e in await history(client, workflow_id, run_id)]


def attrs(event: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = event[f"{event['event_type'].lower()}_event_attributes"]
    return value


async def terminate(client: httpx.AsyncClient, workflow_id: str) -> None:
    response = await client.post(f"{WORKFLOWS}/{workflow_id}/terminate", json={})
    assert response.status_code == 200, response.text


# --- a new run ----------------------------------------------------------------------


async def test_starts_a_run_with_the_signal_before_its_first_task(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    answer = await sws_ok(client, "order-1", request_id="req-1", identity="shop")

    assert answer["started"] is True
    events = await history(client, "order-1", answer["run_id"])
    assert [e["event_type"] for e in events] == [STARTED, SIGNALED, SCHEDULED]
    assert [e["event_id"] for e in events] == [1, 2, 3]
    assert {datetime.fromisoformat(e["event_time"]) for e in events} == {clock.now()}
    assert attrs(events[0])["workflow_type"] == {"name": "OrderProcessingWorkflow"}
    assert attrs(events[0])["input"] == {"order_id": "12345"}
    # As Temporal's: the signal carries the request's id.
    assert attrs(events[1]) == {
        "signal_name": "payment_received",
        "input": {"amount": 59.98},
        "identity": "shop",
        "request_id": "req-1",
    }
    described = (await client.get(f"{WORKFLOWS}/order-1")).json()
    assert described["execution_info"]["status"] == "RUNNING"
    assert described["execution_info"]["history_length"] == 3
    assert described["pending_workflow_task"]["state"] == "SCHEDULED"


async def test_the_first_workflow_task_sees_the_signal(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    await sws_ok(client, "order-1")

    task = await Worker(client, clock, app).workflow_task()

    assert [e["event_type"] for e in task["history"]] == [
        STARTED,
        SIGNALED,
        SCHEDULED,
        TASK_STARTED,
    ]


async def test_the_body_may_repeat_the_workflow_id(client: httpx.AsyncClient) -> None:
    answer = await sws_ok(client, "order-1", workflow_id="order-1", namespace="default")

    assert answer["started"] is True
    assert await event_types(client, "order-1") == [STARTED, SIGNALED, SCHEDULED]


async def test_a_start_delay_holds_the_task_and_the_signal_rides_on_it(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    answer = await sws_ok(client, "order-1", workflow_start_delay="60s")

    assert await event_types(client, "order-1") == [STARTED, SIGNALED]
    assert attrs((await history(client, "order-1"))[0])["first_workflow_task_backoff"] == "60s"
    await Worker(client, clock, app).fire_timers(60)
    assert await event_types(client, "order-1", answer["run_id"]) == [STARTED, SIGNALED, SCHEDULED]


async def test_a_second_signal_with_start_ends_the_start_delay(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    first = await sws_ok(client, "order-1", workflow_start_delay="60s")
    signal = await client.post(f"{WORKFLOWS}/order-1/signal", json={"signal_name": "plain"})
    assert signal.status_code == 200, signal.text
    # A plain signal waits for the first task, as in Temporal ...
    assert await event_types(client, "order-1") == [STARTED, SIGNALED, SIGNALED]

    second = await sws_ok(client, "order-1")

    # ... a signal-with-start schedules it at once, and the delay's end adds nothing.
    assert second == {"run_id": first["run_id"], "started": False}
    after = [STARTED, SIGNALED, SIGNALED, SIGNALED, SCHEDULED]
    assert await event_types(client, "order-1") == after
    await Worker(client, clock, app).fire_timers(60)
    assert await event_types(client, "order-1") == after


# --- a running run ------------------------------------------------------------------


async def test_a_running_run_is_signalled_not_started(client: httpx.AsyncClient) -> None:
    response = await client.post(WORKFLOWS, json=start_body("order-1"))
    run_id = response.json()["run_id"]

    answer = await sws_ok(client, "order-1", identity="shop")

    assert answer == {"run_id": run_id, "started": False}
    events = await history(client, "order-1", run_id)
    # The pending task will carry the signal: no second WorkflowTaskScheduled.
    assert [e["event_type"] for e in events] == [STARTED, SCHEDULED, SIGNALED]
    assert attrs(events[2])["signal_name"] == "payment_received"
    assert attrs(events[2])["identity"] == "shop"
    assert attrs(events[2])["request_id"]  # made up, as Temporal's frontend does


async def test_a_signal_schedules_a_task_when_none_is_pending(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await sws_ok(client, "order-1")
    task = await worker.workflow_task()
    completed = await worker.complete_workflow_task(task["task_token"])
    assert completed.status_code == 200, completed.text

    answer = await sws_ok(client, "order-1", signal_name="second")

    assert answer["started"] is False
    types = await event_types(client, "order-1")
    assert types[-2:] == [SIGNALED, SCHEDULED]
    assert types.count(SIGNALED) == 2


async def test_a_running_run_is_signalled_whatever_the_reuse_policy(
    client: httpx.AsyncClient,
) -> None:
    first = await sws_ok(client, "order-1")

    again = await sws_ok(client, "order-1", workflow_id_reuse_policy="REJECT_DUPLICATE")

    assert again == {"run_id": first["run_id"], "started": False}
    assert await event_types(client, "order-1") == [STARTED, SIGNALED, SCHEDULED, SIGNALED]


@pytest.mark.parametrize(
    "policies",
    [
        pytest.param({"workflow_id_conflict_policy": "TERMINATE_EXISTING"}, id="terminate"),
        pytest.param({"workflow_id_reuse_policy": "TERMINATE_IF_RUNNING"}, id="old-spelling"),
    ],
)
async def test_terminate_existing_replaces_the_running_run(
    client: httpx.AsyncClient, policies: dict[str, str]
) -> None:
    first = await sws_ok(client, "order-1")

    second = await sws_ok(client, "order-1", **policies)

    assert second["started"] is True
    assert second["run_id"] != first["run_id"]
    old = await history(client, "order-1", first["run_id"])
    assert [e["event_type"] for e in old] == [STARTED, SIGNALED, SCHEDULED, TERMINATED]
    assert attrs(old[-1])["reason"] == "TerminateIfRunning WorkflowIdReusePolicy"
    assert await event_types(client, "order-1", second["run_id"]) == [STARTED, SIGNALED, SCHEDULED]


# --- request ids --------------------------------------------------------------------


async def test_a_retry_while_the_run_is_open_records_one_signal(
    client: httpx.AsyncClient,
) -> None:
    first = await sws_ok(client, "order-1", request_id="req-1")

    retry = await sws_ok(client, "order-1", request_id="req-1")

    # Temporal answers a retry with the run and started=false, and signals once.
    assert retry == {"run_id": first["run_id"], "started": False}
    assert await event_types(client, "order-1") == [STARTED, SIGNALED, SCHEDULED]
    other = await sws_ok(client, "order-1", request_id="req-2")
    assert other == retry
    assert await event_types(client, "order-1") == [STARTED, SIGNALED, SCHEDULED, SIGNALED]


async def test_request_ids_are_shared_with_plain_signals(client: httpx.AsyncClient) -> None:
    await sws_ok(client, "order-1", request_id="req-1")

    signal = await client.post(
        f"{WORKFLOWS}/order-1/signal", json={"signal_name": "s", "request_id": "req-1"}
    )

    assert signal.status_code == 200, signal.text
    assert await event_types(client, "order-1") == [STARTED, SIGNALED, SCHEDULED]


async def test_a_start_with_the_request_id_returns_the_run(client: httpx.AsyncClient) -> None:
    first = await sws_ok(client, "order-1", request_id="req-1")

    response = await client.post(WORKFLOWS, json=start_body("order-1", request_id="req-1"))

    assert response.status_code == 200, response.text
    assert response.json() == {"run_id": first["run_id"], "started": True}


async def test_the_request_id_of_a_start_signals_the_run(client: httpx.AsyncClient) -> None:
    started = await client.post(WORKFLOWS, json=start_body("order-1", request_id="req-1"))
    run_id = started.json()["run_id"]

    answer = await sws_ok(client, "order-1", request_id="req-1")

    # Not the start's replay: Temporal signals the run.
    assert answer == {"run_id": run_id, "started": False}
    assert await event_types(client, "order-1") == [STARTED, SCHEDULED, SIGNALED]


# --- a closed run -------------------------------------------------------------------


async def test_a_closed_run_is_replaced(client: httpx.AsyncClient) -> None:
    first = await sws_ok(client, "order-1", request_id="req-1")
    await terminate(client, "order-1")

    # Even with the request id that started the closed run: Temporal starts anew.
    second = await sws_ok(client, "order-1", request_id="req-1")

    assert second["started"] is True
    assert second["run_id"] != first["run_id"]
    assert await event_types(client, "order-1", second["run_id"]) == [STARTED, SIGNALED, SCHEDULED]


async def test_a_closed_run_and_reject_duplicate_is_already_started(
    client: httpx.AsyncClient,
) -> None:
    first = await sws_ok(client, "order-1", request_id="req-1")
    await terminate(client, "order-1")

    response = await signal_with_start(
        client, "order-1", request_id="req-1", workflow_id_reuse_policy="REJECT_DUPLICATE"
    )

    error = assert_error(response, 409, "WORKFLOW_EXECUTION_ALREADY_STARTED")
    assert error["details"][0]["run_id"] == first["run_id"]
    assert await event_types(client, "order-1") == [STARTED, SIGNALED, SCHEDULED, TERMINATED]


async def test_failed_only_replaces_a_terminated_run(client: httpx.AsyncClient) -> None:
    await sws_ok(client, "order-1")
    await terminate(client, "order-1")

    answer = await sws_ok(client, "order-1", workflow_id_reuse_policy="ALLOW_DUPLICATE_FAILED_ONLY")

    assert answer["started"] is True


# --- bad requests -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"namespace": "other"}, "namespace", id="namespace"),
        pytest.param({"workflow_id": "someone-else"}, "workflow_id", id="workflow-id"),
        pytest.param(
            {"workflow_id_conflict_policy": "FAIL"}, "workflow_id_conflict_policy", id="fail"
        ),
        pytest.param(
            {
                "workflow_id_reuse_policy": "REJECT_DUPLICATE",
                "workflow_id_conflict_policy": "TERMINATE_EXISTING",
            },
            "workflow_id_conflict_policy",
            id="reject-and-terminate",
        ),
        pytest.param(
            {"cron_schedule": "@hourly", "workflow_start_delay": "5s"},
            "workflow_start_delay",
            id="cron-and-delay",
        ),
    ],
)
async def test_a_bad_body_is_400_and_writes_nothing(
    client: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    response = await signal_with_start(client, "order-1", **change)

    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert error["details"][0]["field"] == field
    missing = await client.get(f"{WORKFLOWS}/order-1")
    assert_error(missing, 404, "WORKFLOW_EXECUTION_NOT_FOUND")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({k: v for k, v in sws_body().items() if k != "signal_name"}, id="no-signal"),
        pytest.param(sws_body(signal_name=""), id="empty-signal-name"),
        pytest.param({k: v for k, v in sws_body().items() if k != "task_queue"}, id="no-queue"),
        pytest.param(sws_body(surprise=1), id="unknown-field"),
    ],
)
async def test_an_invalid_body_is_400(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post(f"{WORKFLOWS}/order-1/signal-with-start", json=body)

    assert_error(response, 400, "INVALID_ARGUMENT")


async def test_a_running_run_is_not_signalled_by_a_bad_body(client: httpx.AsyncClient) -> None:
    await sws_ok(client, "order-1")

    response = await signal_with_start(client, "order-1", namespace="other")

    assert_error(response, 400, "INVALID_ARGUMENT")
    assert await event_types(client, "order-1") == [STARTED, SIGNALED, SCHEDULED]


# --- permission ---------------------------------------------------------------------

SECRET = "a-test-secret-that-is-long-enough-for-hs256!"


def bearer(permissions: list[str]) -> dict[str, str]:
    now = int(ManualClock().now().timestamp())
    claims = {
        "sub": "tester",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "permissions": permissions,
        "namespace": "default",
    }
    return {"Authorization": f"Bearer {jwt.encode(claims, SECRET, algorithm='HS256')}"}


@pytest.fixture
async def secured(database_url: str, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=database_url, run_background_loops=False, jwt_secret=SECRET, **IN_PROCESS
    )
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield http


async def test_it_takes_the_start_permission(secured: httpx.AsyncClient) -> None:
    path = f"{WORKFLOWS}/order-1/signal-with-start"
    # Signalling is not enough: Temporal treats signal-with-start as a start.
    for permissions in (["temporal:workflow:signal"], ["temporal:workflow:read"]):
        refused = await secured.post(path, json=sws_body(), headers=bearer(permissions))
        assert_error(refused, 403, "PERMISSION_DENIED")

    allowed = await secured.post(path, json=sws_body(), headers=bearer(["temporal:workflow:start"]))

    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["started"] is True


OPENAPI_PATH = "/api/v1/namespaces/{namespace}/workflows/{workflow_id}/signal-with-start"


async def test_it_draws_on_the_workflow_starts_budget(secured: httpx.AsyncClient) -> None:
    response = await secured.get("/openapi.json")
    operation = response.json()["paths"][OPENAPI_PATH]["post"]

    assert operation["x-permission"] == "temporal:workflow:start"
    assert operation["x-rate-limits"] == ["workflow_starts", "history_events"]
    assert operation["operationId"] == "SignalWithStartWorkflowExecution"
