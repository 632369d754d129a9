"""DescribeTaskQueue reports the pollers and the backlog the test made: tasks waiting,
the ack and read levels moving as tasks are taken, the oldest task's age on the injected
clock, and pollers forgotten five minutes after their last poll."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from app.clock import ManualClock
from tests.api.worker_client import NS, QUEUE, Worker
from tests.conftest import assert_error

URL = f"{NS}/task-queues/{QUEUE}"


async def describe(client: httpx.AsyncClient, **params: str) -> dict[str, Any]:
    response = await client.get(URL, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_backlog_levels_age_and_pollers(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    worker = Worker(client, clock, app)
    empty = await describe(client)
    assert empty == {
        "pollers": [],
        "task_queue_status": {
            "backlog_count_hint": 0,
            "rate_per_second": 1000000 / 60,
            "ack_level": 0,
            "read_level": 0,
            "approximate_backlog_age": "0s",
        },
        "workers": [],
    }
    for n in range(3):
        await worker.start(f"wf-{n}")
    clock.advance(10)
    status = (await describe(client))["task_queue_status"]
    assert status["backlog_count_hint"] == 3
    assert status["read_level"] - status["ack_level"] == 3
    assert status["approximate_backlog_age"] == "10s"
    first_ack = status["ack_level"]

    assert (await worker.workflow_task())["task_token"]
    described = await describe(client)
    assert described["task_queue_status"]["backlog_count_hint"] == 2
    assert described["task_queue_status"]["ack_level"] == first_ack + 1
    assert [p["identity"] for p in described["pollers"]] == ["test-worker"]
    assert described["pollers"][0]["rate_per_second"] == 100000.0

    limited = await client.post(
        f"{NS}/task-queues/{QUEUE}/workflow-tasks/poll",
        json={"identity": "slow-worker", "task_queue_metadata": {"max_tasks_per_second": 2.5}},
    )
    assert limited.status_code == 200, limited.text
    rates = {p["identity"]: p["rate_per_second"] for p in (await describe(client))["pollers"]}
    assert rates == {"test-worker": 100000.0, "slow-worker": 2.5}

    activities = await describe(client, task_queue_type="ACTIVITY")
    assert activities["pollers"] == []
    assert activities["task_queue_status"]["backlog_count_hint"] == 0

    clock.advance(5 * 60 + 1)
    assert (await describe(client))["pollers"] == []


async def test_an_unknown_namespace_is_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/namespaces/nowhere/task-queues/q")
    assert_error(response, 404, "NAMESPACE_NOT_FOUND")


async def test_a_bad_task_queue_type_is_invalid(client: httpx.AsyncClient) -> None:
    response = await client.get(URL, params={"task_queue_type": "NEXUS"})
    assert_error(response, 400, "INVALID_ARGUMENT")
