"""Rate-limit profiles: the default one admits a developer's local workload (the bench's
end to end, several SDK workers' pollers) from the one client every loopback caller is;
``spec`` gives the API reference's figures exactly; a budget set on its own overrides
either. The clock is frozen, so every call of a test falls in one window."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.clock import ManualClock
from app.main import create_app
from app.rate_limits.profiles import PROFILES
from app.rate_limits.rules import Limit, budgets
from app.settings import Settings
from tests.api.worker_client import NS
from tests.conftest import assert_error, start_body, wait_until

# The API reference's "Rate Limit Categories" (/work/shared/spec/api-reference.md):
# (amount, window in seconds); long polls are a concurrency cap.
SPEC_BUDGETS = {
    Limit.CLUSTER: (10_000, 60),
    Limit.WORKFLOW_STARTS: (1_000, 60),
    Limit.ACTIVITY_EXECUTIONS: (10_000, 60),
    Limit.TASK_QUEUE_OPERATIONS: (1_000, 60),
    Limit.HISTORY_EVENTS: (100_000, 60),
    Limit.CLIENT: (100, 1),
    Limit.LONG_POLLS: (10, 120),
    Limit.HEARTBEATS: (1_000, 60),
}
SPEC_RUNNING_EXECUTIONS = 100


def _table(settings: Settings) -> dict[Limit, tuple[int, int]]:
    return {k: (b.amount, b.window_seconds) for k, b in budgets(settings).items()}


@asynccontextmanager
async def gateway(
    database_url: str, clock: ManualClock, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway on a profile's own figures (none of the suite's roomy overrides)."""
    app = create_app(
        Settings(
            database_url=database_url,
            run_background_loops=False,
            task_queue_partitions=1,
            **settings,
        ),
        clock=clock,
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            yield client


def test_the_spec_profile_is_the_spec_exactly() -> None:
    settings = Settings(rate_limit_profile="spec")
    assert _table(settings) == SPEC_BUDGETS
    assert settings.max_running_executions == SPEC_RUNNING_EXECUTIONS


def test_the_default_profile_keeps_every_category_and_is_roomier() -> None:
    default, spec = _table(Settings()), _table(Settings(rate_limit_profile="spec"))
    assert set(default) == set(spec) == set(Limit)
    for limit, (amount, window) in default.items():
        spec_amount, spec_window = spec[limit]
        assert amount / window > spec_amount / spec_window, limit
    assert Settings().max_running_executions == 0  # no cap, as Temporal's dev server


def test_the_default_profile_covers_the_benchs_rates() -> None:
    """What the bench drew, from one client, in the busiest second or minute of its
    full run (docs/performance.md): ~2,700 calls a second at 16-64 clients; ~2,100
    starts a second at 64 clients and ~15,000 starts in a minute over three runs; ~330
    polls a second on the end-to-end queue (8+8 pollers, ~160 workflows/s, 2 polls each
    plus idle ones); ~6,300 history events a second (3 per start)."""
    table = _table(Settings())
    per_second = {limit: amount / window for limit, (amount, window) in table.items()}
    assert per_second[Limit.CLIENT] >= 2 * 2_700
    assert per_second[Limit.CLUSTER] >= 2 * 2_700
    assert table[Limit.WORKFLOW_STARTS][0] >= 4 * 15_000
    assert per_second[Limit.TASK_QUEUE_OPERATIONS] >= 2 * 330
    assert per_second[Limit.HISTORY_EVENTS] >= 2 * 6_300
    # The bench's 16 pollers, and two TypeScript SDK workers' 20 each.
    assert table[Limit.LONG_POLLS][0] >= 40


def test_a_budget_set_on_its_own_overrides_the_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_GATEWAY_RATE_LIMIT_PROFILE", "spec")
    monkeypatch.setenv("TEMPORAL_GATEWAY_RATE_LIMIT_CLIENT", "250/second")
    monkeypatch.setenv("TEMPORAL_GATEWAY_MAX_CONCURRENT_LONG_POLLS", "25")
    table = _table(Settings())
    assert table[Limit.CLIENT] == (250, 1)
    assert table[Limit.LONG_POLLS][0] == 25
    assert table[Limit.CLUSTER] == SPEC_BUDGETS[Limit.CLUSTER]  # the rest: the profile's
    monkeypatch.delenv("TEMPORAL_GATEWAY_RATE_LIMIT_PROFILE")
    table = _table(Settings(max_running_executions=7))
    assert table[Limit.CLIENT] == (250, 1)
    assert table[Limit.CLUSTER] == _table(Settings(rate_limit_client="1/second"))[Limit.CLUSTER]
    assert Settings(rate_limit_profile="spec", max_running_executions=7).max_running_executions == 7


def test_the_readme_table_gives_each_profiles_figures() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    rows = {
        name.lower(): (default, spec)
        for name, default, spec in re.findall(
            r"^\| `TEMPORAL_GATEWAY_([A-Z_]+)` \| `([^`]+)`[^|]* \| `([^`]+)` \|", readme, re.M
        )
    }
    for profile, column in (("default", 0), ("spec", 1)):
        figures = PROFILES[profile].settings()
        assert {k: rows[k][column] for k in figures} == {k: str(v) for k, v in figures.items()}


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="rate_limit_profile"):
        Settings(rate_limit_profile="loose")


async def test_the_default_profile_keeps_the_headers_on_every_api_response(
    database_url: str, clock: ManualClock
) -> None:
    async with gateway(database_url, clock) as client:
        responses = [
            await client.post(f"{NS}/workflows", json=start_body("wf")),
            await client.get(f"{NS}/workflows/missing"),
            await client.get("/api/v1/no-such-route"),
        ]
        assert [r.status_code for r in responses] == [200, 404, 404]
        for response in responses:
            assert response.headers["X-RateLimit-Scope"] == "client:127.0.0.1"
            assert response.headers["X-RateLimit-Limit"] == "10000"
        remaining = [int(r.headers["X-RateLimit-Remaining"]) for r in responses]
        assert remaining == [9999, 9998, 9997]


async def _hold_polls(
    client: httpx.AsyncClient, clock: ManualClock, count: int
) -> list[httpx.Response]:
    """``count`` task polls waiting at once (each on a queue of its own), then ended by
    their window."""
    waiting = [
        asyncio.create_task(
            client.post(f"{NS}/task-queues/q{n}/workflow-tasks/poll", json={"wait_timeout": "5s"})
        )
        for n in range(count)
    ]
    await wait_until(lambda: clock.pending_waits() + sum(w.done() for w in waiting) == count)
    clock.advance(5)
    return [await w for w in waiting]


async def test_the_default_profile_admits_forty_waiting_polls_of_one_client(
    database_url: str, clock: ManualClock
) -> None:
    async with gateway(database_url, clock) as client:
        answers = await _hold_polls(client, clock, 40)
        assert [a.status_code for a in answers] == [200] * 40
        assert all(a.json()["task_token"] == "" for a in answers)


async def test_the_spec_profile_refuses_the_eleventh_waiting_poll(
    database_url: str, clock: ManualClock
) -> None:
    async with gateway(database_url, clock, rate_limit_profile="spec") as client:
        answers = await _hold_polls(client, clock, 11)
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200] * 10 + [429]
        refused = next(a for a in answers if a.status_code == 429)
        error = assert_error(refused, 429, "RESOURCE_EXHAUSTED")
        assert (error["details"][0]["limit"], error["details"][0]["window"]) == (10, "concurrent")


async def test_the_spec_profile_refuses_the_101st_call_of_a_second(
    database_url: str, clock: ManualClock
) -> None:
    async with gateway(database_url, clock, rate_limit_profile="spec") as client:
        statuses = [(await client.get(f"{NS}/workflows/wf")).status_code for _ in range(101)]
        assert statuses == [404] * 100 + [429]


class BenchWorker:
    """The bench's end-to-end worker (bench/suite.py HttpWorker) in-process: workflow
    pollers schedule one eager activity and complete once it is done; activity pollers
    take what is not run eagerly. Every status it gets is kept."""

    def __init__(self, client: httpx.AsyncClient, queue: str) -> None:
        self.client = client
        self.queue = queue
        self.stopping = False
        self.statuses: list[int] = []

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post(f"{NS}{path}", json=body)
        self.statuses.append(response.status_code)
        answer: dict[str, Any] = response.json() if response.status_code == 200 else {}
        return answer

    async def workflow_poller(self) -> None:
        while not self.stopping:
            path = f"/task-queues/{self.queue}/workflow-tasks/poll"
            task = await self._post(path, {"identity": "bench", "wait_timeout": "1s"})
            if self.statuses[-1] != 200:
                return  # refused: stop rather than spin on a frozen clock
            if not task.get("task_token"):
                continue
            if any(e["event_type"] == "ACTIVITY_TASK_COMPLETED" for e in task["history"]):
                command = {
                    "command_type": "COMPLETE_WORKFLOW_EXECUTION",
                    "complete_workflow_execution_command_attributes": {"result": "charged"},
                }
            else:
                command = {
                    "command_type": "SCHEDULE_ACTIVITY_TASK",
                    "schedule_activity_task_command_attributes": {
                        "activity_id": "charge",
                        "activity_type": {"name": "Charge"},
                        "task_queue": {"name": self.queue},
                        "start_to_close_timeout": "30s",
                        "request_eager_execution": True,
                    },
                }
            body = {"task_token": task["task_token"], "commands": [command]}
            answer = await self._post("/workflow-tasks/complete", body)
            for activity in answer.get("activity_tasks") or []:
                await self._complete(activity)

    async def activity_poller(self) -> None:
        while not self.stopping:
            path = f"/task-queues/{self.queue}/activity-tasks/poll"
            task = await self._post(path, {"identity": "bench", "wait_timeout": "1s"})
            if self.statuses[-1] != 200:
                return
            if task.get("task_token"):
                await self._complete(task)

    async def _complete(self, task: dict[str, Any]) -> None:
        body = {"task_token": task["task_token"], "result": "charged"}
        await self._post("/activities/complete", body)

    async def one_workflow(self, n: int) -> str:
        body = start_body(f"{self.queue}-{n}", task_queue={"name": self.queue})
        started = await self.client.post(f"{NS}/workflows", json=body)
        self.statuses.append(started.status_code)
        result = await self.client.get(
            f"{NS}/workflows/{self.queue}-{n}/result", params={"wait_timeout": "50s"}
        )
        self.statuses.append(result.status_code)
        status: str = result.json().get("status", "") if result.status_code == 200 else ""
        return status


async def test_the_default_profile_admits_the_benchs_end_to_end_in_one_second(
    database_url: str, clock: ManualClock
) -> None:
    """50 workflows in flight with 8 workflow and 8 activity pollers, as the bench runs
    them, all in one frozen second: ~370 calls from one client (the spec's budget is
    100) and 16 waiting polls (the spec's cap is 10)."""
    async with gateway(database_url, clock) as client:
        worker = BenchWorker(client, "bench-e2e")
        pollers = [worker.workflow_poller() for _ in range(8)]
        pollers += [worker.activity_poller() for _ in range(8)]
        polling = asyncio.gather(*pollers)
        await wait_until(lambda: clock.pending_waits() == 16)
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(worker.one_workflow(n) for n in range(50))), 120
        )
        worker.stopping = True
        clock.advance(1)  # the waiting polls end with their window
        await polling
        assert outcomes == ["COMPLETED"] * 50
        assert len(worker.statuses) > 350
        assert set(worker.statuses) == {200}
