"""Eager activity execution: an activity scheduled on the workflow's own task queue with
request_eager_execution starts at once and is handed to the worker in the workflow task's
answer, never queued, as real Temporal does; the history is the one a poll would write."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from app.clock import ManualClock
from tests.api.worker_client import (
    ACTIVITY_SCHEDULED_HEAD,
    QUEUE,
    Worker,
    attributes,
    complete_workflow,
    schedule_activity,
)
from tests.conftest import assert_error

HEAD = ACTIVITY_SCHEDULED_HEAD


def eager(activity_id: str = "a1", **attributes: Any) -> dict[str, Any]:
    return schedule_activity(activity_id, request_eager_execution=True, **attributes)


async def _answer(worker: Worker, workflow_id: str, *commands: dict[str, Any]) -> dict[str, Any]:
    """Start a workflow and answer its first task with ``commands``."""
    run_id = await worker.start(workflow_id)
    task = await worker.workflow_task()
    response = await worker.complete_workflow_task(task["task_token"], *commands)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = {**response.json(), "run_id": run_id}
    return body


async def test_an_eager_activity_comes_back_started_and_is_never_queued(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    answer = await _answer(worker, "eager", eager(schedule_to_start_timeout="5s"))
    [task] = answer["activity_tasks"]
    assert task["task_token"]
    assert (task["activity_id"], task["attempt"], task["input"]) == ("a1", 1, {"amount": 59.98})
    assert task["activity_type"] == {"name": "ProcessPayment"}
    assert task["workflow_execution"] == {"workflow_id": "eager", "run_id": answer["run_id"]}
    assert task["workflow_type"] == {"name": "OrderProcessingWorkflow"}
    assert task["start_to_close_timeout"] == "30s"
    assert task["started_time"] and task["scheduled_time"]
    assert "poll_window" not in task
    assert (await worker.activity_task())["task_token"] == ""
    await worker.fire_timers(5)  # its schedule-to-start bound does not apply: it started
    assert await worker.event_types("eager") == HEAD

    done = await worker.activity("complete", task["task_token"], result={"paid": True})
    assert done.status_code == 200, done.text
    history = await worker.history("eager")
    assert [e["event_type"] for e in history] == [
        *HEAD,
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_COMPLETED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    started = attributes(history[5])
    assert started["scheduled_event_id"] == 5 and started["attempt"] == 1
    assert started["identity"] == "test-worker" and started["request_id"]
    assert attributes(history[6])["result"] == {"paid": True}


async def test_an_eager_attempt_that_times_out_is_retried_through_the_queue(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    answer = await _answer(worker, "late", eager(start_to_close_timeout="10s"))
    [task] = answer["activity_tasks"]
    await worker.fire_timers(10)
    await worker.fire_timers(1)  # the retry's backoff
    retried = await worker.activity_task()
    assert retried["attempt"] == 2
    late = await worker.activity("complete", task["task_token"], result=1)
    assert_error(late, 409, "ACTIVITY_TASK_TIMEOUT")
    assert (await worker.activity("complete", retried["task_token"])).status_code == 200


async def test_not_eager_on_another_queue_or_without_asking(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    answer = await _answer(
        worker, "queued", eager("a1", task_queue={"name": "payments"}), schedule_activity("a2")
    )
    assert answer["activity_tasks"] == []
    assert (await worker.activity_task("payments"))["activity_id"] == "a1"
    assert (await worker.activity_task(QUEUE))["activity_id"] == "a2"


async def test_none_when_the_same_task_cancels_it(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    cancel = {
        "command_type": "REQUEST_CANCEL_ACTIVITY_TASK",
        "request_cancel_activity_task_command_attributes": {"scheduled_event_id": 5},
    }
    canceled = await _answer(worker, "canceled", eager(), cancel)
    assert canceled["activity_tasks"] == []
    assert (await worker.event_types("canceled"))[-2:] == [
        "ACTIVITY_TASK_CANCELED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    assert (await worker.activity_task())["task_token"] == ""


async def test_none_when_the_same_task_closes_the_run(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    closed = await _answer(worker, "closed", eager(), complete_workflow("done"))
    assert closed["activity_tasks"] == []
    assert (await worker.event_types("closed"))[-1] == "WORKFLOW_EXECUTION_COMPLETED"
    assert (await worker.activity_task())["task_token"] == ""


async def test_several_eager_activities_in_one_answer(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    answer = await _answer(worker, "fan-out", eager("a1"), eager("a2"))
    tokens = [t["task_token"] for t in answer["activity_tasks"]]
    assert [t["activity_id"] for t in answer["activity_tasks"]] == ["a1", "a2"]
    for token in reversed(tokens):
        assert (await worker.activity("complete", token)).status_code == 200
    history = await worker.history("fan-out")
    started = [attributes(e) for e in history if e["event_type"] == "ACTIVITY_TASK_STARTED"]
    assert [s["scheduled_event_id"] for s in started] == [6, 5]
    assert started[0]["request_id"] != started[1]["request_id"]


async def test_request_eager_execution_must_be_a_boolean(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await worker.start("bad")
    task = await worker.workflow_task()
    response = await worker.complete_workflow_task(
        task["task_token"], schedule_activity(request_eager_execution="yes")
    )
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert error["details"][0]["cause"] == "BAD_SCHEDULE_ACTIVITY_ATTRIBUTES"
