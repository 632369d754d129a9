"""GetWorkflowExecution shows what the run waits on: its pending activities (as
DescribeWorkflowExecution does over gRPC, from the same service)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from app.clock import ManualClock
from tests.api.worker_client import NS, Worker, schedule_activity


async def test_a_scheduled_then_started_activity_is_pending(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await worker.start("pending-1")
    task = await worker.workflow_task()
    retry = {"retry_policy": {"maximum_attempts": 3}}
    completed = await worker.complete_workflow_task(
        task["task_token"], schedule_activity("pay", **retry)
    )
    assert completed.status_code == 200, completed.text

    described = (await client.get(f"{NS}/workflows/pending-1")).json()
    (pending,) = described["pending_activities"]
    assert pending["activity_id"] == "pay"
    assert pending["activity_type"] == {"name": "ProcessPayment"}
    assert pending["state"] == "SCHEDULED"
    assert pending["attempt"] == 1
    assert pending["maximum_attempts"] == 3
    assert described["pending_children"] == []

    await worker.activity_task()
    described = (await client.get(f"{NS}/workflows/pending-1")).json()
    (pending,) = described["pending_activities"]
    assert pending["state"] == "STARTED"
    assert pending["last_worker_identity"] == "test-worker"
    assert pending["last_started_time"]
