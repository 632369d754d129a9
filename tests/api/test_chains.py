"""Chains of runs: continue-as-new, workflow retries and cron, each a new run under the
same workflow id, linked to the run before it."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from app.clock import ManualClock
from tests.api.worker_client import NS, Worker, attributes, complete_workflow


def _continue_as_new(**attrs: Any) -> dict[str, Any]:
    return {
        "command_type": "CONTINUE_AS_NEW_WORKFLOW_EXECUTION",
        "continue_as_new_workflow_execution_command_attributes": attrs,
    }


def _fail(message: str = "boom") -> dict[str, Any]:
    return {
        "command_type": "FAIL_WORKFLOW_EXECUTION",
        "fail_workflow_execution_command_attributes": {"failure": {"message": message}},
    }


async def _runs(client: httpx.AsyncClient, workflow_id: str, run_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"{NS}/workflows/{workflow_id}/runs/{run_id}/history")
    events: list[dict[str, Any]] = response.json()["history"]
    return events


async def test_continue_as_new_three_times(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    first_run = await worker.start("chain", workflow_execution_timeout="3600s")
    runs = [first_run]
    for n in range(3):
        task = await worker.workflow_task()
        assert task["workflow_execution"]["run_id"] == runs[-1]
        started = attributes(task["history"][0])
        assert started["attempt"] == 1
        response = await worker.complete_workflow_task(
            task["task_token"], _continue_as_new(input={"n": n + 1})
        )
        assert response.status_code == 200, response.text
        closing = (await _runs(client, "chain", runs[-1]))[-1]
        assert closing["event_type"] == "WORKFLOW_EXECUTION_CONTINUED_AS_NEW"
        runs.append(attributes(closing)["new_execution_run_id"])
    task = await worker.workflow_task()
    started = attributes(task["history"][0])
    assert started["input"] == {"n": 3}
    assert started["initiator"] == "WORKFLOW"
    assert started["continued_execution_run_id"] == runs[-2]
    assert started["first_execution_run_id"] == first_run
    assert (
        started["workflow_execution_expiration_time"]
        == attributes((await _runs(client, "chain", first_run))[0])[
            "workflow_execution_expiration_time"
        ]
    )
    await worker.complete_workflow_task(task["task_token"], complete_workflow("end"))
    described = (await client.get(f"{NS}/workflows/chain")).json()["execution_info"]
    assert described["execution"]["run_id"] == runs[-1]
    assert described["status"] == "COMPLETED"
    first = (await client.get(f"{NS}/workflows/chain/runs/{first_run}")).json()
    assert first["execution_info"]["status"] == "CONTINUED_AS_NEW"
    result = (await client.get(f"{NS}/workflows/chain/runs/{first_run}/result")).json()
    assert result["run_id"] == runs[-1] and result["result"] == "end"


async def test_failed_run_is_retried_after_its_backoff(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    first_run = await worker.start(
        "retried", retry_policy={"initial_interval": "10s", "maximum_attempts": 2}
    )
    task = await worker.workflow_task()
    await worker.complete_workflow_task(task["task_token"], _fail())
    closing = attributes((await _runs(client, "retried", first_run))[-1])
    assert closing["retry_state"] == "IN_PROGRESS"
    second_run = closing["new_execution_run_id"]
    first = (await client.get(f"{NS}/workflows/retried/runs/{first_run}")).json()
    assert first["execution_info"]["status"] == "FAILED"
    second_events = await _runs(client, "retried", second_run)
    assert [e["event_type"] for e in second_events] == ["WORKFLOW_EXECUTION_STARTED"]
    started = attributes(second_events[0])
    assert started["attempt"] == 2 and started["initiator"] == "RETRY"
    assert started["first_workflow_task_backoff"] == "10s"
    assert started["continued_failure"]["message"] == "boom"
    assert (await worker.workflow_task())["task_token"] == ""
    await worker.fire_timers(10)
    task = await worker.workflow_task()
    assert task["workflow_execution"]["run_id"] == second_run
    await worker.complete_workflow_task(task["task_token"], _fail("again"))
    final = attributes((await _runs(client, "retried", second_run))[-1])
    assert final["retry_state"] == "MAXIMUM_ATTEMPTS_REACHED"
    assert "new_execution_run_id" not in final


async def test_cron_runs_three_times(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    run_id = await worker.start("cron", cron_schedule="@every 60s")
    seen = []
    for _ in range(3):
        first = attributes((await _runs(client, "cron", run_id))[0])
        backoff = int(first["first_workflow_task_backoff"].removesuffix("s"))
        await worker.fire_timers(backoff)
        task = await worker.workflow_task()
        assert task["workflow_execution"]["run_id"] == run_id
        seen.append(run_id)
        await worker.complete_workflow_task(task["task_token"], complete_workflow(len(seen)))
        closing = attributes((await _runs(client, "cron", run_id))[-1])
        run_id = closing["new_execution_run_id"]
    started = attributes((await _runs(client, "cron", run_id))[0])
    assert started["initiator"] == "CRON_SCHEDULE"
    assert started["last_completion_result"] == 3
    assert len(set(seen)) == 3


async def test_execution_timeout_spans_the_chain(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await worker.start(
        "bounded", workflow_execution_timeout="100s", retry_policy={"initial_interval": "30s"}
    )
    task = await worker.workflow_task()
    clock.advance(50)
    await worker.complete_workflow_task(task["task_token"], _fail())
    await worker.fire_timers(30)
    task = await worker.workflow_task()
    assert attributes(task["history"][0])["attempt"] == 2
    await worker.fire_timers(20)  # 100s after the first start
    described = (await client.get(f"{NS}/workflows/bounded")).json()
    assert described["execution_info"]["status"] == "TIMED_OUT"
    last = described["workflow_execution_history"][-1]
    assert (
        attributes(last) == {"retry_state": "TIMEOUT"}
        or attributes(last)["retry_state"] == "TIMEOUT"
    )
