"""The gRPC door of the real server process: what it acknowledged survives kill -9, and
SIGTERM answers a waiting history long poll and exits cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client

from bench.server import free_port
from tests.e2e.server import ServerProcess, long_polls_waiting

pytestmark = pytest.mark.slow
NS = "/api/v1/namespaces/default"
WORKFLOWS = 20
STOP_WITHIN_SECONDS = 5.0
STEP_SECONDS = 0.05


async def test_writes_acknowledged_over_grpc_survive_kill_9(
    database_url: str, tmp_path: Path
) -> None:
    grpc_port = free_port()
    async with ServerProcess(database_url, tmp_path, {"grpc_port": str(grpc_port)}) as server:
        client = await Client.connect(f"127.0.0.1:{grpc_port}")

        async def start_and_signal(n: int) -> str:
            handle = await client.start_workflow(
                "W", {"n": n}, id=f"grpc-crash-{n}", task_queue="q"
            )
            await handle.signal("bump", n)
            assert handle.result_run_id is not None
            return handle.result_run_id

        run_ids = await asyncio.gather(*(start_and_signal(n) for n in range(WORKFLOWS)))
        server.kill()
        await server.start()  # the same database, a new process (and REST port)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            for n, run_id in enumerate(run_ids):
                response = await http.get(f"{NS}/workflows/grpc-crash-{n}/runs/{run_id}/history")
                assert response.status_code == 200, response.text
                events = response.json()["history"]
                kinds = [e["event_type"] for e in events]
                assert kinds.count("WORKFLOW_EXECUTION_SIGNALED") == 1, kinds
                started = events[0]["workflow_execution_started_event_attributes"]
                assert started["input"] == {"n": n}
        again = await Client.connect(f"127.0.0.1:{grpc_port}")
        described = await again.get_workflow_handle("grpc-crash-0").describe()
        assert described.run_id == run_ids[0]


async def test_sigterm_answers_a_waiting_grpc_history_poll(
    database_url: str, tmp_path: Path
) -> None:
    grpc_port = free_port()
    async with ServerProcess(database_url, tmp_path, {"grpc_port": str(grpc_port)}) as server:
        client = await Client.connect(f"127.0.0.1:{grpc_port}")
        handle = await client.start_workflow("W", id="watched", task_queue="q")
        request = GetWorkflowExecutionHistoryRequest(
            namespace="default",
            execution=WorkflowExecution(workflow_id="watched", run_id=handle.result_run_id),
            wait_new_event=True,
            history_event_filter_type=2,  # CLOSE_EVENT: nothing comes while the run is open
        )
        waiting = asyncio.create_task(
            client.workflow_service.get_workflow_execution_history(request)
        )
        await long_polls_waiting(server, "history", 1)
        assert not waiting.done()
        signalled = time.monotonic()
        os.kill(server.pid, signal.SIGTERM)
        page = await asyncio.wait_for(waiting, STOP_WITHIN_SECONDS)
        assert not page.history.events
        assert page.next_page_token  # continues the wait, here or on another server
        for _ in range(int(STOP_WITHIN_SECONDS / STEP_SECONDS)):
            if not server.running:
                break
            await asyncio.sleep(STEP_SECONDS)
        took = time.monotonic() - signalled
        code = server.stop()
        logs = server.logs()
    assert code == 0, logs
    assert took < STOP_WITHIN_SECONDS, (took, logs)
    assert "Traceback" not in logs, logs
