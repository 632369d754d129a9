"""Activities run by a hand-written HTTP worker: retries, timeouts, heartbeats and
cancellation, with the event sequences real Temporal writes."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from app.clock import ManualClock
from tests.api.worker_client import (
    ACTIVITY_SCHEDULED_HEAD,
    Worker,
    attributes,
    complete_workflow,
    schedule_activity,
)
from tests.conftest import assert_error

HEAD = ACTIVITY_SCHEDULED_HEAD

FAILURE = {"message": "card declined", "application_failure_info": {"type": "Declined"}}


async def _scheduled(worker: Worker, workflow_id: str, **activity: object) -> None:
    await worker.start(workflow_id)
    task = await worker.workflow_task()
    response = await worker.complete_workflow_task(
        task["task_token"], schedule_activity(**activity)
    )
    assert response.status_code == 200, response.text


async def test_fails_twice_then_succeeds(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await _scheduled(worker, "retry", retry_policy={"initial_interval": "2s"})
    first = await worker.activity_task()
    assert first["attempt"] == 1 and first["input"] == {"amount": 59.98}
    assert (await worker.activity("fail", first["task_token"], failure=FAILURE)).status_code == 200
    assert (await worker.activity_task())["task_token"] == ""  # backing off
    await worker.fire_timers(2)
    second = await worker.activity_task()
    assert second["attempt"] == 2
    await worker.activity("fail", second["task_token"], failure=FAILURE)
    await worker.fire_timers(4)
    third = await worker.activity_task()
    assert third["attempt"] == 3
    assert await worker.event_types("retry") == HEAD  # retries are invisible
    done = await worker.activity("complete", third["task_token"], result={"paid": True})
    assert done.status_code == 200, done.text
    history = await worker.history("retry")
    assert [e["event_type"] for e in history] == [
        *HEAD,
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_COMPLETED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    started = attributes(history[5])
    assert started["attempt"] == 3 and started["last_failure"]["message"] == "card declined"
    completed = attributes(history[6])
    assert completed == {
        "result": {"paid": True},
        "scheduled_event_id": 5,
        "started_event_id": 6,
        "identity": "test-worker",
    }
    # The first attempt's token is stale.
    late = await worker.activity("complete", first["task_token"], result=1)
    assert_error(late, 404, "NOT_FOUND")

    task = await worker.workflow_task()
    assert (
        await worker.complete_workflow_task(task["task_token"], complete_workflow("ok"))
    ).status_code == 200
    assert (await worker.event_types("retry"))[-1] == "WORKFLOW_EXECUTION_COMPLETED"


async def test_non_retryable_failure_ends_at_once(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await _scheduled(worker, "fatal", retry_policy={"non_retryable_error_types": ["Declined"]})
    task = await worker.activity_task()
    await worker.activity("fail", task["task_token"], failure=FAILURE)
    history = await worker.history("fatal")
    assert history[-2]["event_type"] == "ACTIVITY_TASK_FAILED"
    assert attributes(history[-2])["retry_state"] == "NON_RETRYABLE_FAILURE"


async def test_start_to_close_timeout_until_maximum_attempts(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await _scheduled(
        worker,
        "slow",
        start_to_close_timeout="10s",
        retry_policy={"maximum_attempts": 2, "initial_interval": "1s"},
    )
    first = await worker.activity_task()
    await worker.fire_timers(10)
    late_first = await worker.activity("heartbeat", first["task_token"])
    assert_error(late_first, 409, "ACTIVITY_TASK_TIMEOUT")
    await worker.fire_timers(1)
    second = await worker.activity_task()
    assert second["attempt"] == 2
    await worker.fire_timers(10)
    history = await worker.history("slow")
    assert [e["event_type"] for e in history][-3:] == [
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_TIMED_OUT",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    timed_out = attributes(history[-2])
    assert timed_out["retry_state"] == "MAXIMUM_ATTEMPTS_REACHED"
    assert timed_out["failure"]["timeout_failure_info"]["timeout_type"] == "START_TO_CLOSE"
    late = await worker.activity("complete", first["task_token"])
    assert_error(late, 404, "NOT_FOUND")  # the activity itself has timed out for good


async def test_heartbeat_details_reach_the_next_attempt(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await _scheduled(
        worker,
        "beat",
        heartbeat_timeout="5s",
        start_to_close_timeout="60s",
        retry_policy={"initial_interval": "1s", "maximum_attempts": 2},
    )
    first = await worker.activity_task()
    beat = await worker.activity("heartbeat", first["task_token"], details={"progress": 40})
    assert beat.json() == {"cancel_requested": False}
    await worker.fire_timers(4)  # within the heartbeat timeout
    await worker.activity("heartbeat", first["task_token"], details={"progress": 50})
    await worker.fire_timers(5)  # no heartbeat for 5s: the attempt times out
    await worker.fire_timers(1)
    second = await worker.activity_task()
    assert second["attempt"] == 2
    assert second["heartbeat_details"] == {"progress": 50}
    await worker.fire_timers(5)
    history = await worker.history("beat")
    timed_out = attributes(history[-2])
    assert timed_out["failure"]["timeout_failure_info"] == {
        "timeout_type": "HEARTBEAT",
        "last_heartbeat_details": {"progress": 50},
    }


async def test_cancel_of_a_running_activity_is_seen_on_heartbeat(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await _scheduled(worker, "cancel")
    activity = await worker.activity_task()
    await client.post(
        "/api/v1/namespaces/default/workflows/cancel/signal", json={"signal_name": "stop"}
    )
    task = await worker.workflow_task()
    response = await worker.complete_workflow_task(
        task["task_token"],
        {
            "command_type": "REQUEST_CANCEL_ACTIVITY_TASK",
            "request_cancel_activity_task_command_attributes": {"scheduled_event_id": 5},
        },
    )
    assert response.status_code == 200, response.text
    beat = await worker.activity("heartbeat", activity["task_token"])
    assert beat.json() == {"cancel_requested": True}
    canceled = await worker.activity(
        "resolve-as-canceled", activity["task_token"], details="stopped"
    )
    assert canceled.status_code == 200, canceled.text
    history = await worker.history("cancel")
    assert [e["event_type"] for e in history][-4:] == [
        "ACTIVITY_TASK_CANCEL_REQUESTED",
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_CANCELED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    assert attributes(history[-2])["latest_cancel_requested_event_id"] == history[-4]["event_id"]


async def test_cancel_before_start_resolves_at_once(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await _scheduled(worker, "early")
    await client.post(
        "/api/v1/namespaces/default/workflows/early/signal", json={"signal_name": "stop"}
    )
    task = await worker.workflow_task()
    await worker.complete_workflow_task(
        task["task_token"],
        {
            "command_type": "REQUEST_CANCEL_ACTIVITY_TASK",
            "request_cancel_activity_task_command_attributes": {"scheduled_event_id": 5},
        },
    )
    assert (await worker.event_types("early"))[-4:] == [
        "WORKFLOW_TASK_COMPLETED",
        "ACTIVITY_TASK_CANCEL_REQUESTED",
        "ACTIVITY_TASK_CANCELED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    assert (await worker.activity_task())["task_token"] == ""


async def test_schedule_to_start_timeout(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await _scheduled(worker, "unpolled", schedule_to_start_timeout="20s")
    await worker.fire_timers(20)
    history = await worker.history("unpolled")
    assert [e["event_type"] for e in history][-2:] == [
        "ACTIVITY_TASK_TIMED_OUT",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    timed_out = attributes(history[-2])
    assert timed_out["started_event_id"] == 0
    assert timed_out["failure"]["timeout_failure_info"]["timeout_type"] == "SCHEDULE_TO_START"


async def test_completion_while_a_workflow_task_runs_is_buffered(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await _scheduled(worker, "buffered")
    activity = await worker.activity_task()
    await client.post(
        "/api/v1/namespaces/default/workflows/buffered/signal", json={"signal_name": "poke"}
    )
    task = await worker.workflow_task()
    await worker.activity("complete", activity["task_token"], result=7)
    assert (await worker.event_types("buffered"))[-1] == "WORKFLOW_TASK_STARTED"
    await worker.complete_workflow_task(task["task_token"])
    history = await worker.history("buffered")
    assert [e["event_type"] for e in history][-4:] == [
        "WORKFLOW_TASK_COMPLETED",
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_COMPLETED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    assert attributes(history[-2])["started_event_id"] == history[-3]["event_id"]


async def test_bad_activity_attributes_fail_the_workflow_task(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await worker.start("bad-activity")
    task = await worker.workflow_task()
    response = await worker.complete_workflow_task(
        task["task_token"], schedule_activity(start_to_close_timeout=None)
    )
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert error["details"][0]["cause"] == "BAD_SCHEDULE_ACTIVITY_ATTRIBUTES"


async def test_forged_activity_token_is_refused(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    response = await worker.activity("complete", "forged-token")
    assert_error(response, 400, "INVALID_ARGUMENT")


async def test_waiting_activity_poller_is_woken_at_once(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    import asyncio

    from tests.conftest import wait_until

    worker = Worker(client, clock, app)
    await worker.start("wake")
    task = await worker.workflow_task()
    waiting = asyncio.create_task(
        client.post(
            "/api/v1/namespaces/default/task-queues/order-processing-queue/activity-tasks/poll",
            json={"identity": "waiter", "wait_timeout": "50s"},
        )
    )
    await wait_until(lambda: clock.pending_waits() == 1)
    await worker.complete_workflow_task(task["task_token"], schedule_activity())
    response = await asyncio.wait_for(waiting, timeout=5)
    assert response.json()["activity_id"] == "a1"
