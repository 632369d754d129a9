"""Waiting for a workflow's outcome over HTTP."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI

from app.clock import ManualClock
from tests.api.worker_client import NS, Worker, complete_workflow
from tests.conftest import assert_error, wait_until


async def test_result_of_a_completed_workflow(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    run_id = await worker.start("done")
    task = await worker.workflow_task()
    await worker.complete_workflow_task(task["task_token"], complete_workflow({"total": 3}))
    response = await client.get(f"{NS}/workflows/done/result")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "COMPLETED"
    assert body["result"] == {"total": 3}
    assert body["run_id"] == run_id
    assert body["close_event"]["event_type"] == "WORKFLOW_EXECUTION_COMPLETED"
    by_run = await client.get(f"{NS}/workflows/done/runs/{run_id}/result")
    assert by_run.json()["result"] == {"total": 3}


async def test_result_waits_for_the_close(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await worker.start("waited")
    waiting = asyncio.create_task(
        client.get(f"{NS}/workflows/waited/result", params={"wait_timeout": "30s"})
    )
    await wait_until(lambda: clock.pending_waits() == 1)
    task = await worker.workflow_task()
    await worker.complete_workflow_task(
        task["task_token"],
        {
            "command_type": "FAIL_WORKFLOW_EXECUTION",
            "fail_workflow_execution_command_attributes": {"failure": {"message": "boom"}},
        },
    )
    body = (await waiting).json()
    assert body["status"] == "FAILED"
    assert body["failure"]["message"] == "boom"
    assert body["retry_state"] == "RETRY_POLICY_NOT_SET"


async def test_still_running_after_the_wait(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await worker.start("open")
    immediate = await client.get(f"{NS}/workflows/open/result", params={"wait_timeout": "0s"})
    assert immediate.json()["status"] == "RUNNING"
    waiting = asyncio.create_task(
        client.get(f"{NS}/workflows/open/result", params={"wait_timeout": "5s"})
    )
    await wait_until(lambda: clock.pending_waits() == 1)
    clock.advance(5)
    assert (await waiting).json()["status"] == "RUNNING"


async def test_terminated_details_and_bad_wait(client: httpx.AsyncClient) -> None:
    await client.post(
        f"{NS}/workflows",
        json={"workflow_id": "t", "workflow_type": {"name": "W"}, "task_queue": "q"},
    )
    await client.post(f"{NS}/workflows/t/terminate", json={"reason": "r", "details": [1, 2]})
    body = (await client.get(f"{NS}/workflows/t/result")).json()
    assert body["status"] == "TERMINATED" and body["details"] == [1, 2]
    bad = await client.get(f"{NS}/workflows/t/result", params={"wait_timeout": "soon"})
    assert_error(bad, 400, "INVALID_ARGUMENT")
    missing = await client.get(f"{NS}/workflows/nope/result")
    assert_error(missing, 404, "WORKFLOW_EXECUTION_NOT_FOUND")
