"""A long poll whose client has gone ends at once: it claims nothing, and it does not
hold the server's shutdown for its whole window."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import ServerProcess

pytestmark = pytest.mark.slow
POLL = "/api/v1/namespaces/default/task-queues/q/workflow-tasks/poll"


async def test_dropped_poll_claims_nothing_and_does_not_delay_shutdown(
    database_url: str, tmp_path: Path
) -> None:
    server = ServerProcess(database_url, tmp_path)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
            poll = asyncio.create_task(http.post(POLL, json={"wait_timeout": "50s"}))
            await asyncio.sleep(0.5)  # let the poll reach the server and park
            poll.cancel()  # the client goes away
            with contextlib.suppress(asyncio.CancelledError):
                await poll
            await asyncio.sleep(0.5)  # the server notices the disconnect
            started = await http.post(
                "/api/v1/namespaces/default/workflows",
                json={
                    "workflow_id": "after-drop",
                    "workflow_type": {"name": "W"},
                    "task_queue": "q",
                },
            )
            assert started.status_code == 200
            fresh = await http.post(POLL, json={"wait_timeout": "5s"})
            assert fresh.json()["workflow_execution"]["workflow_id"] == "after-drop"
            second = asyncio.create_task(http.post(POLL, json={"wait_timeout": "50s"}))
            await asyncio.sleep(0.5)
            second.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await second
        began = time.monotonic()
        server.stop()
        assert time.monotonic() - began < 5, server.logs()
    finally:
        server.kill()
