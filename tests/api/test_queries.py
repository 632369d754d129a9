"""Queries reach a worker and come back; nothing is written to history."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.clock import ManualClock
from tests.api.worker_client import NS, Worker, complete_workflow
from tests.conftest import assert_error, wait_until

QUERY = {"query": {"query_type": "get_order_status", "query_args": {}}}


async def _idle_workflow(worker: Worker, workflow_id: str) -> None:
    """Started, first workflow task completed with no commands: nothing pending."""
    await worker.start(workflow_id)
    task = await worker.workflow_task()
    response = await worker.complete_workflow_task(task["task_token"])
    assert response.status_code == 200, response.text


def _ask(client: httpx.AsyncClient, workflow_id: str, **body: Any) -> asyncio.Task[httpx.Response]:
    return asyncio.create_task(
        client.post(f"{NS}/workflows/{workflow_id}/query", json={**QUERY, **body})
    )


async def test_query_task_answered_by_the_worker(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await _idle_workflow(worker, "status")
    before = await worker.event_types("status")
    asking = _ask(client, "status")
    await wait_until(lambda: clock.pending_waits() == 1)
    task = await worker.workflow_task()
    assert task["query"] == {"query_type": "get_order_status", "query_args": {}}
    assert task["started_event_id"] == 0
    assert [e["event_type"] for e in task["history"]] == before
    answered = await client.post(
        f"{NS}/query-tasks/complete",
        json={
            "task_token": task["task_token"],
            "completed_type": "ANSWERED",
            "query_result": {"status": "PAYMENT_PENDING"},
        },
    )
    assert answered.status_code == 200, answered.text
    response = await asking
    assert response.status_code == 200, response.text
    assert response.json() == {"query_result": {"status": "PAYMENT_PENDING"}}
    assert await worker.event_types("status") == before


async def test_query_rides_on_the_pending_workflow_task(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await worker.start("attached")
    asking = _ask(client, "attached")
    await wait_until(lambda: clock.pending_waits() == 1)
    task = await worker.workflow_task()
    assert task["started_event_id"] == 3
    ((query_id, query),) = task["queries"].items()
    assert query["query_type"] == "get_order_status"
    response = await client.post(
        f"{NS}/workflow-tasks/complete",
        json={
            "task_token": task["task_token"],
            "commands": [],
            "query_results": {query_id: {"result_type": "ANSWERED", "answer": "STARTED"}},
        },
    )
    assert response.status_code == 200, response.text
    assert (await asking).json() == {"query_result": "STARTED"}


async def test_query_on_a_closed_workflow_and_reject_conditions(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await worker.start("closed")
    task = await worker.workflow_task()
    await worker.complete_workflow_task(task["task_token"], complete_workflow("done"))
    rejected = await client.post(
        f"{NS}/workflows/closed/query", json={**QUERY, "query_reject_condition": "NOT_OPEN"}
    )
    assert rejected.json() == {"query_rejected": {"status": "COMPLETED"}}
    asking = _ask(client, "closed", query_reject_condition="NOT_COMPLETED_CLEANLY")
    await wait_until(lambda: clock.pending_waits() == 1)
    query_task = await worker.workflow_task()
    await client.post(
        f"{NS}/query-tasks/complete",
        json={"task_token": query_task["task_token"], "query_result": "final"},
    )
    assert (await asking).json() == {"query_result": "final"}

    await worker.start("terminated")
    await client.post(f"{NS}/workflows/terminated/terminate", json={})
    not_clean = await client.post(
        f"{NS}/workflows/terminated/query",
        json={**QUERY, "query_reject_condition": "QUERY_REJECT_CONDITION_NOT_COMPLETED_CLEANLY"},
    )
    assert not_clean.json() == {"query_rejected": {"status": "TERMINATED"}}


async def test_no_worker_answers(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await _idle_workflow(worker, "alone")
    asking = _ask(client, "alone")
    await wait_until(lambda: clock.pending_waits() == 1)
    clock.advance(20)
    error = assert_error(await asking, 400, "FAILED_PRECONDITION")
    assert error["details"][0]["type"] == "QueryTimeout"
    assert (await worker.workflow_task())["task_token"] == ""  # the query was withdrawn


async def test_worker_failure_is_a_query_failed_error(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await _idle_workflow(worker, "broken")
    asking = _ask(client, "broken")
    await wait_until(lambda: clock.pending_waits() == 1)
    task = await worker.workflow_task()
    await client.post(
        f"{NS}/query-tasks/complete",
        json={
            "task_token": task["task_token"],
            "completed_type": "FAILED",
            "error_message": "unknown query type",
        },
    )
    error = assert_error(await asking, 400, "INVALID_ARGUMENT")
    assert error["details"][0]["type"] == "QueryFailed"
    late = await client.post(
        f"{NS}/query-tasks/complete", json={"task_token": task["task_token"], "query_result": 1}
    )
    assert_error(late, 404, "NOT_FOUND")


async def test_query_before_the_first_task_of_a_cron_run_is_not_ready(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await worker.start("cron", cron_schedule="0 0 1 1 *")
    response = await client.post(f"{NS}/workflows/cron/query", json=QUERY)
    assert_error(response, 400, "FAILED_PRECONDITION")


async def test_an_answer_after_the_caller_gave_up_is_not_found(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await _idle_workflow(worker, "late")
    asking = _ask(client, "late")
    await wait_until(lambda: clock.pending_waits() == 1)
    polling = asyncio.create_task(worker.workflow_task())
    task = await polling
    assert task["query"]
    clock.advance(20)
    assert_error(await asking, 400, "FAILED_PRECONDITION")
    late = await client.post(
        f"{NS}/query-tasks/complete",
        json={"task_token": task["task_token"], "query_result": "too late"},
    )
    assert_error(late, 404, "NOT_FOUND")


async def test_at_most_ten_queries_wait_for_one_workflow_task(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await worker.start("busy")
    asking = [_ask(client, "busy") for _ in range(10)]
    await wait_until(lambda: clock.pending_waits() == 10)
    refused = await client.post(f"{NS}/workflows/busy/query", json=QUERY)
    error = assert_error(refused, 429, "RESOURCE_EXHAUSTED")
    assert error["details"][0]["cause"] == "BUSY_WORKFLOW"
    task = await worker.workflow_task()
    assert len(task["queries"]) == 10
    results = {qid: {"result_type": "ANSWERED", "answer": "ok"} for qid in task["queries"]}
    response = await client.post(
        f"{NS}/workflow-tasks/complete",
        json={"task_token": task["task_token"], "commands": [], "query_results": results},
    )
    assert response.status_code == 200, response.text
    assert [(await a).json() for a in asking] == [{"query_result": "ok"}] * 10


async def test_a_task_completed_between_the_querys_read_and_its_write_sends_it_on_its_own(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    """The query reads the run while its workflow task is started, but that task's
    completion commits before the query is written: the query must not wait for a task
    that will not come. (SQLite: the writer's turns order the two writes.)"""
    if not app.state.ctx.db.is_sqlite:
        pytest.skip("the SQLite writer's queue orders the two writes")
    worker = Worker(client, clock, app)
    await worker.start("raced")
    task = await worker.workflow_task()
    writer = app.state.ctx.db._sqlite_writer
    async with app.state.ctx.db.write():  # holds the writer while both queue behind it
        completing = asyncio.create_task(worker.complete_workflow_task(task["task_token"]))
        await wait_until(lambda: writer._queued == 1)
        asking = _ask(client, "raced")  # reads: a workflow task is started
        await wait_until(lambda: writer._queued == 2)
    assert (await completing).status_code == 200
    async with asyncio.timeout(10):  # (were it still waiting, the poll would find nothing)
        query_task = await worker.workflow_task()
    assert query_task["query"] == {"query_type": "get_order_status", "query_args": {}}
    answered = await client.post(
        f"{NS}/query-tasks/complete",
        json={
            "task_token": query_task["task_token"],
            "completed_type": "ANSWERED",
            "query_result": "waiting",
        },
    )
    assert answered.status_code == 200, answered.text
    response = await asking
    assert response.json() == {"query_result": "waiting"}, response.text


async def test_a_workflow_task_answers_only_its_own_runs_queries(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await worker.start("victim")
    asking = _ask(client, "victim")
    await wait_until(lambda: clock.pending_waits() == 1)
    victim_task = await worker.workflow_task()
    ((query_id, _),) = victim_task["queries"].items()
    await worker.start("other")
    other_task = await worker.workflow_task()
    assert other_task["workflow_execution"]["workflow_id"] == "other"
    forged = await client.post(
        f"{NS}/workflow-tasks/complete",
        json={
            "task_token": other_task["task_token"],
            "commands": [],
            "query_results": {query_id: {"result_type": "ANSWERED", "answer": "FORGED"}},
        },
    )
    assert forged.status_code == 200, forged.text
    assert not asking.done()
    answered = await client.post(
        f"{NS}/workflow-tasks/complete",
        json={
            "task_token": victim_task["task_token"],
            "commands": [],
            "query_results": {query_id: {"result_type": "ANSWERED", "answer": "REAL"}},
        },
    )
    assert answered.status_code == 200, answered.text
    assert (await asking).json() == {"query_result": "REAL"}


async def test_the_query_header_reaches_the_worker(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    worker = Worker(client, clock, app)
    await _idle_workflow(worker, "headed")
    asking = _ask(
        client, "headed", query={**QUERY["query"], "header": {"fields": {"k": {"data": "v"}}}}
    )
    await wait_until(lambda: clock.pending_waits() == 1)
    task = await worker.workflow_task()
    assert task["query"]["header"] == {"fields": {"k": {"data": "v"}}}
    answered = await client.post(
        f"{NS}/query-tasks/complete",
        json={"task_token": task["task_token"], "query_result": "ok"},
    )
    assert answered.status_code == 200, answered.text
    assert (await asking).json() == {"query_result": "ok"}
