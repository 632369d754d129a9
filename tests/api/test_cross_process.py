"""Two gateways on one PostgreSQL (each with its own notifier, as two processes would
have): a long poll waiting on one is woken by a commit on the other at once, through
LISTEN/NOTIFY, while its own clock stands still."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI

from app.clock import ManualClock
from tests.api.worker_client import NS, QUEUE
from tests.conftest import BACKEND, start_body, wait_until

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="several processes need PostgreSQL")


@pytest.fixture
def other(second_gateway: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return second_gateway[1]


async def test_a_task_written_elsewhere_wakes_a_waiting_poll(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock, other: httpx.AsyncClient
) -> None:
    poll = asyncio.create_task(
        client.post(f"{NS}/task-queues/{QUEUE}/workflow-tasks/poll", json={"wait_timeout": "50s"})
    )
    await wait_until(lambda: clock.pending_waits() == 1)
    started = await other.post(f"{NS}/workflows", json=start_body("elsewhere"))
    assert started.status_code == 200, started.text
    await wait_until(poll.done)
    task = (await poll).json()
    assert task["task_token"]
    assert task["workflow_execution"]["workflow_id"] == "elsewhere"


async def test_an_event_written_elsewhere_wakes_a_history_long_poll(
    client: httpx.AsyncClient, clock: ManualClock, other: httpx.AsyncClient
) -> None:
    started = await client.post(f"{NS}/workflows", json=start_body("watched"))
    run_id = started.json()["run_id"]
    path = f"{NS}/workflows/watched/runs/{run_id}/history"
    first = await client.get(path, params={"wait_new_event": "true"})
    token = first.json()["next_page_token"]
    assert token
    waiting = asyncio.create_task(
        client.get(path, params={"wait_new_event": "true", "next_page_token": token})
    )
    await wait_until(lambda: clock.pending_waits() == 1)
    signal = await other.post(f"{NS}/workflows/watched/signal", json={"signal_name": "go"})
    assert signal.status_code == 200, signal.text
    await wait_until(waiting.done)
    types = [e["event_type"] for e in (await waiting).json()["history"]]
    assert "WORKFLOW_EXECUTION_SIGNALED" in types


async def test_a_query_sent_to_one_gateway_is_answered_by_a_worker_on_another(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock, other: httpx.AsyncClient
) -> None:
    started = await client.post(f"{NS}/workflows", json=start_body("queried"))
    assert started.status_code == 200
    poll = f"{NS}/task-queues/{QUEUE}/workflow-tasks/poll"
    first = (await other.post(poll, json={"wait_timeout": "1s"})).json()
    done = await other.post(
        f"{NS}/workflow-tasks/complete", json={"task_token": first["task_token"], "commands": []}
    )
    assert done.status_code == 200, done.text
    asking = asyncio.create_task(
        client.post(
            f"{NS}/workflows/queried/query",
            json={"query": {"query_type": "status", "query_args": {}}},
        )
    )
    await wait_until(lambda: clock.pending_waits() == 1)
    task = (await other.post(poll, json={"wait_timeout": "1s"})).json()
    assert task["query"]["query_type"] == "status"
    answered = await other.post(
        f"{NS}/query-tasks/complete",
        json={"task_token": task["task_token"], "query_result": "from elsewhere"},
    )
    assert answered.status_code == 200, answered.text
    await wait_until(asking.done)
    assert (await asking).json() == {"query_result": "from elsewhere"}


# A queue and a workflow id of 700 emoji (within the 1,000-character limit): their
# wake-up keys, as JSON, are far beyond NOTIFY's 8,000 bytes; they travel as a digest.
LONG_QUEUE = "🚀" * 700
LONG_ID = "😀" * 700


async def test_a_task_on_a_long_queue_written_elsewhere_wakes_a_waiting_poll(
    client: httpx.AsyncClient, clock: ManualClock, other: httpx.AsyncClient
) -> None:
    poll = asyncio.create_task(
        client.post(
            f"{NS}/task-queues/{quote(LONG_QUEUE, safe='')}/workflow-tasks/poll",
            json={"wait_timeout": "50s"},
        )
    )
    await wait_until(lambda: clock.pending_waits() == 1)
    started = await other.post(f"{NS}/workflows", json=start_body(LONG_ID, task_queue=LONG_QUEUE))
    assert started.status_code == 200, started.text
    await wait_until(poll.done)
    task = (await poll).json()
    assert task["workflow_execution"]["workflow_id"] == LONG_ID


async def test_an_event_on_a_long_workflow_id_written_elsewhere_wakes_a_history_long_poll(
    client: httpx.AsyncClient, clock: ManualClock, other: httpx.AsyncClient
) -> None:
    started = await client.post(f"{NS}/workflows", json=start_body(LONG_ID))
    assert started.status_code == 200, started.text
    path = f"{NS}/workflows/{quote(LONG_ID, safe='')}/history"
    first = await client.get(path, params={"wait_new_event": "true"})
    token = first.json()["next_page_token"]
    waiting = asyncio.create_task(
        client.get(path, params={"wait_new_event": "true", "next_page_token": token})
    )
    await wait_until(lambda: clock.pending_waits() == 1)
    signal = await other.post(
        f"{NS}/workflows/{quote(LONG_ID, safe='')}/signal", json={"signal_name": "go"}
    )
    assert signal.status_code == 200, signal.text
    await wait_until(waiting.done)
    types = [e["event_type"] for e in (await waiting).json()["history"]]
    assert "WORKFLOW_EXECUTION_SIGNALED" in types
