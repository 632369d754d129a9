"""End to end through the official Python SDK (temporalio): the same worker program and
client, a workflow of one trivial activity (the work the gateway's HTTP worker does in
bench/suite.py), against any gRPC WorkflowService address: the gateway's gRPC door or
Temporal's dev server. A hang cannot stall the bench: every workflow has a deadline, the
whole run has one, and the worker's shutdown is waited for a bounded time."""

from __future__ import annotations

import asyncio
import contextlib
import time
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


# One workflow's start→result may take this long before it counts as failed; the whole
# run (connect, worker start, all workflows) this long before every unfinished workflow
# counts as failed; the worker's shutdown is waited for this long, then abandoned.
WORKFLOW_TIMEOUT_SECONDS = 30.0
RUN_TIMEOUT_SECONDS = 120.0
SHUTDOWN_TIMEOUT_SECONDS = 15.0


async def end_to_end(
    address: str, total: int, concurrency: int, budget_seconds: float = RUN_TIMEOUT_SECONDS
) -> Sample | None:
    """``total`` workflows of one activity, ``concurrency`` in flight, each timed from
    ``execute_workflow`` (start) to its result, one SDK client and one SDK worker (on a
    task queue of its own) in this process; None when the SDK is not installed. A
    workflow that fails, or is not done by its deadline or the run's, is a failure."""
    if not AVAILABLE:
        return None
    deadline = time.monotonic() + budget_seconds
    began = time.perf_counter()
    try:
        client = await asyncio.wait_for(Client.connect(address), min(budget_seconds, 15.0))
    except Exception:  # cannot connect: every workflow failed
        return Sample(total, time.perf_counter() - began, [], total)
    run = uuid.uuid4().hex[:8]
    queue = f"bench-e2e-{run}"
    try:
        worker = Worker(
            client,
            task_queue=queue,
            workflows=[BenchOneActivity],
            activities=[charge],
            workflow_runner=UnsandboxedWorkflowRunner(),
        )
    except Exception:  # no worker: every workflow failed
        return Sample(total, time.perf_counter() - began, [], total)
    running = asyncio.create_task(worker.run())

    async def one(n: int) -> bool:
        left = min(WORKFLOW_TIMEOUT_SECONDS, deadline - time.monotonic())
        if left <= 0 or running.done():
            return False
        try:
            result = await asyncio.wait_for(
                client.execute_workflow(
                    BenchOneActivity.run, id=f"e2e-{run}-{n}", task_queue=queue
                ),
                left,
            )
        except Exception:  # failed or timed out: counted, as a non-200 is over HTTP
            return False
        return bool(result == "charged")

    try:
        return await drive(one, total, concurrency)
    finally:
        await _stop(worker, running)


async def _stop(worker: Worker, running: asyncio.Task[None]) -> None:
    """The SDK's graceful shutdown (polls cancelled), waited for a bounded time."""
    if not running.done():
        shutting = asyncio.create_task(worker.shutdown())
        await asyncio.wait({shutting, running}, timeout=SHUTDOWN_TIMEOUT_SECONDS)
    if not running.done():
        running.cancel()
        await asyncio.wait({running}, timeout=SHUTDOWN_TIMEOUT_SECONDS)
    if running.done() and not running.cancelled():
        with contextlib.suppress(Exception):
            running.result()  # a worker that failed: its workflows are counted failures
