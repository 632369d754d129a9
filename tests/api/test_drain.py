"""Draining (what SIGTERM does before the server stops, app.server): every open long
poll answers at once with its normal empty answer, none starts waiting, and no task is
lost: a poll answered empty claimed nothing, a poll that claims a task delivers it."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI

from app.clock import ManualClock
from app.context import AppContext
from tests.api.worker_client import NS, QUEUE, Worker
from tests.conftest import assert_error, start_body, wait_until

POLL = {"identity": "w", "wait_timeout": "50s"}


def _poll(client: httpx.AsyncClient, kind: str, queue: str = QUEUE) -> asyncio.Task[httpx.Response]:
    return asyncio.create_task(
        client.post(f"{NS}/task-queues/{queue}/{kind}-tasks/poll", json=POLL)
    )


async def _parked(clock: ManualClock, *requests: asyncio.Task[httpx.Response]) -> None:
    await wait_until(lambda: clock.pending_waits() == len(requests))
    assert not any(r.done() for r in requests)


async def _answered(*requests: asyncio.Task[httpx.Response]) -> list[httpx.Response]:
    """The answers, which must come without the clock moving (bounded, so a poll the
    drain did not end fails the test instead of hanging it)."""
    await wait_until(lambda: all(r.done() for r in requests))
    return [r.result() for r in requests]


async def test_waiting_polls_answer_empty_at_once_and_claim_nothing(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    ctx: AppContext = app.state.ctx
    workflow, activity = _poll(client, "workflow"), _poll(client, "activity")
    await _parked(clock, workflow, activity)

    ctx.drain()  # the clock does not move: only the drain can end these polls
    for answered in await _answered(workflow, activity):
        assert answered.status_code == 200, answered.text
        assert answered.json().get("task_token", "") == ""
        assert answered.json()["poll_window"] == "50s"

    # A task written now is handed to no one (no poll waits) and stays queued; a poll
    # while draining answers at once, and delivers the task it claims.
    started = await client.post(f"{NS}/workflows", json=start_body("after-drain"))
    assert started.status_code == 200, started.text
    empty = await client.post(f"{NS}/task-queues/other/workflow-tasks/poll", json=POLL)
    assert empty.status_code == 200 and empty.json().get("task_token", "") == ""
    claimed = await client.post(f"{NS}/task-queues/{QUEUE}/workflow-tasks/poll", json=POLL)
    assert claimed.json()["workflow_execution"]["workflow_id"] == "after-drain"
    assert clock.pending_waits() == 0


async def test_history_and_result_waits_answer_as_their_window_would(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    ctx: AppContext = app.state.ctx
    worker = Worker(client, clock, app)
    run_id = await worker.start("waiting")
    history = f"{NS}/workflows/waiting/runs/{run_id}/history"
    first = (await client.get(history, params={"wait_new_event": "true"})).json()
    assert len(first["history"]) == 2
    waits = [
        asyncio.create_task(
            client.get(
                history,
                params={"wait_new_event": "true", "next_page_token": first["next_page_token"]},
            )
        ),
        asyncio.create_task(client.get(f"{NS}/workflows/waiting/result?wait_timeout=50s")),
    ]
    await _parked(clock, *waits)

    ctx.drain()
    page, result = await _answered(*waits)
    assert page.status_code == 200, page.text
    assert page.json()["history"] == []
    # The token continues the wait where it stood (here, or on another gateway).
    token = page.json()["next_page_token"]
    assert token
    task = await worker.workflow_task()
    assert (await worker.complete_workflow_task(task["task_token"])).status_code == 200
    resumed = await client.get(history, params={"next_page_token": token})
    assert [e["event_id"] for e in resumed.json()["history"]] == [3, 4]
    assert result.status_code == 200, result.text
    assert result.json()["status"] == "RUNNING"


async def test_a_waiting_query_is_unavailable(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    ctx: AppContext = app.state.ctx
    worker = Worker(client, clock, app)
    await worker.start("asked")
    task = await worker.workflow_task()
    assert (await worker.complete_workflow_task(task["task_token"])).status_code == 200
    asking = asyncio.create_task(
        client.post(f"{NS}/workflows/asked/query", json={"query": {"query_type": "status"}})
    )
    await _parked(clock, asking)

    ctx.drain()
    (answer,) = await _answered(asking)
    error = assert_error(answer, 503, "UNAVAILABLE")
    assert "shutting down" in error["message"]
    assert error["details"] == [{"type": "ShuttingDown"}]
