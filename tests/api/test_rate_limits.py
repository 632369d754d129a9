"""The spec's rate limits: X-RateLimit-* headers on every API response, 429
RESOURCE_EXHAUSTED with RateLimitExceeded details and Retry-After, each category on its
own scope, the per-client cap on waiting polls and the per-namespace cap on running
executions. Windows follow the injected clock, so a test moves it instead of waiting."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from app.clock import ManualClock
from app.main import create_app
from app.settings import Settings
from tests.api.worker_client import NS, QUEUE, Worker, schedule_activity
from tests.conftest import ROOMY_LIMITS, assert_error, start_body

HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Scope")
REDIS_URL = "redis://127.0.0.1:6379/0"

Gateway = Callable[..., AbstractAsyncContextManager[tuple[httpx.AsyncClient, Worker]]]


@pytest.fixture
def gateway(database_url: str, clock: ManualClock) -> Gateway:
    """A gateway with roomy budgets but for the ones a test names."""

    @asynccontextmanager
    async def open_gateway(
        root_path: str = "", **limits: Any
    ) -> AsyncIterator[tuple[httpx.AsyncClient, Worker]]:
        settings = Settings(
            database_url=database_url,
            run_background_loops=False,
            **{**ROOMY_LIMITS, **limits},
        )
        app = create_app(settings, clock=clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(
                app=app, raise_app_exceptions=False, root_path=root_path
            )
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                yield client, Worker(client, clock, app)

    return open_gateway


def refusal(response: httpx.Response, scope: str, limit: int, window: str) -> dict[str, Any]:
    error = assert_error(response, 429, "RESOURCE_EXHAUSTED")
    [detail] = error["details"]
    assert detail["type"] == "RateLimitExceeded"
    assert (detail["scope"], detail["limit"], detail["window"]) == (scope, limit, window)
    assert detail["retry_after"] >= 1
    assert response.headers["Retry-After"] == str(detail["retry_after"])
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert response.headers["X-RateLimit-Scope"] == scope
    return detail


def signal(client: httpx.AsyncClient, workflow_id: str) -> Any:
    return client.post(f"{NS}/workflows/{workflow_id}/signal", json={"signal_name": "s"})


async def test_every_api_response_carries_the_headers_in_the_spec_profile(
    database_url: str, clock: ManualClock
) -> None:
    settings = Settings(
        database_url=database_url, run_background_loops=False, rate_limit_profile="spec"
    )
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            responses = [
                await client.post(f"{NS}/workflows", json=start_body("wf")),
                await client.get(f"{NS}/workflows/wf"),
                await client.get(f"{NS}/workflows/missing"),
                await client.post(f"{NS}/workflows", json={"workflow_id": ""}),
                await client.get("/api/v1/no-such-route"),
                await client.get("/api/v1/namespaces", headers={"Temporal-API-Version": "v9"}),
            ]
            assert [r.status_code for r in responses] == [200, 200, 404, 400, 404, 400]
            for response in responses:
                assert all(h in response.headers for h in HEADERS), response.headers
            # The start's nearest budget is the client's 100 a second (1 of 100 used,
            # fuller than 1 of 1,000 starts); the calls count down within the second.
            assert responses[0].headers["X-RateLimit-Limit"] == "100"
            assert responses[0].headers["X-RateLimit-Scope"] == "client:127.0.0.1"
            remaining = [int(r.headers["X-RateLimit-Remaining"]) for r in responses]
            assert remaining == [99, 98, 97, 96, 95, 94]
            second = int(clock.now().timestamp()) + 1
            assert responses[0].headers["X-RateLimit-Reset"] == str(second)
            assert "X-RateLimit-Limit" not in (await client.get("/healthz")).headers


async def test_client_budget_refuses_then_recovers_in_the_next_window(
    gateway: Gateway, clock: ManualClock
) -> None:
    async with gateway(rate_limit_client="3/second") as (client, _):
        for _ in range(3):
            assert (await client.get("/api/v1/namespaces")).status_code == 200
        refused = await client.get("/api/v1/namespaces")
        refusal(refused, "client:127.0.0.1", 3, "1s")
        assert refused.json()["error"]["message"] == (
            "Rate limit exceeded for client '127.0.0.1' (client_api_calls)"
        )
        clock.advance(1)
        response = await client.get("/api/v1/namespaces")
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Remaining"] == "2"


async def test_cluster_budget_counts_every_client(gateway: Gateway) -> None:
    async with gateway(rate_limit_cluster="2/minute") as (client, _):
        assert (await client.get("/api/v1/namespaces")).status_code == 200
        assert (await client.get("/api/v1/no-such-route")).status_code == 404
        refusal(await client.get("/api/v1/namespaces"), "cluster", 2, "1m")


async def test_workflow_starts_per_namespace(gateway: Gateway) -> None:
    async with gateway(rate_limit_workflow_starts="2/minute") as (client, worker):
        created = await client.post(
            "/api/v1/namespaces",
            json={"namespace": "other", "workflow_execution_retention_period": "86400s"},
        )
        assert created.status_code == 200, created.text
        await worker.start("a")
        second = await client.post(f"{NS}/workflows", json=start_body("b"))
        assert second.headers["X-RateLimit-Scope"] == "namespace:default"
        assert second.headers["X-RateLimit-Remaining"] == "0"
        detail = refusal(
            await client.post(f"{NS}/workflows", json=start_body("c")),
            "namespace:default",
            2,
            "1m",
        )
        assert detail["category"] == "workflow_starts"
        other = await client.post("/api/v1/namespaces/other/workflows", json=start_body("c"))
        assert other.status_code == 200, other.text
        assert (await signal(client, "a")).status_code == 200
        assert (await client.get(f"{NS}/workflows/c")).status_code == 404


async def test_history_events_per_namespace_are_charged_by_what_was_written(
    gateway: Gateway,
) -> None:
    async with gateway(rate_limit_history_events="5/minute") as (client, worker):
        await worker.start("a")  # WorkflowExecutionStarted, WorkflowTaskScheduled
        assert (await signal(client, "a")).status_code == 200  # 3
        assert (await signal(client, "a")).status_code == 200  # 4
        assert (await signal(client, "a")).status_code == 200  # 5: spent
        refusal(await signal(client, "a"), "namespace:default", 5, "1m")
        history = await client.get(f"{NS}/workflows/a/history")
        assert history.status_code == 200
        assert len(history.json()["history"]) == 5


async def test_task_queue_operations_per_task_queue(gateway: Gateway) -> None:
    async with gateway(rate_limit_task_queue_operations="2/minute") as (client, worker):
        await worker.start("a")
        assert (await worker.workflow_task())["task_token"]
        assert (await worker.workflow_task("another-queue"))["task_token"] == ""
        assert (await worker.activity_task())["task_token"] == ""
        refusal(
            await client.post(f"{NS}/task-queues/{QUEUE}/workflow-tasks/poll", json={}),
            f"task_queue:default/{QUEUE}",
            2,
            "1m",
        )


async def test_heartbeats_per_client_and_activity_executions_per_namespace(
    gateway: Gateway,
) -> None:
    async with gateway(
        rate_limit_heartbeats="2/minute", rate_limit_activity_executions="1/minute"
    ) as (client, worker):
        await worker.start("a")
        task = await worker.workflow_task()
        commands = [
            {
                "command_type": "SCHEDULE_ACTIVITY_TASK",
                "schedule_activity_task_command_attributes": {
                    "activity_id": str(n),
                    "activity_type": {"name": "Charge"},
                    "task_queue": {"name": QUEUE},
                    "start_to_close_timeout": "60s",
                },
            }
            for n in (1, 2)
        ]
        done = await worker.complete_workflow_task(task["task_token"], *commands)
        assert done.status_code == 200, done.text
        activity = await worker.activity_task()
        assert activity["task_token"]
        refusal(
            await client.post(f"{NS}/task-queues/{QUEUE}/activity-tasks/poll", json={}),
            "namespace:default",
            1,
            "1m",
        )
        for _ in range(2):
            beat = await worker.activity("heartbeat", activity["task_token"])
            assert beat.status_code == 200, beat.text
        detail = refusal(
            await worker.activity("heartbeat", activity["task_token"]),
            "client:127.0.0.1",
            2,
            "1m",
        )
        assert detail["category"] == "heartbeats"
        completed = await worker.activity("complete", activity["task_token"], result="ok")
        assert completed.status_code == 200, completed.text


async def test_eager_activities_draw_on_the_activity_executions_budget(
    gateway: Gateway,
) -> None:
    async with gateway(rate_limit_activity_executions="1/minute") as (client, worker):
        await worker.start("eager")
        task = await worker.workflow_task()
        eager = schedule_activity(request_eager_execution=True)
        done = await worker.complete_workflow_task(task["task_token"], eager)
        assert done.status_code == 200, done.text
        assert len(done.json()["activity_tasks"]) == 1
        poll = {"wait_timeout": "0s"}
        refusal(
            await client.post(f"{NS}/task-queues/{QUEUE}/activity-tasks/poll", json=poll),
            "namespace:default",
            1,
            "1m",
        )


async def test_the_eleventh_waiting_poll_of_one_client_is_refused(
    gateway: Gateway, clock: ManualClock
) -> None:
    async with gateway(max_concurrent_long_polls=10) as (client, _):

        def poll(queue: str) -> Any:
            return client.post(
                f"{NS}/task-queues/{queue}/activity-tasks/poll", json={"wait_timeout": "5s"}
            )

        waiting = [asyncio.create_task(poll(f"q{n}")) for n in range(10)]
        for _ in range(500):
            if clock.pending_waits() == 10:
                break
            await asyncio.sleep(0.002)
        assert clock.pending_waits() == 10
        detail = refusal(await poll("q10"), "client:127.0.0.1", 10, "concurrent")
        assert detail["category"] == "concurrent_long_polls"
        clock.advance(5)
        assert [(await w).status_code for w in waiting] == [200] * 10
        again = asyncio.create_task(poll("q10"))
        for _ in range(500):
            if clock.pending_waits() == 1:
                break
            await asyncio.sleep(0.002)
        clock.advance(5)
        assert (await again).status_code == 200


async def test_under_a_root_path_a_long_poll_gives_its_slot_back(
    gateway: Gateway, clock: ManualClock
) -> None:
    """Behind a proxy that mounts the gateway under a prefix (the request's path keeps
    it): the slot is released when the request ends (a leaked one would refuse the
    client's next poll), and the API's rate-limit and version headers are there."""
    async with gateway(root_path="/gw", max_concurrent_long_polls=1) as (client, _):
        for _ in range(3):
            polling = asyncio.create_task(
                client.post(
                    f"/gw{NS}/task-queues/{QUEUE}/activity-tasks/poll",
                    json={"wait_timeout": "5s"},
                )
            )
            for _ in range(500):
                if clock.pending_waits() == 1:
                    break
                await asyncio.sleep(0.002)
            clock.advance(5)
            answer = await polling
            assert answer.status_code == 200
            # The API's own headers under the root path too.
            assert "x-ratelimit-limit" in answer.headers
            assert answer.headers["temporal-api-version"]


async def test_running_executions_per_namespace_are_capped(gateway: Gateway) -> None:
    async with gateway(max_running_executions=2) as (client, worker):
        await worker.start("a")
        await worker.start("b")
        refused = await client.post(f"{NS}/workflows", json=start_body("c"))
        error = assert_error(refused, 429, "RESOURCE_EXHAUSTED")
        assert error["details"][0]["scope"] == "namespace:default"
        assert error["details"][0]["category"] == "running_executions"
        assert (await client.get(f"{NS}/workflows/c")).status_code == 404
        # Replacing a running execution does not add one.
        replaced = await client.post(
            f"{NS}/workflows",
            json=start_body("a", workflow_id_conflict_policy="TERMINATE_EXISTING"),
        )
        assert replaced.status_code == 200, replaced.text
        terminated = await client.post(f"{NS}/workflows/b/terminate", json={"reason": "room"})
        assert terminated.status_code == 200
        assert (await client.post(f"{NS}/workflows", json=start_body("c"))).status_code == 200


async def test_a_cap_of_zero_means_no_cap(gateway: Gateway) -> None:
    async with gateway(max_running_executions=0) as (client, worker):
        for n in range(3):
            await worker.start(f"uncapped-{n}")
        listed = await client.get(f"{NS}/workflows", params={"query": "ExecutionStatus='Running'"})
        assert len(listed.json()["executions"]) == 3


async def test_two_gateways_on_one_redis_share_a_budget(tmp_path: Path) -> None:
    shared = {
        **ROOMY_LIMITS,
        "rate_limit_client": "4/minute",
        "rate_limit_storage": REDIS_URL,
        "rate_limit_key_prefix": f"test-{uuid.uuid4().hex}",
    }
    clock = ManualClock()
    apps = [
        create_app(
            Settings(
                database_url=f"sqlite:///{tmp_path / name}", run_background_loops=False, **shared
            ),
            clock=clock,
        )
        for name in ("a.db", "b.db")
    ]
    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        clients = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://gw")
            for a in apps
        ]
        statuses = [(await clients[n % 2].get("/api/v1/namespaces")).status_code for n in range(6)]
        assert statuses == [200, 200, 200, 200, 429, 429]
        for client in clients:
            await client.aclose()


async def test_an_unreachable_redis_lets_requests_through(database_url: str) -> None:
    settings = Settings(
        database_url=database_url,
        run_background_loops=False,
        rate_limit_storage="redis://127.0.0.1:1/0",
    )
    app = create_app(settings, clock=ManualClock())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            response = await client.get("/api/v1/namespaces")
            assert response.status_code == 200
            assert "X-RateLimit-Limit" not in response.headers


async def test_limits_can_be_turned_off(gateway: Gateway) -> None:
    async with gateway(rate_limits_enabled=False, rate_limit_client="1/minute") as (client, _):
        for _ in range(3):
            response = await client.get("/api/v1/namespaces")
            assert response.status_code == 200
            assert "X-RateLimit-Limit" not in response.headers


@pytest.mark.parametrize("value", ["", "often", "0/minute", "10/fortnight", "-1/second"], ids=repr)
def test_a_malformed_rate_is_refused_at_start(value: str) -> None:
    with pytest.raises(ValidationError):
        Settings(rate_limit_client=value)


def test_an_unknown_store_is_refused_at_start(database_url: str) -> None:
    with pytest.raises(ValueError, match="rate_limit_storage"):
        create_app(Settings(database_url=database_url, rate_limit_storage="mysql://x"))
