"""Task queues have partitions (4 by default, fixed per database): tasks spread over
them, every poll looks in all of them so none starves, and ListTaskQueuePartitions
names each partition's owner and its waiting tasks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.clock import ManualClock
from app.main import create_app
from app.settings import Settings
from tests.api.worker_client import NS, QUEUE, Worker
from tests.conftest import BACKEND, ROOMY_LIMITS, assert_error

URL = f"{NS}/task-queues/{QUEUE}/partitions"


@pytest.fixture
def settings(database_url: str) -> Settings:
    """PostgreSQL's default partition count (the suite's other tests use one)."""
    return Settings(
        database_url=database_url,
        run_background_loops=False,
        **{**ROOMY_LIMITS, "task_queue_partitions": 4},
    )


async def partitions(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get(URL)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_tasks_spread_over_the_partitions_and_all_are_drained(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    worker = Worker(client, clock, app)
    for n in range(40):
        await worker.start(f"spread-{n}")
    listed = await partitions(client)
    workflow = listed["workflow_task_queue_partitions"]
    assert [p["key"] for p in workflow] == [
        QUEUE,
        f"/_sys/{QUEUE}/1",
        f"/_sys/{QUEUE}/2",
        f"/_sys/{QUEUE}/3",
    ]
    waiting = [p["backlog_count_hint"] for p in workflow]
    assert sum(waiting) == 40 and all(n > 0 for n in waiting), waiting
    me = app.state.ctx.me.identity
    assert {p["owner_host_name"] for p in workflow} == {me}
    assert {p["owner_address"] for p in workflow} == {"127.0.0.1:7243"}
    assert [p["backlog_count_hint"] for p in listed["activity_task_queue_partitions"]] == [0] * 4

    taken = set()
    for _ in range(40):
        task = await worker.workflow_task()
        taken.add(task["workflow_execution"]["workflow_id"])
    assert taken == {f"spread-{n}" for n in range(40)}
    assert (await worker.workflow_task())["task_token"] == ""
    drained = await partitions(client)
    assert [p["backlog_count_hint"] for p in drained["workflow_task_queue_partitions"]] == [0] * 4


async def test_an_unknown_namespace_is_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/api/v1/namespaces/nowhere/task-queues/{QUEUE}/partitions")
    assert_error(response, 404, "NAMESPACE_NOT_FOUND")


async def test_the_partition_count_cannot_change_on_an_existing_database(
    database_url: str,
) -> None:
    first = create_app(Settings(database_url=database_url, task_queue_partitions=4))
    async with first.router.lifespan_context(first):
        pass
    second = create_app(Settings(database_url=database_url, task_queue_partitions=8))
    with pytest.raises(RuntimeError, match="created with task_queue_partitions=4"):
        async with second.router.lifespan_context(second):
            pass


@pytest.mark.skipif(BACKEND != "postgres", reason="several members need PostgreSQL")
async def test_two_members_own_partitions_between_them(
    app: FastAPI,
    client: httpx.AsyncClient,
    second_gateway: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    from app.services.membership import ShardBalancer

    other, _ = second_gateway
    for gateway in (app, other):
        [balancer] = [x for x in gateway.state.ctx.loops if isinstance(x, ShardBalancer)]
        await balancer.run_once()
    owners = {
        p["owner_host_name"] for p in (await partitions(client))["workflow_task_queue_partitions"]
    }
    assert owners <= {app.state.ctx.me.identity, other.state.ctx.me.identity}
    assert "" not in owners
