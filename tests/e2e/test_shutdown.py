"""SIGTERM on the real server: every open long poll gets its empty answer at once, the
process exits 0 within 5 s with no traceback in its log (also when signalled again), and
a task written before the signal is delivered exactly once across the restart."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import ServerProcess

pytestmark = pytest.mark.slow
NS = "/api/v1/namespaces/default"
IDLE = "idle-q"  # no task is ever written here: its polls can only end empty
WINDOW = {"wait_timeout": "50s"}  # without the drain, a stop would wait this long
STOP_WITHIN_SECONDS = 5.0
# Each poll's last claim is a transaction; bounded well below the 50 s window it would
# otherwise wait, with room for a loaded machine.
ANSWERED_WITHIN_SECONDS = 3.0
PARK_ATTEMPTS = 200
PARK_STEP_SECONDS = 0.05


def _poll(
    http: httpx.AsyncClient, kind: str, queue: str, identity: str
) -> asyncio.Task[httpx.Response]:
    return asyncio.create_task(
        http.post(
            f"{NS}/task-queues/{queue}/{kind}-tasks/poll", json={**WINDOW, "identity": identity}
        )
    )


async def _parked(http: httpx.AsyncClient, queue: str, *pollers: tuple[str, str]) -> None:
    """Until each (kind, identity) poller is recorded on ``queue``: its poll reached the
    server and found nothing to claim (the record commits with its first claim). Bounded
    steps, as tests/e2e/server.py waits for the boot."""
    for _ in range(PARK_ATTEMPTS):
        seen = set()
        for kind in {kind for kind, _ in pollers}:
            described = await http.get(
                f"{NS}/task-queues/{queue}", params={"task_queue_type": kind.upper()}
            )
            seen |= {(kind, p["identity"]) for p in described.json()["pollers"]}
        if set(pollers) <= seen:
            return
        await asyncio.sleep(PARK_STEP_SECONDS)
    raise AssertionError(f"the polls {pollers} never reached the server")


async def _stopped(server: ServerProcess, since: float) -> tuple[int, float]:
    """The exit status, and the seconds from ``since`` to the exit (bounded wait)."""
    for _ in range(int(3 * STOP_WITHIN_SECONDS / PARK_STEP_SECONDS)):
        if not server.running:
            break
        await asyncio.sleep(PARK_STEP_SECONDS)
    took = time.monotonic() - since
    return server.stop(), took  # stop() only reaps a process that already exited


def _logs(log_dir: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted(log_dir.glob("server-*.log")))


def _empty(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.json().get("task_token", "") == "", response.text


async def test_sigterm_answers_every_long_poll_and_exits_within_seconds(
    database_url: str, tmp_path: Path
) -> None:
    async with ServerProcess(database_url, tmp_path) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
            started = await http.post(
                f"{NS}/workflows",
                json={"workflow_id": "watched", "workflow_type": {"name": "W"}, "task_queue": "q"},
            )
            run_id = started.json()["run_id"]
            history = f"{NS}/workflows/watched/runs/{run_id}/history"
            first = await http.get(history, params={"wait_new_event": "true"})
            token = first.json()["next_page_token"]
            waiting_history = asyncio.create_task(
                http.get(history, params={"wait_new_event": "true", "next_page_token": token})
            )
            workflow = _poll(http, "workflow", IDLE, "wf-poller")
            activity = _poll(http, "activity", IDLE, "act-poller")
            await _parked(http, IDLE, ("workflow", "wf-poller"), ("activity", "act-poller"))
            assert not any(t.done() for t in (waiting_history, workflow, activity))

            signalled = time.monotonic()
            os.kill(server.pid, signal.SIGTERM)
            answers = await asyncio.gather(workflow, activity, waiting_history)
            answered_in = time.monotonic() - signalled
            code, took = await _stopped(server, signalled)

        _empty(answers[0])
        _empty(answers[1])
        page = answers[2]
        assert page.status_code == 200, page.text
        assert page.json()["history"] == []
        assert page.json()["next_page_token"]  # continues the wait, here or elsewhere
        assert answered_in < ANSWERED_WITHIN_SECONDS, answered_in
        assert code == 0, _logs(tmp_path)
        assert took < STOP_WITHIN_SECONDS, (took, _logs(tmp_path))
        assert "Traceback" not in _logs(tmp_path), _logs(tmp_path)


async def test_more_signals_change_nothing(database_url: str, tmp_path: Path) -> None:
    async with ServerProcess(database_url, tmp_path) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
            poll = _poll(http, "workflow", IDLE, "twice")
            await _parked(http, IDLE, ("workflow", "twice"))
            signalled = time.monotonic()
            # A signal sent while the same one is pending is merged into it by the
            # kernel; a different one is not, so the second handled signal is certain.
            os.kill(server.pid, signal.SIGTERM)
            os.kill(server.pid, signal.SIGINT)
            answer = await poll
            with contextlib.suppress(ProcessLookupError):  # and one more while it stops
                os.kill(server.pid, signal.SIGTERM)
            code, took = await _stopped(server, signalled)
        _empty(answer)
        assert code == 0, _logs(tmp_path)
        assert took < STOP_WITHIN_SECONDS, (took, _logs(tmp_path))
        logs = _logs(tmp_path)
        assert "Traceback" not in logs and " 500" not in logs, logs
        assert ": already stopping" in logs, logs


async def test_a_task_written_before_the_signal_is_delivered_once_across_the_restart(
    database_url: str, tmp_path: Path
) -> None:
    def start(workflow_id: str) -> dict[str, object]:
        return {"workflow_id": workflow_id, "workflow_type": {"name": "W"}, "task_queue": "q"}

    async with ServerProcess(database_url, tmp_path) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
            # One task handed to a waiting poll, one left queued, and a poll open on
            # the queue when the signal comes (it finds nothing: both are taken or kept).
            handed_to = _poll(http, "workflow", "q", "before")
            await _parked(http, "q", ("workflow", "before"))
            assert (await http.post(f"{NS}/workflows", json=start("handed"))).status_code == 200
            handed = await handed_to
            assert handed.json()["workflow_execution"]["workflow_id"] == "handed"
            assert (await http.post(f"{NS}/workflows", json=start("queued"))).status_code == 200
            open_poll = _poll(http, "activity", "q", "at-the-signal")
            await _parked(http, "q", ("activity", "at-the-signal"))
            os.kill(server.pid, signal.SIGTERM)
            _empty(await open_poll)
            code, _ = await _stopped(server, time.monotonic())
            assert code == 0, _logs(tmp_path)

        await server.start()
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
            poll = {"identity": "after", "wait_timeout": "1s"}
            first = await http.post(f"{NS}/task-queues/q/workflow-tasks/poll", json=poll)
            assert first.json()["workflow_execution"]["workflow_id"] == "queued"
            again = await http.post(f"{NS}/task-queues/q/workflow-tasks/poll", json=poll)
            _empty(again)  # neither task comes twice
        assert "Traceback" not in _logs(tmp_path), _logs(tmp_path)
