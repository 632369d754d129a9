"""Signals and cancel requests sent by one workflow to another."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from app.clock import ManualClock
from tests.api.worker_client import Worker, attributes


def _signal(workflow_id: str, run_id: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "command_type": "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION",
        "signal_external_workflow_execution_command_attributes": {
            "execution": {"workflow_id": workflow_id, "run_id": run_id},
            "signal_name": "ping",
            "input": {"from": "sender"},
            **extra,
        },
    }


def _cancel(workflow_id: str) -> dict[str, Any]:
    return {
        "command_type": "REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION",
        "request_cancel_external_workflow_execution_command_attributes": {
            "workflow_id": workflow_id,
            "reason": "stop it",
        },
    }


async def _sender_task(worker: Worker, workflow_id: str) -> str:
    run_id = await worker.start(workflow_id, task_queue="senders")
    return run_id


async def test_signal_another_workflow(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    target_run = await worker.start("target")
    sender_run = await _sender_task(worker, "sender")
    task = await worker.workflow_task("senders")
    response = await worker.complete_workflow_task(task["task_token"], _signal("target"))
    assert response.status_code == 200, response.text
    sender = await worker.history("sender")
    assert [e["event_type"] for e in sender][3:] == [
        "WORKFLOW_TASK_COMPLETED",
        "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED",
        "EXTERNAL_WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    signaled = attributes(sender[5])
    assert signaled["initiated_event_id"] == 5
    assert signaled["workflow_execution"] == {"workflow_id": "target", "run_id": target_run}
    target = await worker.history("target")
    assert target[-1]["event_type"] == "WORKFLOW_EXECUTION_SIGNALED"
    assert attributes(target[-1])["external_workflow_execution"] == {
        "workflow_id": "sender",
        "run_id": sender_run,
    }
    assert attributes(target[-1])["input"] == {"from": "sender"}


async def test_signal_to_a_missing_workflow_fails(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await _sender_task(worker, "lonely")
    task = await worker.workflow_task("senders")
    await worker.complete_workflow_task(task["task_token"], _signal("nobody"))
    history = await worker.history("lonely")
    failed = history[-2]
    assert failed["event_type"] == "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED"
    assert attributes(failed)["cause"] == "EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND"
    assert attributes(failed)["initiated_event_id"] == 5
    assert attributes(failed)["workflow_task_completed_event_id"] == 4


async def test_cancel_another_workflow(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await worker.start("victim")
    await _sender_task(worker, "canceller")
    task = await worker.workflow_task("senders")
    await worker.complete_workflow_task(task["task_token"], _cancel("victim"))
    assert (await worker.event_types("canceller"))[-3:] == [
        "REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED",
        "EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    victim = await worker.history("victim")
    requested = victim[-1]
    assert requested["event_type"] == "WORKFLOW_EXECUTION_CANCEL_REQUESTED"
    assert attributes(requested)["external_initiated_event_id"] == 5
    assert attributes(requested)["cause"] == "stop it"


async def test_cancel_of_a_missing_workflow_fails(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await _sender_task(worker, "c2")
    task = await worker.workflow_task("senders")
    await worker.complete_workflow_task(task["task_token"], _cancel("ghost"))
    assert (await worker.event_types("c2"))[-2] == (
        "REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED"
    )


async def test_signal_to_itself(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await _sender_task(worker, "narcissus")
    task = await worker.workflow_task("senders")
    await worker.complete_workflow_task(task["task_token"], _signal("narcissus"))
    # The signal lands first (and wakes the workflow), then its sender learns it arrived,
    # as when Temporal delivers the two in turn.
    assert (await worker.event_types("narcissus"))[4:] == [
        "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
        "EXTERNAL_WORKFLOW_EXECUTION_SIGNALED",
    ]
