"""The official Python SDK's Worker and Client against the real server process: kill -9
with workflows completed and others in flight, a restart on the same database and gRPC
port, and the SDK reconnects by itself; every workflow then completes exactly once and
its history replays. The server's clock is real here, so the workflow has no timer: two
activities in sequence, the second held on a gate for half the workflows."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, Worker

from bench.server import free_port
from tests.e2e.server import ServerProcess

pytestmark = pytest.mark.slow
QUEUE = "sdk-restart"
WORKFLOWS = 50
HELD = range(25, WORKFLOWS)  # their second activity waits on the gate across the kill
SCENARIO_SECONDS = 90.0
STEP_SECONDS = 0.05


class Steps:
    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.held_started: set[int] = set()

    @activity.defn(name="first")
    async def first(self, n: int) -> int:
        return n + 1

    @activity.defn(name="second")
    async def second(self, n: int) -> int:
        if n in HELD:
            self.held_started.add(n)
            await self.gate.wait()
        return n * 10


@workflow.defn
class TwoSteps:
    @workflow.run
    async def run(self, n: int) -> int:
        a: int = await workflow.execute_activity(
            "first", n, start_to_close_timeout=timedelta(seconds=5)
        )
        b: int = await workflow.execute_activity(
            "second", n, start_to_close_timeout=timedelta(seconds=5)
        )
        return a + b


def _expected(n: int) -> int:
    return n + 1 + n * 10


async def _until(condition: Callable[[], Awaitable[bool]]) -> None:
    """Until ``condition()`` is true, in short bounded steps (as tests/e2e/server.py
    waits for the boot); the scenario's timeout bounds it as well."""
    for _ in range(int(SCENARIO_SECONDS / STEP_SECONDS)):
        if await condition():
            return
        await asyncio.sleep(STEP_SECONDS)
    raise AssertionError("the condition never held")


async def _completed(handles: list[WorkflowHandle[TwoSteps, int]]) -> int:
    statuses = await asyncio.gather(*(h.describe() for h in handles))
    return sum(d.status == WorkflowExecutionStatus.COMPLETED for d in statuses)


async def test_sdk_worker_and_client_survive_a_kill_9_of_the_server(
    database_url: str, tmp_path: Path
) -> None:
    grpc_port = free_port()
    steps = Steps()
    async with ServerProcess(database_url, tmp_path, {"grpc_port": str(grpc_port)}) as server:
        client = await Client.connect(f"127.0.0.1:{grpc_port}")
        worker = Worker(
            client,
            task_queue=QUEUE,
            workflows=[TwoSteps],
            activities=[steps.first, steps.second],
            workflow_runner=UnsandboxedWorkflowRunner(),
        )
        try:
            async with asyncio.timeout(SCENARIO_SECONDS), worker:
                handles = [
                    await client.start_workflow(
                        TwoSteps.run,
                        n,
                        id=f"sdk-restart-{n}",
                        task_queue=QUEUE,
                        task_timeout=timedelta(seconds=2),
                    )
                    for n in range(WORKFLOWS)
                ]
                free = handles[: HELD.start]

                async def before_kill() -> bool:
                    return len(steps.held_started) == len(HELD) and (
                        await _completed(free) == len(free)
                    )

                await _until(before_kill)  # the free ones done, the held ones in flight
                server.kill()
                await server.start()  # same database, same gRPC port
                steps.gate.set()
                results = await asyncio.gather(*(h.result() for h in handles))
                assert results == [_expected(n) for n in range(WORKFLOWS)]

                histories = [await h.fetch_history() for h in handles]
        except BaseException:
            print(server.logs())
            raise

    for n, history in enumerate(histories):
        kinds = Counter(EventType.Name(e.event_type) for e in history.events)
        assert kinds["EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"] == 1, (n, kinds)
        assert kinds["EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"] == 2, (n, kinds)
        completed = [
            e.activity_task_completed_event_attributes.scheduled_event_id
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
        ]
        assert sorted(completed) == sorted(set(completed)) and len(completed) == 2, (n, kinds)

    replayer = Replayer(workflows=[TwoSteps], workflow_runner=UnsandboxedWorkflowRunner())
    for history in histories:
        replayed = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert replayed.replay_failure is None, (history.workflow_id, replayed.replay_failure)
