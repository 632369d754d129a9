"""Cron schedules croniter accepts but cannot iterate (a day that never comes) or an
``@every`` too long to add to a date: refused where they are given, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.clock import ManualClock
from tests.api.worker_client import NS, Worker
from tests.conftest import assert_error, start_body

NEVER = [
    "0 0 31 2 *",  # 31 February
    "0 0 30 2 *",
    "0 0 31 4,6,9,11 *",  # the months with 30 days, on their 31st
    "0 0 1 1 7#5",  # croniter finds no date for it either
    "CRON_TZ=Europe/Paris 0 0 31 2 *",
    "@every 99999999999999h",  # beyond a Go duration, and beyond year 9999
]


@pytest.mark.parametrize("schedule", NEVER)
async def test_a_schedule_that_never_fires_is_refused_at_start(
    client: httpx.AsyncClient, schedule: str
) -> None:
    response = await client.post(f"{NS}/workflows", json=start_body(cron_schedule=schedule))
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert error["details"][0]["field"] == "cron_schedule"
    assert "never fires" in error["message"] or "2562047h" in error["message"]


@pytest.mark.parametrize("schedule", ["0 0 29 2 *", "@every 2562047h", "0 0 31 * *"])
async def test_rare_schedules_still_start(client: httpx.AsyncClient, schedule: str) -> None:
    response = await client.post(f"{NS}/workflows", json=start_body(cron_schedule=schedule))
    assert response.status_code == 200, response.text


def _command(kind: str, **attrs: Any) -> dict[str, Any]:
    return {"command_type": kind.upper(), f"{kind}_command_attributes": attrs}


@pytest.mark.parametrize(
    "command",
    [
        _command("continue_as_new_workflow_execution", cron_schedule="0 0 31 2 *"),
        _command(
            "start_child_workflow_execution",
            workflow_id="child",
            workflow_type={"name": "Child"},
            cron_schedule="0 0 31 2 *",
        ),
    ],
)
async def test_a_worker_command_with_such_a_schedule_fails_its_task(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI, command: dict[str, Any]
) -> None:
    worker = Worker(client, clock, app)
    run_id = await worker.start("parent")
    task = await worker.workflow_task()
    answered = await worker.complete_workflow_task(task["task_token"], command)
    assert answered.status_code in (200, 400), answered.text
    history = await client.get(f"{NS}/workflows/parent/runs/{run_id}/history")
    types = [event["event_type"] for event in history.json()["history"]]
    assert types[-1] == "WORKFLOW_TASK_FAILED", types
