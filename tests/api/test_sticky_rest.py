"""Sticky queues on the REST door: an HTTP worker may name its own queue in a completion
as an SDK worker does, and then gets the run's next task there with only the new events;
bad sticky attributes are refused in the spec's error format."""

from __future__ import annotations

import httpx
import pytest

from app.clock import ManualClock
from tests.api.test_worker_flow import NS, QUEUE, complete, poll
from tests.conftest import assert_error, start_body

STICKY = "http-worker-1-sticky"


async def test_an_http_worker_gets_the_next_task_on_its_own_queue(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    assert (await client.post(f"{NS}/workflows", json=start_body("rest-sticky"))).status_code == 200
    first = await poll(client, clock)
    sticky = {"worker_task_queue": {"name": STICKY}, "schedule_to_start_timeout": "10s"}
    answered = await complete(client, first["task_token"], [], sticky_attributes=sticky)
    assert answered.status_code == 200, answered.text
    signalled = await client.post(
        f"{NS}/workflows/rest-sticky/signal", json={"signal_name": "payment_received"}
    )
    assert signalled.status_code == 200, signalled.text

    task = (
        await client.post(
            f"{NS}/task-queues/{STICKY}/workflow-tasks/poll",
            json={"identity": "worker-1", "wait_timeout": "0s"},
        )
    ).json()
    assert task["workflow_execution"]["workflow_id"] == "rest-sticky"
    assert [e["event_id"] for e in task["history"]] == [4, 5, 6, 7]
    assert task["workflow_execution_task_queue"] == {"name": QUEUE, "kind": "NORMAL"}
    scheduled = task["history"][2]["workflow_task_scheduled_event_attributes"]
    assert scheduled["task_queue"] == {"name": STICKY, "kind": "STICKY", "normal_name": QUEUE}


@pytest.mark.parametrize(
    "sticky",
    [
        {"worker_task_queue": {"name": "x" * 1001}},
        {"worker_task_queue": {"name": STICKY}, "schedule_to_start_timeout": "-1s"},
        {"worker_task_queue": {"nom": STICKY}},
    ],
    ids=["name-too-long", "negative-timeout", "unknown-field"],
)
async def test_bad_sticky_attributes_are_refused(
    client: httpx.AsyncClient, clock: ManualClock, sticky: dict[str, object]
) -> None:
    assert (
        await client.post(f"{NS}/workflows", json=start_body("rest-bad-sticky"))
    ).status_code == 200
    first = await poll(client, clock)
    answered = await complete(client, first["task_token"], [], sticky_attributes=sticky)
    assert_error(answered, 400, "INVALID_ARGUMENT")
