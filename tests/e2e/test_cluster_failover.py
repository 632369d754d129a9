"""Three real gateway processes on one PostgreSQL: they split the shards, run 500
workflows (an activity, then a durable timer) through HTTP workers polling different
processes while shards are closed under load, and when one is killed with SIGKILL
mid-run the survivors take its shards, its members row goes, and every workflow still
completes once with a gap-free history."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import BACKEND
from tests.e2e.server import ServerProcess

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(BACKEND != "postgres", reason="several processes need PostgreSQL"),
]

WORKFLOWS = 500
QUEUE = "failover-queue"
NS = "/api/v1/namespaces/default"
FAST_CLUSTER = {
    "member_heartbeat_seconds": "0.5",
    "member_timeout_seconds": "2",
    "shard_lease_seconds": "3",
}
TRANSPORT_ERRORS = (httpx.TransportError,)


class Workers:
    """HTTP workers that move to another process when theirs dies."""

    def __init__(self, servers: list[ServerProcess]) -> None:
        self.servers = servers
        self.done = asyncio.Event()

    def live(self, preferred: int) -> ServerProcess:
        ordered = self.servers[preferred:] + self.servers[:preferred]
        return next(s for s in ordered if s.running)

    async def workflow_poller(self, http: httpx.AsyncClient, preferred: int) -> None:
        while not self.done.is_set():
            base = self.live(preferred).base_url
            try:
                task = await self._poll(http, f"{base}{NS}/task-queues/{QUEUE}/workflow-tasks/poll")
                if task:
                    await http.post(
                        f"{base}{NS}/workflow-tasks/complete",
                        json={"task_token": task["task_token"], "commands": decide(task)},
                    )
            except TRANSPORT_ERRORS:
                await asyncio.sleep(0.05)

    async def activity_poller(self, http: httpx.AsyncClient, preferred: int) -> None:
        while not self.done.is_set():
            base = self.live(preferred).base_url
            try:
                task = await self._poll(http, f"{base}{NS}/task-queues/{QUEUE}/activity-tasks/poll")
                if task:
                    await http.post(
                        f"{base}{NS}/activities/complete",
                        json={"task_token": task["task_token"], "result": "charged"},
                    )
            except TRANSPORT_ERRORS:
                await asyncio.sleep(0.05)

    @staticmethod
    async def _poll(http: httpx.AsyncClient, url: str) -> dict[str, Any] | None:
        response = await http.post(url, json={"identity": "failover-worker", "wait_timeout": "1s"})
        body: dict[str, Any] = response.json()
        return body if response.status_code == 200 and body.get("task_token") else None


def decide(task: dict[str, Any]) -> list[dict[str, Any]]:
    """Activity first, then a one-second timer, then complete."""
    seen = {e["event_type"] for e in task["history"]}
    if "ACTIVITY_TASK_SCHEDULED" not in seen:
        return [
            {
                "command_type": "SCHEDULE_ACTIVITY_TASK",
                "schedule_activity_task_command_attributes": {
                    "activity_id": "charge",
                    "activity_type": {"name": "Charge"},
                    "task_queue": {"name": QUEUE},
                    "start_to_close_timeout": "3s",
                },
            }
        ]
    if "ACTIVITY_TASK_COMPLETED" in seen and "TIMER_STARTED" not in seen:
        return [
            {
                "command_type": "START_TIMER",
                "start_timer_command_attributes": {
                    "timer_id": "pause",
                    "start_to_fire_timeout": "1s",
                },
            }
        ]
    if "TIMER_FIRED" in seen:
        return [
            {
                "command_type": "COMPLETE_WORKFLOW_EXECUTION",
                "complete_workflow_execution_command_attributes": {"result": "done"},
            }
        ]
    return []


async def owners(http: httpx.AsyncClient, base: str, shard_count: int) -> list[str | None]:
    found = []
    for shard_id in range(shard_count):
        described = (await http.get(f"{base}/api/v1/shards/{shard_id}")).json()
        found.append(described["owner"] if not described["lease_expired"] else None)
    return found


async def eventually(check: Any, within: float = 30.0) -> Any:
    """Real processes move on real time: poll a condition, bounded."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the cluster did not settle in time")
        await asyncio.sleep(0.2)


async def test_a_killed_process_hands_over_and_every_workflow_completes_once(
    database_url: str, tmp_path: Path
) -> None:
    servers = []
    for n in range(3):
        (tmp_path / f"p{n}").mkdir()
        servers.append(ServerProcess(database_url, tmp_path / f"p{n}", FAST_CLUSTER))
    async with contextlib.AsyncExitStack() as stack:
        for server in servers:
            await stack.enter_async_context(server)
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
        base = servers[0].base_url
        shard_count = (await http.get(f"{base}/api/v1/cluster")).json()["cluster_info"][
            "history_shard_count"
        ]

        async def three_way_split() -> bool:
            members = (await http.get(f"{base}/api/v1/cluster/members")).json()
            held = Counter(await owners(http, base, shard_count))
            return len(members["active_members"]) == 3 and len(held) == 3 and None not in held

        await eventually(three_way_split)

        workers = Workers(servers)
        pollers = [
            asyncio.create_task(poll(http, n % 3))
            for n, poll in zip(
                range(12),
                itertools.cycle([workers.workflow_poller, workers.activity_poller]),
                strict=False,
            )
        ]
        for n in range(WORKFLOWS):
            started = await http.post(
                f"{servers[n % 2].base_url}{NS}/workflows",
                json={
                    "workflow_id": f"failover-{n}",
                    "workflow_type": {"name": "Failover"},
                    "task_queue": {"name": QUEUE},
                    "workflow_task_timeout": "2s",
                },
            )
            assert started.status_code == 200, started.text
            if n == WORKFLOWS // 3:
                servers[2].kill()
            if n % 50 == 25:  # an operator moves a shard under load
                closed = await http.post(f"{base}/api/v1/shards/{n % shard_count}/close")
                assert closed.status_code == 200, closed.text
        victim = servers[2]
        assert not victim.running

        async def survivors_own_everything() -> bool:
            members = (await http.get(f"{base}/api/v1/cluster/members")).json()
            live = {m["host_id"] for m in members["active_members"]}
            held = set(await owners(http, base, shard_count))
            return len(live) == 2 and held <= live

        await eventually(survivors_own_everything)

        async def all_completed() -> bool:
            count = await http.get(
                f"{base}{NS}/workflows/count",
                params={"query": "ExecutionStatus = 'Completed'"},
            )
            return int(count.json()["count"]) == WORKFLOWS

        await eventually(all_completed, within=120)
        workers.done.set()
        await asyncio.gather(*pollers)

        for n in range(WORKFLOWS):
            history = (await http.get(f"{base}{NS}/workflows/failover-{n}/history")).json()
            events = history["history"]
            assert [e["event_id"] for e in events] == list(range(1, len(events) + 1))
            kinds = Counter(e["event_type"] for e in events)
            assert kinds["ACTIVITY_TASK_COMPLETED"] == 1, events
            assert kinds["TIMER_STARTED"] == kinds["TIMER_FIRED"] == 1, events
            assert kinds["WORKFLOW_EXECUTION_COMPLETED"] == 1, events
            assert events[-1]["event_type"] == "WORKFLOW_EXECUTION_COMPLETED"
