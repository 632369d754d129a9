"""Real Temporal end to end through its official Python SDK (temporalio): a workflow of
one trivial activity, the same work the gateway's HTTP worker does in bench/suite.py."""

from __future__ import annotations

import uuid
from datetime import timedelta

from bench.load import Sample, drive

try:
    from temporalio import activity, workflow
    from temporalio.client import Client
    from temporalio.worker import UnsandboxedWorkflowRunner, Worker
except ImportError:  # the SDK is optional: without it the table says "—"
    AVAILABLE = False
else:
    AVAILABLE = True

    @activity.defn(name="Charge")
    async def charge() -> str:
        return "charged"

    @workflow.defn(name="BenchOneActivity")
    class BenchOneActivity:
        @workflow.run
        async def run(self) -> str:
            return await workflow.execute_activity(
                charge, start_to_close_timeout=timedelta(seconds=30)
            )


QUEUE = "bench-e2e"


async def end_to_end(address: str, total: int, concurrency: int) -> Sample | None:
    if not AVAILABLE:
        return None
    client = await Client.connect(address)
    run = uuid.uuid4().hex[:8]
    async with Worker(
        client,
        task_queue=QUEUE,
        workflows=[BenchOneActivity],
        activities=[charge],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):

        async def one(n: int) -> bool:
            result = await client.execute_workflow(
                BenchOneActivity.run, id=f"e2e-{run}-{n}", task_queue=QUEUE
            )
            return result == "charged"

        return await drive(one, total, concurrency)
