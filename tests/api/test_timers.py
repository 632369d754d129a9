"""Durable timers: first-task backoffs and run timeouts fire when the clock reaches them,
exactly once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.clock import ManualClock
from app.db.tables import TimerTaskRow, table_of
from app.services.timers import TimerProcessor
from tests.api.worker_client import Worker, schedule_activity
from tests.conftest import BACKEND, start_body, wait_until

WORKFLOWS = "/api/v1/namespaces/default/workflows"


def _timers(app: FastAPI) -> TimerProcessor:
    loop = app.state.ctx.loops[0]
    assert isinstance(loop, TimerProcessor)
    return loop


async def _event_types(client: httpx.AsyncClient, workflow_id: str) -> list[str]:
    response = await client.get(f"{WORKFLOWS}/{workflow_id}/history")
    assert response.status_code == 200, response.text
    return [e["event_type"] for e in response.json()["history"]]


async def _last_event(client: httpx.AsyncClient, workflow_id: str) -> dict[str, Any]:
    response = await client.get(f"{WORKFLOWS}/{workflow_id}/history")
    event: dict[str, Any] = response.json()["history"][-1]
    return event


async def test_start_delay_schedules_the_first_task_when_it_ends(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    body = start_body("delayed", workflow_start_delay="30s")
    assert (await client.post(WORKFLOWS, json=body)).status_code == 200
    assert await _event_types(client, "delayed") == ["WORKFLOW_EXECUTION_STARTED"]

    clock.advance(29)
    assert await _timers(app).run_once() == 1.0
    assert await _event_types(client, "delayed") == ["WORKFLOW_EXECUTION_STARTED"]

    clock.advance(1)
    await _timers(app).run_once()
    assert await _event_types(client, "delayed") == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    await _timers(app).run_once()
    assert len(await _event_types(client, "delayed")) == 2


async def test_cron_first_run_waits_for_its_fire_time(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    body = start_body("cron", cron_schedule="*/5 * * * *")
    assert (await client.post(WORKFLOWS, json=body)).status_code == 200
    started = (await client.get(f"{WORKFLOWS}/cron/history")).json()["history"][0]
    backoff = started["workflow_execution_started_event_attributes"]["first_workflow_task_backoff"]
    seconds = int(backoff.removesuffix("s"))
    assert 0 < seconds <= 300

    clock.advance(seconds)
    await _timers(app).run_once()
    assert (await _event_types(client, "cron"))[-1] == "WORKFLOW_TASK_SCHEDULED"


async def test_run_timeout_times_the_run_out(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    body = start_body("short", workflow_run_timeout="60s")
    assert (await client.post(WORKFLOWS, json=body)).status_code == 200
    clock.advance(59)
    await _timers(app).run_once()
    assert (await client.get(f"{WORKFLOWS}/short")).json()["execution_info"]["status"] == "RUNNING"

    clock.advance(1)
    await _timers(app).run_once()
    described = (await client.get(f"{WORKFLOWS}/short")).json()
    assert described["execution_info"]["status"] == "TIMED_OUT"
    last = await _last_event(client, "short")
    assert last["event_type"] == "WORKFLOW_EXECUTION_TIMED_OUT"
    assert last["workflow_execution_timed_out_event_attributes"] == {
        "retry_state": "RETRY_POLICY_NOT_SET"
    }


async def test_execution_timeout_reports_timeout_retry_state(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    body = start_body("bounded", workflow_execution_timeout="120s")
    assert (await client.post(WORKFLOWS, json=body)).status_code == 200
    clock.advance(120)
    await _timers(app).run_once()
    last = await _last_event(client, "bounded")
    assert last["workflow_execution_timed_out_event_attributes"]["retry_state"] == "TIMEOUT"


async def test_timer_of_a_closed_run_changes_nothing(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    body = start_body("closed-early", workflow_run_timeout="60s")
    assert (await client.post(WORKFLOWS, json=body)).status_code == 200
    terminated = await client.post(f"{WORKFLOWS}/closed-early/terminate", json={"reason": "r"})
    assert terminated.status_code == 200
    before = await _event_types(client, "closed-early")

    clock.advance(61)
    assert await _timers(app).run_once() == 60.0
    assert await _event_types(client, "closed-early") == before
    assert await _timers(app).run_once() == 60.0


async def _timer_kinds(app: FastAPI, workflow_id: str) -> list[str]:
    timers = table_of(TimerTaskRow)
    query = select(timers.c.kind).where(timers.c.workflow_id == workflow_id)
    async with app.state.ctx.db.read() as session:
        return sorted((await session.execute(query)).scalars())


async def test_a_closing_run_takes_its_timers_with_it(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    worker = Worker(client, clock, app)
    for workflow_id in ("closing", "still-running"):
        await worker.start(workflow_id, workflow_run_timeout="3600s")
        task = await worker.workflow_task()
        scheduled = await worker.complete_workflow_task(task["task_token"], schedule_activity())
        assert scheduled.status_code == 200, scheduled.text
        await worker.activity_task()  # started: its start-to-close timeout is a timer
    expected = await _timer_kinds(app, "closing")
    assert {"ACTIVITY_START_TO_CLOSE", "WORKFLOW_RUN_TIMEOUT"} <= set(expected)

    terminated = await client.post(f"{WORKFLOWS}/closing/terminate", json={"reason": "r"})
    assert terminated.status_code == 200, terminated.text
    assert await _timer_kinds(app, "closing") == []
    assert await _timer_kinds(app, "still-running") == expected


async def test_long_poll_for_the_close_event_sees_a_timeout(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    import asyncio

    body = start_body("awaited", workflow_run_timeout="10s")
    assert (await client.post(WORKFLOWS, json=body)).status_code == 200
    poll = asyncio.create_task(
        client.get(
            f"{WORKFLOWS}/awaited/history",
            params={"wait_new_event": "true", "history_event_filter_type": "CLOSE_EVENT"},
        )
    )
    await wait_until(lambda: clock.pending_waits() == 1)
    clock.advance(10)
    await _timers(app).run_once()
    response = await poll
    events = response.json()["history"]
    assert [e["event_type"] for e in events] == ["WORKFLOW_EXECUTION_TIMED_OUT"]


@pytest.mark.skipif(
    BACKEND != "sqlite",
    reason="on PostgreSQL each timer written is also broadcast to every process, this one too",
)
async def test_a_timer_wakes_the_processor_only_when_due_before_its_next_look(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    timers = _timers(app)
    body = start_body("first", workflow_start_delay="30s")
    assert (await client.post(WORKFLOWS, json=body)).status_code == 200
    assert timers.wake.is_set()  # nothing was known of it
    timers.wake.clear()
    assert await timers.run_once() == 30.0  # it next looks in 30 s

    later = start_body("later", workflow_start_delay="45s")
    assert (await client.post(WORKFLOWS, json=later)).status_code == 200
    assert not timers.wake.is_set()  # it looks before that timer is due anyway
    sooner = start_body("sooner", workflow_start_delay="10s")
    assert (await client.post(WORKFLOWS, json=sooner)).status_code == 200
    assert timers.wake.is_set()

    clock.advance(10)
    await timers.run_once()
    assert await _event_types(client, "sooner") == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
