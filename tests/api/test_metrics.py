"""GET /metrics: after a small workload on the manual clock, each metric moved by what
the workload did, read back through prometheus-client's own parser."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from app import auth
from app.clock import ManualClock
from app.main import create_app
from app.settings import Settings
from tests.api.worker_client import NS, QUEUE, Worker, complete_workflow, schedule_activity
from tests.conftest import ROOMY_LIMITS, assert_error, start_body, wait_until

START_ROUTE = "/api/v1/namespaces/{namespace}/workflows"
SECRET = "a-metrics-test-secret-long-enough-for-hs256"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 for a series not (yet) exported."""
    return samples.get((f"temporal_gateway_{name}", frozenset(labels.items())), 0.0)


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


@pytest.fixture
async def gateway(database_url: str, clock: ManualClock) -> AsyncIterator[tuple[FastAPI, Worker]]:
    """Roomy budgets but one workflow start a minute, so a second start is a 429."""
    settings = Settings(
        database_url=database_url,
        run_background_loops=False,
        **{
            **ROOMY_LIMITS,
            "task_queue_partitions": 1,
            "rate_limit_workflow_starts": "1/minute",
        },
    )
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            yield app, Worker(client, clock, app)


async def test_a_workflow_moves_each_metric_by_what_it_did(
    gateway: tuple[FastAPI, Worker], clock: ManualClock
) -> None:
    _, worker = gateway
    client = worker.client
    before = await scrape(client)
    assert value(before, "workflow_starts_total") == 0

    await worker.start("metrics-wf")  # its first workflow task is written now (t=0)
    refused = await client.post(f"{NS}/workflows", json=start_body("metrics-refused"))
    assert_error(refused, 429, "RESOURCE_EXHAUSTED")

    samples = await scrape(client)
    assert value(samples, "workflow_starts_total") == 1
    assert value(samples, "rate_limit_refusals_total", category="workflow_starts") == 1
    assert value(samples, "task_queue_backlog", **_queue("workflow")) == 1
    for status, count in (("200", 1), ("429", 1)):
        labels = {"method": "POST", "route": START_ROUTE, "status": status}
        assert value(samples, "http_requests_total", **labels) == count
    start_latency = {"method": "POST", "route": START_ROUTE}
    assert value(samples, "http_request_duration_seconds_count", **start_latency) == 2
    assert value(samples, "http_request_duration_seconds_bucket", le="+Inf", **start_latency) == 2
    # A commit for the start, none for the refusal.
    assert value(samples, "db_commit_duration_seconds_count") >= 1

    clock.advance(2)
    task = await worker.workflow_task()  # written 2 s ago
    response = await worker.complete_workflow_task(task["task_token"], schedule_activity())
    assert response.status_code == 200, response.text
    clock.advance(3)
    activity = await worker.activity_task()  # written 3 s ago
    response = await worker.activity("complete", activity["task_token"], result={"ok": True})
    assert response.status_code == 200, response.text
    task = await worker.workflow_task()  # written just now
    timer = {
        "command_type": "START_TIMER",
        "start_timer_command_attributes": {"timer_id": "t1", "start_to_fire_timeout": "10s"},
    }
    response = await worker.complete_workflow_task(task["task_token"], timer)
    assert response.status_code == 200, response.text
    await worker.fire_timers(12)  # due 10 s on, fired 12 s on: 2 s late
    task = await worker.workflow_task()
    response = await worker.complete_workflow_task(task["task_token"], complete_workflow("done"))
    assert response.status_code == 200, response.text

    samples = await scrape(client)
    dispatch = "task_dispatch_latency_seconds"
    assert value(samples, f"{dispatch}_count", task_type="workflow") == 3
    assert value(samples, f"{dispatch}_sum", task_type="workflow") == pytest.approx(2.0)
    assert value(samples, f"{dispatch}_bucket", task_type="workflow", le="1.0") == 2
    assert value(samples, f"{dispatch}_count", task_type="activity") == 1
    assert value(samples, f"{dispatch}_sum", task_type="activity") == pytest.approx(3.0)
    assert value(samples, "timer_lag_seconds_count", kind="USER_TIMER") == 1
    assert value(samples, "timer_lag_seconds_sum", kind="USER_TIMER") == pytest.approx(2.0)
    assert value(samples, "workflow_closes_total", status="COMPLETED") == 1
    assert value(samples, "workflow_starts_total") == 1
    assert value(samples, "task_queue_backlog", **_queue("workflow")) == 0
    assert value(samples, "task_queue_backlog", **_queue("activity")) == 0
    poll_route = "/api/v1/namespaces/{namespace}/task-queues/{task_queue}/workflow-tasks/poll"
    polls = {"method": "POST", "route": poll_route, "status": "200"}
    assert value(samples, "http_requests_total", **polls) == 3
    # Routes by template only: no workflow id or queue name became a route.
    routes = {v for _, labels in samples for k, v in labels if k == "route"}
    assert poll_route in routes
    assert not [r for r in routes if "metrics-wf" in r or QUEUE in r]


async def test_one_write_is_one_commit(gateway: tuple[FastAPI, Worker]) -> None:
    _, worker = gateway
    await worker.start("commits")
    before = value(await scrape(worker.client), "db_commit_duration_seconds_count")
    signalled = await worker.client.post(
        f"{NS}/workflows/commits/signal", json={"signal_name": "s"}
    )
    assert signalled.status_code == 200, signalled.text
    after = value(await scrape(worker.client), "db_commit_duration_seconds_count")
    assert after - before == 1


async def test_waiting_long_polls_are_counted_by_kind(
    gateway: tuple[FastAPI, Worker], clock: ManualClock
) -> None:
    _, worker = gateway
    client = worker.client
    await worker.start("waits")
    first = await client.get(f"{NS}/workflows/waits/history", params={"wait_new_event": "true"})
    assert first.status_code == 200, first.text
    history = asyncio.create_task(
        client.get(
            f"{NS}/workflows/waits/history",
            params={"wait_new_event": "true", "next_page_token": first.json()["next_page_token"]},
        )
    )
    activity = asyncio.create_task(
        client.post(f"{NS}/task-queues/{QUEUE}/activity-tasks/poll", json={"wait_timeout": "5s"})
    )
    await wait_until(lambda: clock.pending_waits() == 2)
    samples = await scrape(client)
    assert value(samples, "long_polls_waiting", kind="activity") == 1
    assert value(samples, "long_polls_waiting", kind="history") == 1
    assert value(samples, "long_polls_waiting", kind="workflow") == 0

    clock.advance(30)  # past both windows: each answers empty
    assert (await activity).status_code == 200
    assert (await history).status_code == 200
    samples = await scrape(client)
    assert value(samples, "long_polls_waiting", kind="activity") == 0
    assert value(samples, "long_polls_waiting", kind="history") == 0


async def test_metrics_answer_when_the_client_budget_is_spent(
    database_url: str, clock: ManualClock
) -> None:
    app = create_app(
        Settings(
            database_url=database_url, run_background_loops=False, rate_limit_client="2/second"
        ),
        clock=clock,
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            for _ in range(2):
                assert (await client.get(f"{NS}")).status_code == 200
            assert_error(await client.get(f"{NS}"), 429, "RESOURCE_EXHAUSTED")
            for _ in range(5):
                samples = await scrape(client)
            refused = value(samples, "rate_limit_refusals_total", category="client_api_calls")
            assert refused == 1


async def test_metrics_need_cluster_read_when_authentication_is_on(
    database_url: str, clock: ManualClock
) -> None:
    settings = Settings(
        database_url=database_url, run_background_loops=False, jwt_secret=SECRET, **ROOMY_LIMITS
    )

    def bearer(*permissions: str) -> dict[str, str]:
        # The gateway's time: it checks `exp` against its clock.
        now = int(clock.now().timestamp())
        token = auth.mint(settings, "ops", list(permissions), [], 600, now)
        return {"Authorization": f"Bearer {token}"}

    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            assert_error(await client.get("/metrics"), 401, "UNAUTHENTICATED")
            lacking = await client.get("/metrics", headers=bearer("temporal:workflow:read"))
            assert_error(lacking, 403, "PERMISSION_DENIED")
            allowed = await client.get("/metrics", headers=bearer("temporal:cluster:read"))
            assert allowed.status_code == 200, allowed.text
            assert "temporal_gateway_http_requests_total" in allowed.text


async def test_metrics_off_serves_no_metrics(database_url: str, clock: ManualClock) -> None:
    settings = Settings(
        database_url=database_url, run_background_loops=False, metrics_enabled=False
    )
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            assert (await client.post(f"{NS}/workflows", json=start_body("off"))).status_code == 200
            assert_error(await client.get("/metrics"), 404, "NOT_FOUND")


async def test_each_app_counts_in_a_registry_of_its_own(
    database_url: str, tmp_path: Any, clock: ManualClock
) -> None:
    """Two apps in one process (as tests build them): neither refuses the other's metric
    names, and each counts only its own requests."""
    other = create_app(Settings(database_url=f"sqlite:///{tmp_path}/other.db"), clock=clock)
    app = create_app(Settings(database_url=database_url, run_background_loops=False), clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            await client.get("/healthz")
            samples = await scrape(client)
    health = {"method": "GET", "route": "/healthz", "status": "200"}
    assert value(samples, "http_requests_total", **health) == 1
    assert other.state.ctx.metrics.registry is not app.state.ctx.metrics.registry


def _queue(task_type: str) -> dict[str, str]:
    return {"namespace": "default", "task_queue": QUEUE, "task_type": task_type}
