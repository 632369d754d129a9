"""A worker's view of kill -9: a run with a user timer, an activity backing off after a
failure, an activity attempt that will never be answered, and a workflow task waiting
for a signal, all pending when the server dies. After a restart on the same database a
fresh worker drives the run to completion, and its history has the same shape as the
same script run without the crash (on a database of its own).

The server keeps real time, so every wait is bounded: polls with a short wait_timeout
and history long polls, all under one deadline."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import BACKEND, _admin, _pg_url
from tests.e2e.server import ServerProcess

NS = "/api/v1/namespaces/default"
WORKFLOW_ID = "restart-wf"
QUEUE = "restart-q"
# Each activity on a queue of its own, so the worker answers them in a fixed order.
FAILING = "a-fails-once"  # polled and failed before the crash: retried after 2s
SILENT = "a-never-answered"  # polled and never answered: times out after 2s, retried after 1s
TIMER = "t1"
TIMER_SECONDS = 2
SIGNAL = "go"
FAILURE = {"message": "card declined", "application_failure_info": {"type": "Declined"}}
# Attempt 2 is due 2s after the failure, or 2s (timeout) + 1s (backoff) after the start.
MIN_RETRY_SECONDS = {FAILING: 2.0, SILENT: 3.0}
DEADLINE_SECONDS = 30.0  # everything after the restart must be done within this
POLL_WAIT = "2s"

EXPECTED = [
    "WORKFLOW_EXECUTION_STARTED",
    "WORKFLOW_TASK_SCHEDULED",
    "WORKFLOW_TASK_STARTED",
    "WORKFLOW_TASK_COMPLETED",
    "ACTIVITY_TASK_SCHEDULED",
    "ACTIVITY_TASK_SCHEDULED",
    "TIMER_STARTED",
    "WORKFLOW_EXECUTION_SIGNALED",
    "WORKFLOW_TASK_SCHEDULED",
    "TIMER_FIRED",
    "WORKFLOW_TASK_STARTED",
    "WORKFLOW_TASK_COMPLETED",
    "ACTIVITY_TASK_STARTED",
    "ACTIVITY_TASK_COMPLETED",
    "WORKFLOW_TASK_SCHEDULED",
    "ACTIVITY_TASK_STARTED",
    "ACTIVITY_TASK_COMPLETED",
    "WORKFLOW_TASK_STARTED",
    "WORKFLOW_TASK_COMPLETED",
    "WORKFLOW_EXECUTION_COMPLETED",
]


def attributes(event: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = event[f"{event['event_type'].lower()}_event_attributes"]
    return value


def at(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["event_type"] for e in events]


def decide(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The workflow's code, replayed from its whole history on every task: schedule both
    activities and the timer; once both activities completed, the timer fired and the
    signal arrived, complete; otherwise wait (no commands)."""
    seen = types(history)
    if "ACTIVITY_TASK_SCHEDULED" not in seen:
        return [
            _schedule(FAILING, retry_policy={"initial_interval": "2s", "maximum_attempts": 3}),
            _schedule(SILENT, retry_policy={"initial_interval": "1s", "maximum_attempts": 3}),
            {
                "command_type": "START_TIMER",
                "start_timer_command_attributes": {
                    "timer_id": TIMER,
                    "start_to_fire_timeout": f"{TIMER_SECONDS}s",
                },
            },
        ]
    done = (
        seen.count("ACTIVITY_TASK_COMPLETED") == 2
        and "TIMER_FIRED" in seen
        and "WORKFLOW_EXECUTION_SIGNALED" in seen
    )
    if not done:
        return []
    results = {
        attributes(e)["result"]["activity"]
        for e in history
        if e["event_type"] == "ACTIVITY_TASK_COMPLETED"
    }
    return [
        {
            "command_type": "COMPLETE_WORKFLOW_EXECUTION",
            "complete_workflow_execution_command_attributes": {"result": sorted(results)},
        }
    ]


def _schedule(activity_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "command_type": "SCHEDULE_ACTIVITY_TASK",
        "schedule_activity_task_command_attributes": {
            "activity_id": activity_id,
            "activity_type": {"name": "Charge"},
            "task_queue": {"name": f"{QUEUE}-{activity_id}"},
            "input": {"activity": activity_id},
            "start_to_close_timeout": "2s",
            **extra,
        },
    }


class HttpWorker:
    """A worker made of an httpx client: bounded polls, answers, history reads."""

    def __init__(self, server: ServerProcess, identity: str) -> None:
        self.server = server
        self.identity = identity
        self.http = httpx.AsyncClient(base_url=server.base_url, timeout=30.0)
        self.deadline = asyncio.get_running_loop().time() + DEADLINE_SECONDS

    async def close(self) -> None:
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

    async def poll(self, kind: str, queue: str) -> dict[str, Any]:
        """Poll (POLL_WAIT at a time) until a task arrives, within the deadline."""
        while True:
            self._remaining(f"a {kind} task on {queue}")
            task = await self.post(
                f"/task-queues/{queue}/{kind}-tasks/poll",
                {"identity": self.identity, "wait_timeout": POLL_WAIT},
            )
            if task["task_token"]:
                return task
            assert task["poll_window"] == POLL_WAIT, task

    async def workflow_task(self) -> dict[str, Any]:
        """Poll a workflow task and answer it with what the workflow code decides."""
        task = await self.poll("workflow", QUEUE)
        assert task["workflow_execution"]["workflow_id"] == WORKFLOW_ID, task
        assert task["next_page_token"] == "", task
        await self.post(
            "/workflow-tasks/complete",
            {
                "task_token": task["task_token"],
                "commands": decide(task["history"]),
                "identity": self.identity,
            },
        )
        return task

    async def answer(self, action: str, token: str, **body: Any) -> httpx.Response:
        return await self.http.post(
            f"{NS}/activities/{action}",
            json={"task_token": token, "identity": self.identity, **body},
        )

    async def history(self) -> list[dict[str, Any]]:
        response = await self.http.get(f"{NS}/workflows/{WORKFLOW_ID}/history")
        assert response.status_code == 200, response.text
        assert response.json()["next_page_token"] == ""
        events: list[dict[str, Any]] = response.json()["history"]
        return events

    async def wait_for(self, event_type: str) -> list[dict[str, Any]]:
        """Long-poll the history (wait_new_event) until ``event_type`` is in it; the
        whole history then."""
        events: list[dict[str, Any]] = []
        token = ""
        while event_type not in types(events):
            remaining = self._remaining(event_type)
            params = {"wait_new_event": "true", "next_page_token": token}
            try:
                async with asyncio.timeout(remaining):
                    response = await self.http.get(
                        f"{NS}/workflows/{WORKFLOW_ID}/history",
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


async def before_the_crash(server: ServerProcess) -> dict[str, dict[str, Any]]:
    """Start the run, answer its first task, poll both activities once (fail one, keep
    the other), and signal while no worker is polling. Returns the first attempts."""
    worker = HttpWorker(server, "worker-before")
    try:
        await worker.post(
            "/workflows",
            {
                "workflow_id": WORKFLOW_ID,
                "workflow_type": {"name": "RestartWorkflow"},
                "task_queue": QUEUE,
                "input": {"order": 1},
            },
        )
        await worker.workflow_task()
        failing = await worker.poll("activity", f"{QUEUE}-{FAILING}")
        silent = await worker.poll("activity", f"{QUEUE}-{SILENT}")
        assert (failing["activity_id"], failing["attempt"]) == (FAILING, 1)
        assert (silent["activity_id"], silent["attempt"]) == (SILENT, 1)
        failed = await worker.answer("fail", failing["task_token"], failure=FAILURE)
        assert failed.status_code == 200, failed.text
        await worker.post(f"/workflows/{WORKFLOW_ID}/signal", {"signal_name": SIGNAL})
        # All pending: the timer has not fired, the signal's workflow task waits, and the
        # activities' attempts leave no trace in history.
        assert types(await worker.history()) == EXPECTED[:9]
        return {FAILING: failing, SILENT: silent}
    finally:
        await worker.close()


async def after_the_crash(server: ServerProcess, first: dict[str, dict[str, Any]]) -> None:
    """A fresh worker: wait for the timer, answer the signal's task, run the retried
    activities (in a fixed order), and answer the final task."""
    worker = HttpWorker(server, "worker-after")
    try:
        fired = await worker.wait_for("TIMER_FIRED")
        assert types(fired)[:10] == EXPECTED[:10], types(fired)
        task = await worker.workflow_task()
        assert task["attempt"] == 1
        assert types(task["history"])[7:] == [
            "WORKFLOW_EXECUTION_SIGNALED",
            "WORKFLOW_TASK_SCHEDULED",
            "TIMER_FIRED",
            "WORKFLOW_TASK_STARTED",
        ]

        for activity_id in (FAILING, SILENT):
            retry = await worker.poll("activity", f"{QUEUE}-{activity_id}")
            assert (retry["activity_id"], retry["attempt"]) == (activity_id, 2), retry
            # Retried per the policy: not before the backoff (after the timeout) passed.
            waited = at(retry["current_attempt_scheduled_time"]) - at(
                first[activity_id]["started_time"]
            )
            assert waited.total_seconds() >= MIN_RETRY_SECONDS[activity_id], retry
            # The first attempt is over: its late answer is refused, never applied.
            late = await worker.answer("complete", first[activity_id]["task_token"], result="late")
            if activity_id == FAILING:
                assert late.status_code == 404, late.text
                assert late.json()["error"]["code"] == "NOT_FOUND", late.text
            else:
                assert late.status_code == 409, late.text
                assert late.json()["error"]["code"] == "ACTIVITY_TASK_TIMEOUT", late.text
            done = await worker.answer("complete", retry["task_token"], result=retry["input"])
            assert done.status_code == 200, done.text

        final = await worker.workflow_task()
        assert types(final["history"]) == EXPECTED[:18], types(final["history"])
        await worker.wait_for("WORKFLOW_EXECUTION_COMPLETED")
    finally:
        await worker.close()


async def run_script(server: ServerProcess, crash: bool) -> list[dict[str, Any]]:
    first = await before_the_crash(server)
    if crash:
        server.kill()
        assert not server.running
        await server.start()
    await after_the_crash(server, first)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30.0) as http:
        response = await http.get(f"{NS}/workflows/{WORKFLOW_ID}")
        assert response.status_code == 200, response.text
        described = response.json()
        assert described["execution_info"]["status"] == "COMPLETED", described
        history = await HttpWorker(server, "reader").history()
    return history


@pytest.fixture
async def reference_database_url(
    tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """A second database for the uninterrupted run."""
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path}/reference.db"
        return
    template = request.getfixturevalue("pg_template")
    name = f"tg_test_{os.getpid()}_reference_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _pg_url(name)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def check_history(history: list[dict[str, Any]]) -> None:
    """What both runs must show: one timer firing, both activities retried per their
    policies and completed on attempt 2, and the run completed with both results."""
    assert [e["event_id"] for e in history] == list(range(1, len(history) + 1))
    seen = types(history)
    assert seen.count("TIMER_FIRED") == 1, seen
    fired = attributes(history[seen.index("TIMER_FIRED")])
    assert fired == {"timer_id": TIMER, "started_event_id": seen.index("TIMER_STARTED") + 1}
    assert seen.count("WORKFLOW_EXECUTION_SIGNALED") == 1, seen

    scheduled = {
        attributes(e)["activity_id"]: e["event_id"]
        for e in history
        if e["event_type"] == "ACTIVITY_TASK_SCHEDULED"
    }
    assert set(scheduled) == {FAILING, SILENT}
    started = {
        attributes(e)["scheduled_event_id"]: attributes(e)
        for e in history
        if e["event_type"] == "ACTIVITY_TASK_STARTED"
    }
    completed = {
        attributes(e)["scheduled_event_id"]: attributes(e)
        for e in history
        if e["event_type"] == "ACTIVITY_TASK_COMPLETED"
    }
    for activity_id, event_id in scheduled.items():
        assert started[event_id]["attempt"] == 2, started[event_id]
        assert completed[event_id]["result"] == {"activity": activity_id}
        assert started[event_id]["identity"] == "worker-after"
    assert started[scheduled[FAILING]]["last_failure"]["message"] == "card declined"
    timeout = started[scheduled[SILENT]]["last_failure"]["timeout_failure_info"]
    assert timeout["timeout_type"] == "START_TO_CLOSE"

    closing = attributes(history[-1])
    assert history[-1]["event_type"] == "WORKFLOW_EXECUTION_COMPLETED"
    assert closing["result"] == sorted([FAILING, SILENT])


@pytest.mark.slow
async def test_a_fresh_worker_finishes_a_run_interrupted_by_kill_9(
    database_url: str, reference_database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "crash").mkdir()
    (tmp_path / "reference").mkdir()
    async with (
        ServerProcess(database_url, tmp_path / "crash") as crashed,
        ServerProcess(reference_database_url, tmp_path / "reference") as reference,
    ):
        # The same script on two servers at once: one killed mid-run, one left alone.
        crashed_history, reference_history = await asyncio.gather(
            run_script(crashed, crash=True), run_script(reference, crash=False)
        )

    check_history(reference_history)
    check_history(crashed_history)
    assert types(crashed_history) == types(reference_history)
    assert types(reference_history) == EXPECTED
