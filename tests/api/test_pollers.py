"""Many pollers on one task queue: every workflow task and every activity task is handed
to exactly one of them, and each poller is recorded with the time of its poll."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func
from sqlmodel import col, select

from app.clock import ManualClock
from app.db.tables import HistoryEventRow, NamespaceRow, PollerRow, TaskRow
from tests.api.worker_client import NS, QUEUE, Worker, schedule_activity
from tests.conftest import start_body, wait_until

POLLERS = 20
WORKFLOWS = 200
ACTIVITIES = 200
# A whole drain must finish well within this; a lost task would otherwise hang the test.
DRAIN_SECONDS = 120.0


class Pollers:
    """POLLERS concurrent pollers on one queue, each looping until ``expected`` tasks were
    delivered in total. An empty poll ends the way Worker's does: once a wait is parked on
    the manual clock, the clock is moved through the poll's one-second window (repeatedly,
    until this poller's own poll has returned, so no poller is left parked at the end)."""

    def __init__(self, client: httpx.AsyncClient, clock: ManualClock, kind: str) -> None:
        self.client = client
        self.clock = clock
        self.kind = kind
        self.delivered: list[tuple[str, dict[str, Any]]] = []  # (poller identity, task)

    async def _poll(self, identity: str) -> dict[str, Any]:
        async def request() -> httpx.Response:
            return await self.client.post(
                f"{NS}/task-queues/{QUEUE}/{self.kind}-tasks/poll",
                json={"identity": identity, "wait_timeout": "1s"},
            )

        polling = asyncio.create_task(request())
        while not polling.done():
            await wait_until(
                lambda: polling.done() or self.clock.pending_waits() > 0, within=DRAIN_SECONDS
            )
            if not polling.done():
                self.clock.advance(1)
                await asyncio.sleep(0)
        response = polling.result()
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def _loop(self, identity: str, expected: int) -> None:
        while len(self.delivered) < expected:
            task = await self._poll(identity)
            if task["task_token"]:
                self.delivered.append((identity, task))

    async def drain(self, expected: int) -> None:
        loops = [self._loop(f"poller-{n}", expected) for n in range(POLLERS)]
        async with asyncio.timeout(DRAIN_SECONDS):
            await asyncio.gather(*loops)


async def _start_all(client: httpx.AsyncClient, count: int) -> dict[str, str]:
    """Start ``count`` workflows (a few at a time); workflow id -> run id."""
    runs: dict[str, str] = {}

    async def start(n: int) -> None:
        response = await client.post(f"{NS}/workflows", json=start_body(f"wf-{n}"))
        assert response.status_code == 200, response.text
        runs[f"wf-{n}"] = response.json()["run_id"]

    for batch in range(0, count, 20):
        await asyncio.gather(*(start(n) for n in range(batch, min(batch + 20, count))))
    return runs


async def _queued(app: FastAPI, task_type: str) -> int:
    async with app.state.ctx.db.read() as session:
        query = (
            select(func.count())
            .select_from(TaskRow)
            .where(col(TaskRow.task_queue) == QUEUE, col(TaskRow.task_type) == task_type)
        )
        return int((await session.execute(query)).scalar_one())


@pytest.mark.parametrize("backlog", [True, False], ids=["started-before", "started-while-polling"])
async def test_each_workflow_task_is_delivered_exactly_once(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI, backlog: bool
) -> None:
    pollers = Pollers(client, clock, "workflow")
    if backlog:
        runs = await _start_all(client, WORKFLOWS)
        assert await _queued(app, "workflow") == WORKFLOWS
        await pollers.drain(WORKFLOWS)
    else:  # the tasks arrive while the pollers are waiting or claiming
        runs, _ = await asyncio.gather(_start_all(client, WORKFLOWS), pollers.drain(WORKFLOWS))
    assert len(set(runs.values())) == WORKFLOWS

    delivered = [
        (task["workflow_execution"]["workflow_id"], task["workflow_execution"]["run_id"])
        for _, task in pollers.delivered
    ]
    duplicates = [run for run, n in Counter(delivered).items() if n > 1]
    assert not duplicates, f"delivered more than once: {duplicates}"
    assert sorted(delivered) == sorted(runs.items())
    for _, task in pollers.delivered:
        assert task["attempt"] == 1 and task["started_event_id"] == 3, task
        assert [e["event_type"] for e in task["history"]] == [
            "WORKFLOW_EXECUTION_STARTED",
            "WORKFLOW_TASK_SCHEDULED",
            "WORKFLOW_TASK_STARTED",
        ]
    # The work was shared out, not taken by one poller.
    assert len({identity for identity, _ in pollers.delivered}) > 1

    # Every poller was recorded.
    recorded = {r.identity for r in await _pollers(app) if r.task_type == "workflow"}
    assert recorded == {f"poller-{n}" for n in range(POLLERS)}

    # Nothing is left: the queue is empty, and each run recorded exactly one start.
    assert await _queued(app, "workflow") == 0
    assert (await Worker(client, clock, app).workflow_task())["task_token"] == ""
    async with app.state.ctx.db.read() as session:
        started = (
            await session.execute(
                select(col(HistoryEventRow.run_id)).where(
                    col(HistoryEventRow.event_type) == "WORKFLOW_TASK_STARTED"
                )
            )
        ).scalars()
        per_run = Counter(started)
    assert per_run == dict.fromkeys(runs.values(), 1)


async def test_each_activity_task_is_delivered_exactly_once(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    run_id = await worker.start("fan-out")
    task = await worker.workflow_task()
    ids = [f"activity-{n}" for n in range(ACTIVITIES)]
    response = await worker.complete_workflow_task(
        task["task_token"], *(schedule_activity(a, input={"n": a}) for a in ids)
    )
    assert response.status_code == 200, response.text
    scheduled = [
        e for e in await worker.history("fan-out") if e["event_type"] == "ACTIVITY_TASK_SCHEDULED"
    ]
    assert len(scheduled) == ACTIVITIES
    assert await _queued(app, "activity") == ACTIVITIES

    pollers = Pollers(client, clock, "activity")
    await pollers.drain(ACTIVITIES)

    delivered = [task["activity_id"] for _, task in pollers.delivered]
    duplicates = [a for a, n in Counter(delivered).items() if n > 1]
    assert not duplicates, f"delivered more than once: {duplicates}"
    assert sorted(delivered) == sorted(ids)
    tokens = [task["task_token"] for _, task in pollers.delivered]
    assert len(set(tokens)) == ACTIVITIES
    for _, activity in pollers.delivered:
        assert activity["attempt"] == 1, activity
        assert activity["input"] == {"n": activity["activity_id"]}, activity
        assert activity["workflow_execution"] == {"workflow_id": "fan-out", "run_id": run_id}
    assert len({identity for identity, _ in pollers.delivered}) > 1

    assert await _queued(app, "activity") == 0
    assert (await worker.activity_task())["task_token"] == ""
    # A delivered token names the live attempt: a heartbeat on it is accepted (a sample;
    # each answer rewrites the run's state, which holds all 200 activities).
    beats = await asyncio.gather(*(worker.activity("heartbeat", t) for t in tokens[::20]))
    assert [b.status_code for b in beats] == [200] * len(tokens[::20])


async def _namespace_id(app: FastAPI, name: str) -> str:
    async with app.state.ctx.db.read() as session:
        query = select(NamespaceRow).where(col(NamespaceRow.name) == name)
        row: NamespaceRow = (await session.execute(query)).scalar_one()
        return row.id


async def _pollers(app: FastAPI) -> list[PollerRow]:
    async with app.state.ctx.db.read() as session:
        rows = (await session.execute(select(PollerRow))).scalars()
        return list(rows)


async def test_a_poll_records_the_poller(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await worker.start("recorded")
    polled_at = clock.now()
    task = await worker.workflow_task()  # answered at once: the clock did not move
    assert task["task_token"]
    assert clock.now() == polled_at

    rows = await _pollers(app)
    assert [(r.task_queue, r.task_type, r.identity) for r in rows] == [
        (QUEUE, "workflow", "test-worker")
    ]
    assert rows[0].last_access_time == clock.now()
    assert rows[0].namespace_id == await _namespace_id(app, "default")

    # A later poll by the same worker moves its time forward instead of adding a row.
    clock.advance(30)
    later = clock.now()
    assert (await worker.workflow_task())["task_token"] == ""  # empty: it moved the clock 1s
    rows = await _pollers(app)
    assert len(rows) == 1
    assert rows[0].last_access_time == later

    # An activity poll is recorded apart from the workflow poll of the same identity.
    activity_polled_at = clock.now()
    assert (await worker.activity_task())["task_token"] == ""
    by_type = {r.task_type: r for r in await _pollers(app)}
    assert set(by_type) == {"workflow", "activity"}
    assert by_type["activity"].identity == "test-worker"
    assert by_type["activity"].last_access_time == activity_polled_at
    assert by_type["workflow"].last_access_time == later
