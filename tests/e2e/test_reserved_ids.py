"""Ids with a slash, through a real server with curl: uvicorn decodes %2F into / before
routing, so an id holding one was accepted at start and could never be reached again
(404 "No route"), nor its task queue polled."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import ServerProcess

pytestmark = pytest.mark.slow
NS = "/api/v1/namespaces/default"
WORKFLOW = "orders%2F2024%2F42"
QUEUE = "team%2Fpayments"


async def _curl(base_url: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
    """The answer's JSON; fails unless it is a 200. curl sends the path as written."""
    command = ["curl", "-sS", "--max-time", "30", "-X", method, "-w", "\n%{http_code}"]
    if body is not None:
        command += ["-H", "Content-Type: application/json", "--data-binary", json.dumps(body)]
    process = await asyncio.create_subprocess_exec(
        *command, base_url + path, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    text, _, status = out.decode().rpartition("\n")
    assert status == "200", f"{method} {path}: {status} {text}"
    answer: dict[str, Any] = json.loads(text)
    return answer


async def test_a_workflow_and_a_queue_with_slashes_work_end_to_end(
    database_url: str, tmp_path: Path
) -> None:
    async with ServerProcess(database_url, tmp_path) as server:
        url = server.base_url
        started = await _curl(
            url,
            "POST",
            f"{NS}/workflows",
            {
                "workflow_id": "orders/2024/42",
                "workflow_type": {"name": "Order"},
                "task_queue": "team/payments",
            },
        )
        described = await _curl(url, "GET", f"{NS}/workflows/{WORKFLOW}")
        assert described["execution_info"]["execution"] == {
            "workflow_id": "orders/2024/42",
            "run_id": started["run_id"],
        }
        await _curl(url, "POST", f"{NS}/workflows/{WORKFLOW}/signal", {"signal_name": "go"})
        poll = f"{NS}/task-queues/{QUEUE}/workflow-tasks/poll"
        task = await _curl(url, "POST", poll, {"wait_timeout": "10s"})
        assert task["workflow_execution"]["workflow_id"] == "orders/2024/42"
        complete = {
            "task_token": task["task_token"],
            "commands": [
                {
                    "command_type": "COMPLETE_WORKFLOW_EXECUTION",
                    "complete_workflow_execution_command_attributes": {"result": "paid"},
                }
            ],
        }
        await _curl(url, "POST", f"{NS}/workflow-tasks/complete", complete)
        run = f"{NS}/workflows/{WORKFLOW}/runs/{started['run_id']}"
        assert (await _curl(url, "GET", f"{run}/result"))["result"] == "paid"
