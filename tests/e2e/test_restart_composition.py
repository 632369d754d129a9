"""kill -9 in the middle of composed workflows, against the real server process:

- a parent has started a child whose first workflow task is still pending; after a
  restart on the same database the child runs and completes, and the parent hears of it
  exactly once (one CHILD_WORKFLOW_EXECUTION_COMPLETED) and completes;
- a cron workflow ("@every 2s") waits for its next fire; after a restart it fires once
  per due time (no duplicate runs, counted along the new_execution_run_id links from the
  first run and in the database) and two more runs complete.

The server keeps real time, so every wait is bounded: polls with a short wait_timeout
and history long polls (wait_new_event), all under one deadline; there are no sleeps."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from app.db.database import Database
from app.db.tables import ExecutionRow
from tests.e2e.server import ServerProcess

pytestmark = pytest.mark.slow

NS = "/api/v1/namespaces/default"
POLL_WAIT = "2s"
QUIET_WAIT = "1s"
DEADLINE_SECONDS = 30.0  # each phase (before / after the crash) must be done within this

PARENT_ID = "composition-parent"
PARENT_TYPE = "ParentWorkflow"
PARENT_QUEUE = "composition-parent-q"
CHILD_ID = "composition-child"
CHILD_TYPE = "ChildWorkflow"
CHILD_QUEUE = "composition-child-q"
CHILD_RESULT = {"child": "done", "order": 7}

CRON_ID = "composition-cron"
CRON_QUEUE = "composition-cron-q"
CRON_SCHEDULE = "@every 2s"
CRON_SECONDS = 2

PARENT_HISTORY = [
    "WORKFLOW_EXECUTION_STARTED",
    "WORKFLOW_TASK_SCHEDULED",
    "WORKFLOW_TASK_STARTED",
    "WORKFLOW_TASK_COMPLETED",
    "START_CHILD_WORKFLOW_EXECUTION_INITIATED",  # 5
    "CHILD_WORKFLOW_EXECUTION_STARTED",  # 6
    "WORKFLOW_TASK_SCHEDULED",
    "WORKFLOW_TASK_STARTED",
    "WORKFLOW_TASK_COMPLETED",  # 9: the parent waits; the crash comes here
    "CHILD_WORKFLOW_EXECUTION_COMPLETED",  # 10
    "WORKFLOW_TASK_SCHEDULED",
    "WORKFLOW_TASK_STARTED",
    "WORKFLOW_TASK_COMPLETED",
    "WORKFLOW_EXECUTION_COMPLETED",
]
BEFORE_THE_CRASH = 9
INITIATED_ID = 5
CHILD_STARTED_ID = 6

COMPLETED_RUN = [
    "WORKFLOW_EXECUTION_STARTED",
    "WORKFLOW_TASK_SCHEDULED",
    "WORKFLOW_TASK_STARTED",
    "WORKFLOW_TASK_COMPLETED",
    "WORKFLOW_EXECUTION_COMPLETED",
]


def attributes(event: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = event[f"{event['event_type'].lower()}_event_attributes"]
    return value


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["event_type"] for e in events]


def at(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


def seconds(duration: str) -> float:
    assert duration.endswith("s"), duration
    return float(duration[:-1])


def complete(result: Any) -> dict[str, Any]:
    return {
        "command_type": "COMPLETE_WORKFLOW_EXECUTION",
        "complete_workflow_execution_command_attributes": {"result": result},
    }


class Gateway:
    """A client of one server process: bounded polls, answers and history reads, all
    under one deadline."""

    def __init__(self, server: ServerProcess, identity: str) -> None:
        self.server = server
        self.identity = identity
        self.http = httpx.AsyncClient(base_url=server.base_url, timeout=30.0)
        self.deadline = asyncio.get_running_loop().time() + DEADLINE_SECONDS

    async def __aenter__(self) -> Gateway:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.http.aclose()

    def _remaining(self, what: str) -> float:
        remaining = self.deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise AssertionError(f"timed out waiting for {what}\n{self.server.logs()}")
        return remaining

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(f"{NS}{path}", json=body)
        assert response.status_code == 200, f"POST {path}: {response.text}"
        answer: dict[str, Any] = response.json()
        return answer

    async def get(self, path: str, **params: str) -> dict[str, Any]:
        response = await self.http.get(f"{NS}{path}", params=params)
        assert response.status_code == 200, f"GET {path}: {response.text}"
        answer: dict[str, Any] = response.json()
        return answer

    async def start(self, body: dict[str, Any]) -> str:
        run_id: str = (await self.post("/workflows", body))["run_id"]
        return run_id

    async def poll(self, queue: str) -> dict[str, Any]:
        """Poll (POLL_WAIT at a time) until a workflow task arrives, within the deadline."""
        while True:
            self._remaining(f"a workflow task on {queue}")
            task = await self.post(
                f"/task-queues/{queue}/workflow-tasks/poll",
                {"identity": self.identity, "wait_timeout": POLL_WAIT},
            )
            if task["task_token"]:
                assert task["next_page_token"] == "", task
                return task
            assert task["poll_window"] == POLL_WAIT, task

    async def quiet(self, queue: str) -> None:
        """One short poll that must come back empty: no task is waiting on the queue."""
        task = await self.post(
            f"/task-queues/{queue}/workflow-tasks/poll",
            {"identity": self.identity, "wait_timeout": QUIET_WAIT},
        )
        assert task["task_token"] == "", (
            f"unexpected task on {queue}: {task['workflow_execution']} {types(task['history'])}"
        )

    async def answer(self, task: dict[str, Any], commands: list[dict[str, Any]]) -> None:
        await self.post(
            "/workflow-tasks/complete",
            {"task_token": task["task_token"], "commands": commands, "identity": self.identity},
        )

    async def history(self, workflow_id: str, run_id: str) -> list[dict[str, Any]]:
        page = await self.get(f"/workflows/{workflow_id}/runs/{run_id}/history")
        assert page["next_page_token"] == "", page
        events: list[dict[str, Any]] = page["history"]
        assert [e["event_id"] for e in events] == list(range(1, len(events) + 1))
        return events

    async def describe(self, workflow_id: str, run_id: str) -> dict[str, Any]:
        return await self.get(f"/workflows/{workflow_id}/runs/{run_id}")

    async def wait_for(
        self, workflow_id: str, run_id: str, event_type: str
    ) -> list[dict[str, Any]]:
        """Long-poll the run's history (wait_new_event) until ``event_type`` is in it;
        returns the whole history then."""
        events: list[dict[str, Any]] = []
        token = ""
        while event_type not in types(events):
            remaining = self._remaining(f"{event_type} in {workflow_id}/{run_id}")
            params = {"wait_new_event": "true", "next_page_token": token}
            try:
                async with asyncio.timeout(remaining):
                    response = await self.http.get(
                        f"{NS}/workflows/{workflow_id}/runs/{run_id}/history",
                        params=params,
                        timeout=remaining + 1,
                    )
            except TimeoutError:
                self._remaining(event_type)  # raises with the server's logs
                raise
            assert response.status_code == 200, response.text
            page = response.json()
            events += page["history"]
            token = page["next_page_token"]
            assert token or event_type in types(events), f"history ended: {types(events)}"
        assert [e["event_id"] for e in events] == list(range(1, len(events) + 1))
        return events


async def count_runs(database_url: str, workflow_id: str) -> int:
    """Every run of the workflow id in the database, linked into the chain or not."""
    db = Database(database_url)
    try:
        async with db.read() as session:
            query = select(ExecutionRow).where(col(ExecutionRow.workflow_id) == workflow_id)
            return len(list((await session.execute(query)).scalars()))
    finally:
        await db.close()


# --- (a) a parent and its child -----------------------------------------------------


def parent_code(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The parent's workflow code, replayed from its history on every task: start the
    child, wait, and complete with the child's result once it completed."""
    seen = types(history)
    if "START_CHILD_WORKFLOW_EXECUTION_INITIATED" not in seen:
        return [
            {
                "command_type": "START_CHILD_WORKFLOW_EXECUTION",
                "start_child_workflow_execution_command_attributes": {
                    "workflow_id": CHILD_ID,
                    "workflow_type": {"name": CHILD_TYPE},
                    "task_queue": {"name": CHILD_QUEUE},
                    "input": {"order": 7},
                    "workflow_task_timeout": "3s",
                },
            }
        ]
    done = [e for e in history if e["event_type"] == "CHILD_WORKFLOW_EXECUTION_COMPLETED"]
    if not done:
        return []
    return [complete(attributes(done[0])["result"])]


async def parent_before_the_crash(server: ServerProcess) -> tuple[str, str]:
    """Start the parent, answer its two tasks (start the child; then wait), and leave the
    child's first workflow task pending. Returns the parent's and the child's run ids."""
    async with Gateway(server, "worker-before") as gateway:
        parent_run = await gateway.start(
            {
                "workflow_id": PARENT_ID,
                "workflow_type": {"name": PARENT_TYPE},
                "task_queue": PARENT_QUEUE,
                "input": {"order": 7},
            }
        )
        first = await gateway.poll(PARENT_QUEUE)
        assert first["workflow_execution"] == {"workflow_id": PARENT_ID, "run_id": parent_run}
        await gateway.answer(first, parent_code(first["history"]))

        second = await gateway.poll(PARENT_QUEUE)
        assert second["workflow_execution"]["run_id"] == parent_run
        assert types(second["history"]) == PARENT_HISTORY[:8]
        child_started = attributes(second["history"][CHILD_STARTED_ID - 1])
        child_run = child_started["workflow_execution"]["run_id"]
        assert child_started == {
            "workflow_execution": {"workflow_id": CHILD_ID, "run_id": child_run},
            "workflow_type": {"name": CHILD_TYPE},
            "initiated_event_id": INITIATED_ID,
        }
        assert parent_code(second["history"]) == []
        await gateway.answer(second, [])

        # The parent waits; the child's first workflow task is scheduled, not started.
        parent = await gateway.history(PARENT_ID, parent_run)
        assert types(parent) == PARENT_HISTORY[:BEFORE_THE_CRASH]
        child = await gateway.history(CHILD_ID, child_run)
        assert types(child) == ["WORKFLOW_EXECUTION_STARTED", "WORKFLOW_TASK_SCHEDULED"]
        described = await gateway.describe(CHILD_ID, child_run)
        assert described["pending_workflow_task"]["state"] == "SCHEDULED", described
        assert described["execution_info"]["status"] == "RUNNING", described
        return parent_run, child_run


async def parent_after_the_crash(server: ServerProcess, parent_run: str, child_run: str) -> None:
    """A fresh worker runs the child's pending task, then the parent's."""
    async with Gateway(server, "worker-after") as gateway:
        task = await gateway.poll(CHILD_QUEUE)
        assert task["workflow_execution"] == {"workflow_id": CHILD_ID, "run_id": child_run}
        assert task["attempt"] == 1, task
        assert types(task["history"]) == [
            "WORKFLOW_EXECUTION_STARTED",
            "WORKFLOW_TASK_SCHEDULED",
            "WORKFLOW_TASK_STARTED",
        ]
        started = attributes(task["history"][0])
        assert started["parent_workflow_execution"] == {
            "workflow_id": PARENT_ID,
            "run_id": parent_run,
        }
        assert started["parent_initiated_event_id"] == INITIATED_ID
        assert started["input"] == {"order": 7}
        await gateway.answer(task, [complete(CHILD_RESULT)])

        heard = await gateway.wait_for(PARENT_ID, parent_run, "CHILD_WORKFLOW_EXECUTION_COMPLETED")
        assert types(heard)[: BEFORE_THE_CRASH + 1] == PARENT_HISTORY[: BEFORE_THE_CRASH + 1]

        final = await gateway.poll(PARENT_QUEUE)
        assert final["workflow_execution"]["run_id"] == parent_run
        assert types(final["history"]) == PARENT_HISTORY[:12]
        await gateway.answer(final, parent_code(final["history"]))
        await gateway.wait_for(PARENT_ID, parent_run, "WORKFLOW_EXECUTION_COMPLETED")

        # Nothing else is waiting for a worker: no second report, no second child task.
        await asyncio.gather(gateway.quiet(PARENT_QUEUE), gateway.quiet(CHILD_QUEUE))

        parent = await gateway.history(PARENT_ID, parent_run)
        assert types(parent) == PARENT_HISTORY
        assert types(parent).count("CHILD_WORKFLOW_EXECUTION_COMPLETED") == 1
        assert types(parent).count("CHILD_WORKFLOW_EXECUTION_STARTED") == 1
        assert attributes(parent[BEFORE_THE_CRASH]) == {
            "workflow_execution": {"workflow_id": CHILD_ID, "run_id": child_run},
            "workflow_type": {"name": CHILD_TYPE},
            "initiated_event_id": INITIATED_ID,
            "started_event_id": CHILD_STARTED_ID,
            "result": CHILD_RESULT,
        }
        assert attributes(parent[-1])["result"] == CHILD_RESULT

        child = await gateway.history(CHILD_ID, child_run)
        assert types(child) == COMPLETED_RUN
        assert attributes(child[-1])["result"] == CHILD_RESULT
        for workflow_id, run_id in ((PARENT_ID, parent_run), (CHILD_ID, child_run)):
            described = await gateway.describe(workflow_id, run_id)
            assert described["execution_info"]["status"] == "COMPLETED", described
            assert described["pending_workflow_task"] is None, described


async def test_a_child_pending_at_kill_9_completes_and_its_parent_hears_once(
    database_url: str, tmp_path: Path
) -> None:
    async with ServerProcess(database_url, tmp_path) as server:
        parent_run, child_run = await parent_before_the_crash(server)
        server.kill()
        assert not server.running
        await server.start()
        await parent_after_the_crash(server, parent_run, child_run)

    # One parent run and one child run: the restart started nothing twice.
    assert await count_runs(database_url, PARENT_ID) == 1
    assert await count_runs(database_url, CHILD_ID) == 1


# --- (b) a cron workflow ------------------------------------------------------------


def cron_code(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cron workflow's code: count the runs through last_completion_result."""
    last = attributes(history[0]).get("last_completion_result")
    return [complete({"n": last["n"] + 1 if last else 1})]


async def run_cron_task(gateway: Gateway, run_id: str) -> None:
    """Take the run's (first and only) workflow task and complete the run."""
    task = await gateway.poll(CRON_QUEUE)
    assert task["workflow_execution"] == {"workflow_id": CRON_ID, "run_id": run_id}, (
        f"expected a task of run {run_id}, got {task['workflow_execution']}"
    )
    assert task["attempt"] == 1, task
    assert types(task["history"]) == COMPLETED_RUN[:3]
    await gateway.answer(task, cron_code(task["history"]))


async def next_run_of(gateway: Gateway, run_id: str) -> str:
    history = await gateway.history(CRON_ID, run_id)
    assert history[-1]["event_type"] == "WORKFLOW_EXECUTION_COMPLETED", types(history)
    following: str = attributes(history[-1])["new_execution_run_id"]
    assert following and following != run_id
    return following


async def cron_before_the_crash(server: ServerProcess) -> tuple[str, str, datetime]:
    """Start the cron workflow, complete its first run, and kill the server while the
    second run waits for its fire time. Returns both run ids and the time of the kill."""
    async with Gateway(server, "worker-before") as gateway:
        first = await gateway.start(
            {
                "workflow_id": CRON_ID,
                "workflow_type": {"name": "CronWorkflow"},
                "task_queue": CRON_QUEUE,
                "cron_schedule": CRON_SCHEDULE,
            }
        )
        await run_cron_task(gateway, first)
        second = await next_run_of(gateway, first)
        # The second run exists and waits for its fire time: no workflow task yet.
        waiting = await gateway.history(CRON_ID, second)
        assert types(waiting) == ["WORKFLOW_EXECUTION_STARTED"]
        assert seconds(attributes(waiting[0])["first_workflow_task_backoff"]) >= 1
    killed_at = datetime.now(UTC)
    server.kill()
    return first, second, killed_at


async def cron_after_the_crash(server: ServerProcess, second: str) -> tuple[str, str]:
    """Complete the second and the third run; the fourth gets its task. Returns the
    third and fourth run ids."""
    async with Gateway(server, "worker-after") as gateway:
        await run_cron_task(gateway, second)
        third = await next_run_of(gateway, second)
        await run_cron_task(gateway, third)
        fourth = await next_run_of(gateway, third)
        task = await gateway.poll(CRON_QUEUE)
        assert task["workflow_execution"] == {"workflow_id": CRON_ID, "run_id": fourth}
        assert types(task["history"]) == COMPLETED_RUN[:3]
        return third, fourth


async def follow_chain(gateway: Gateway, first: str) -> list[list[dict[str, Any]]]:
    """The histories of the runs linked by new_execution_run_id, from the first run."""
    histories = []
    run_id: str | None = first
    while run_id is not None:
        assert len(histories) < 10, "the chain does not end"
        history = await gateway.history(CRON_ID, run_id)
        histories.append(history)
        last = history[-1]
        run_id = None
        if last["event_type"] == "WORKFLOW_EXECUTION_COMPLETED":
            run_id = attributes(last).get("new_execution_run_id")
    return histories


async def test_a_cron_workflow_waiting_at_kill_9_fires_once_per_due_time(
    database_url: str, tmp_path: Path
) -> None:
    async with ServerProcess(database_url, tmp_path) as server:
        first, second, killed_at = await cron_before_the_crash(server)
        assert not server.running
        await server.start()
        third, fourth = await cron_after_the_crash(server, second)
        async with Gateway(server, "reader") as gateway:
            chain = await follow_chain(gateway, first)
            described = [
                await gateway.describe(CRON_ID, run) for run in (first, second, third, fourth)
            ]

    runs = [attributes(h[0])["original_execution_run_id"] for h in chain]
    assert runs == [first, second, third, fourth]
    # No run outside the chain either: a duplicate fire would have made one.
    assert await count_runs(database_url, CRON_ID) == 4

    for number, history in enumerate(chain, start=1):
        started = attributes(history[0])
        assert started["cron_schedule"] == CRON_SCHEDULE
        assert started["first_execution_run_id"] == first
        assert started["attempt"] == 1
        backoff = seconds(started["first_workflow_task_backoff"])
        assert 1 <= backoff <= CRON_SECONDS, started
        if number > 1:
            assert started["initiator"] == "CRON_SCHEDULE"
            assert started["continued_execution_run_id"] == runs[number - 2]
            assert started["last_completion_result"] == {"n": number - 1}
        else:
            assert "last_completion_result" not in started
        # Exactly one workflow task per run: the run fired once.
        expected = COMPLETED_RUN if number < 4 else COMPLETED_RUN[:3]
        assert types(history) == expected, (number, types(history))
        if number < 4:
            assert attributes(history[-1])["result"] == {"n": number}
        # It fired when due, not before.
        due = at(history[0]["event_time"]) + timedelta(seconds=backoff)
        assert at(described[number - 1]["execution_info"]["execution_time"]) == due
        assert at(history[1]["event_time"]) >= due, (number, history[1])

    # Each run was due after the previous one closed: one run per due time.
    dues = [at(d["execution_info"]["execution_time"]) for d in described]
    closes = [at(h[-1]["event_time"]) for h in chain[:3]]
    for previous_close, due in zip(closes, dues[1:], strict=True):
        assert due > previous_close
    # The second run was waiting when the server died and fired after the restart.
    assert at(chain[1][1]["event_time"]) > killed_at
    assert [d["execution_info"]["status"] for d in described] == [
        "COMPLETED",
        "COMPLETED",
        "COMPLETED",
        "RUNNING",
    ]
