"""Child workflows: started by a command, reported to the parent when they start and
close, and handled by the parent close policy."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from app.clock import ManualClock
from tests.api.worker_client import NS, Worker, attributes, complete_workflow


def _start_child(workflow_id: str = "child-1", **extra: Any) -> dict[str, Any]:
    return {
        "command_type": "START_CHILD_WORKFLOW_EXECUTION",
        "start_child_workflow_execution_command_attributes": {
            "workflow_id": workflow_id,
            "workflow_type": {"name": "ChildWorkflow"},
            "task_queue": {"name": "children"},
            "input": {"step": 1},
            **extra,
        },
    }


async def _parent_with_child(worker: Worker, **extra: Any) -> str:
    parent_run = await worker.start("parent")
    task = await worker.workflow_task()
    response = await worker.complete_workflow_task(task["task_token"], _start_child(**extra))
    assert response.status_code == 200, response.text
    return parent_run


async def test_child_completes_and_the_parent_hears(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    parent_run = await _parent_with_child(worker)
    parent = await worker.history("parent")
    assert [e["event_type"] for e in parent][3:] == [
        "WORKFLOW_TASK_COMPLETED",
        "START_CHILD_WORKFLOW_EXECUTION_INITIATED",
        "CHILD_WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    started = attributes(parent[5])
    child_run = started["workflow_execution"]["run_id"]
    assert started["initiated_event_id"] == 5
    child_task = await worker.workflow_task("children")
    assert child_task["workflow_execution"] == {"workflow_id": "child-1", "run_id": child_run}
    first = attributes(child_task["history"][0])
    assert first["parent_workflow_execution"] == {"workflow_id": "parent", "run_id": parent_run}
    assert first["parent_initiated_event_id"] == 5
    assert first["input"] == {"step": 1}
    described = (await client.get(f"{NS}/workflows/child-1")).json()["execution_info"]
    assert described["parent_execution"] == {"workflow_id": "parent", "run_id": parent_run}
    await worker.complete_workflow_task(child_task["task_token"], complete_workflow({"ok": 1}))
    parent = await worker.history("parent")
    done = next(e for e in parent if e["event_type"] == "CHILD_WORKFLOW_EXECUTION_COMPLETED")
    assert attributes(done)["result"] == {"ok": 1}
    assert attributes(done)["initiated_event_id"] == 5
    assert attributes(done)["started_event_id"] == 6


async def test_child_failure_reaches_the_parent(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await _parent_with_child(worker)
    child_task = await worker.workflow_task("children")
    await worker.complete_workflow_task(
        child_task["task_token"],
        {
            "command_type": "FAIL_WORKFLOW_EXECUTION",
            "fail_workflow_execution_command_attributes": {"failure": {"message": "no stock"}},
        },
    )
    # The parent's task scheduled by the child's start is still pending, so the report
    # follows it directly.
    failed = (await worker.history("parent"))[-1]
    assert failed["event_type"] == "CHILD_WORKFLOW_EXECUTION_FAILED"
    assert attributes(failed)["failure"]["message"] == "no stock"


async def test_start_of_a_running_child_id_fails(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await worker.start("child-1", task_queue="children")
    await _parent_with_child(worker)
    failed = (await worker.history("parent"))[-2]
    assert failed["event_type"] == "START_CHILD_WORKFLOW_EXECUTION_FAILED"
    assert attributes(failed)["cause"] == "WORKFLOW_ALREADY_EXISTS"


async def _close_parent(worker: Worker) -> None:
    task = await worker.workflow_task()
    response = await worker.complete_workflow_task(task["task_token"], complete_workflow())
    assert response.status_code == 200, response.text


async def test_parent_close_policy_terminate(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await _parent_with_child(worker)
    await _close_parent(worker)
    child = (await client.get(f"{NS}/workflows/child-1")).json()
    assert child["execution_info"]["status"] == "TERMINATED"
    assert attributes(child["workflow_execution_history"][-1])["reason"] == (
        "by parent close policy"
    )
    assert (await worker.event_types("parent"))[-1] == "WORKFLOW_EXECUTION_COMPLETED"


async def test_parent_close_policy_request_cancel(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await _parent_with_child(worker, parent_close_policy="REQUEST_CANCEL")
    await _close_parent(worker)
    child = (await client.get(f"{NS}/workflows/child-1")).json()
    assert child["execution_info"]["status"] == "RUNNING"
    assert "WORKFLOW_EXECUTION_CANCEL_REQUESTED" in [
        e["event_type"] for e in child["workflow_execution_history"]
    ]


async def test_parent_close_policy_abandon(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await _parent_with_child(worker, parent_close_policy="PARENT_CLOSE_POLICY_ABANDON")
    await _close_parent(worker)
    child = (await client.get(f"{NS}/workflows/child-1")).json()
    assert child["execution_info"]["status"] == "RUNNING"
    assert [e["event_type"] for e in child["workflow_execution_history"]] == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
    ]


async def test_terminating_the_parent_applies_the_policy(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await _parent_with_child(worker)
    response = await client.post(f"{NS}/workflows/parent/terminate", json={"reason": "stop"})
    assert response.status_code == 200, response.text
    child = (await client.get(f"{NS}/workflows/child-1")).json()
    assert child["execution_info"]["status"] == "TERMINATED"


async def test_terminated_child_is_reported(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await _parent_with_child(worker)
    await client.post(f"{NS}/workflows/child-1/terminate", json={"reason": "ops"})
    assert (await worker.event_types("parent"))[-2:] == [
        "WORKFLOW_TASK_SCHEDULED",
        "CHILD_WORKFLOW_EXECUTION_TERMINATED",
    ]
