"""gRPC and HTTP pollers share one matcher across gateway processes on one PostgreSQL:
a task written through one process's door reaches a poll waiting on the other's, either
way round, and an SDK worker's sticky queue on one process gets the tasks that another
process's writes schedule for it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from temporalio import workflow
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import PollWorkflowTaskQueueRequest
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from bench.server import free_port
from tests.conftest import BACKEND
from tests.e2e.server import ServerProcess, long_polls_waiting

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(BACKEND != "postgres", reason="several processes need PostgreSQL"),
]
NS = "/api/v1/namespaces/default"
WITHIN = 30.0


@workflow.defn(name="TwoSignals")
class TwoSignals:
    def __init__(self) -> None:
        self.seen: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: len(self.seen) == 2)
        return self.seen

    @workflow.signal
    def poke(self, value: str) -> None:
        self.seen.append(value)


async def _two_processes(database_url: str, tmp_path: Path) -> tuple[ServerProcess, ServerProcess]:
    a = ServerProcess(database_url, tmp_path / "a", {"grpc_port": str(free_port())})
    b = ServerProcess(database_url, tmp_path / "b", {"grpc_port": str(free_port())})
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    return a, b


def _grpc(server: ServerProcess) -> str:
    return f"127.0.0.1:{server.settings['grpc_port']}"


async def test_a_task_written_through_one_process_reaches_the_other_doors_poll(
    database_url: str, tmp_path: Path
) -> None:
    a, b = await _two_processes(database_url, tmp_path)
    async with a, b, httpx.AsyncClient(timeout=WITHIN) as http:
        client_a = await Client.connect(_grpc(a))

        # An HTTP poll waiting on B; the start goes through A's gRPC door.
        polling = asyncio.ensure_future(
            http.post(
                f"{b.base_url}{NS}/task-queues/http-side/workflow-tasks/poll",
                json={"identity": "http-worker", "wait_timeout": "25s"},
            )
        )
        await long_polls_waiting(b, "workflow", 1)
        await client_a.start_workflow("W", id="grpc-to-http", task_queue="http-side")
        task = (await asyncio.wait_for(polling, WITHIN)).json()
        assert task["workflow_execution"]["workflow_id"] == "grpc-to-http"

        # A gRPC poll waiting on A; the start goes through B's REST door.
        request = PollWorkflowTaskQueueRequest(
            namespace="default", task_queue=TaskQueue(name="grpc-side"), identity="sdk-like"
        )
        grpc_poll = asyncio.ensure_future(
            client_a.workflow_service.poll_workflow_task_queue(
                request, timeout=timedelta(seconds=25)
            )
        )
        await long_polls_waiting(a, "workflow", 1)
        started = await http.post(
            f"{b.base_url}{NS}/workflows",
            json={
                "workflow_id": "http-to-grpc",
                "workflow_type": {"name": "W"},
                "task_queue": {"name": "grpc-side"},
            },
        )
        assert started.status_code in (200, 201), started.text
        answer = await asyncio.wait_for(grpc_poll, WITHIN)
        assert answer.workflow_execution.workflow_id == "http-to-grpc"


async def test_an_sdk_workers_sticky_queue_gets_the_tasks_another_process_schedules(
    database_url: str, tmp_path: Path
) -> None:
    a, b = await _two_processes(database_url, tmp_path)
    async with a, b, httpx.AsyncClient(timeout=WITHIN) as http:
        client_a = await Client.connect(_grpc(a))
        worker = Worker(
            client_a,
            task_queue="sticky-across",
            workflows=[TwoSignals],
            workflow_runner=UnsandboxedWorkflowRunner(),
        )
        async with worker:
            handle = await client_a.start_workflow(
                TwoSignals.run, id="sticky-across", task_queue="sticky-across"
            )
            for value in ("one", "two"):  # written by B, for A's sticky poll
                sent = await http.post(
                    f"{b.base_url}{NS}/workflows/sticky-across/signal",
                    json={"signal_name": "poke", "input": value},
                )
                assert sent.status_code == 200, sent.text
            assert await asyncio.wait_for(handle.result(), WITHIN) == ["one", "two"]
        history = await handle.fetch_history()
        kinds = [
            e.workflow_task_scheduled_event_attributes.task_queue.kind
            for e in history.events
            if e.HasField("workflow_task_scheduled_event_attributes")
        ]
        assert 2 in kinds[1:]  # TASK_QUEUE_KIND_STICKY: served by A's sticky poll
