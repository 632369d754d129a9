"""Workflow starts over gRPC through the official Python SDK's client (temporalio), the
same code against the gateway's gRPC door and Temporal's dev server: ``CLIENTS`` SDK
clients, each one HTTP/2 connection, shared round-robin by the load generator's
concurrent callers; starts only, no worker (nothing polls the queue)."""

from __future__ import annotations

import uuid

from bench.load import Sample, drive
from bench.targets import QUEUE, WORKFLOW_TYPE

try:
    from temporalio.client import Client
except ImportError:  # the SDK is optional: without it the table says "—"
    AVAILABLE = False
else:
    AVAILABLE = True

# How many SDK clients (connections) the callers share, the same on both sides. One, as
# the SDK is meant to be used (one client per process, its calls multiplexed on one
# HTTP/2 connection). Measured at 16 callers with 1, 2 and 4 (docs/performance.md, tenth
# round): the gateway did best with one; Temporal was a few per cent faster with four,
# well inside its run-to-run spread.
CLIENTS = 1


async def starts(
    address: str, total: int, concurrency: int, connections: int = CLIENTS
) -> Sample | None:
    """``total`` starts on unique ids from ``concurrency`` callers, after an untimed
    warm-up of ``concurrency`` starts; None when the SDK is not installed."""
    if not AVAILABLE:
        return None
    clients = [await Client.connect(address) for _ in range(connections)]
    run = uuid.uuid4().hex[:8]

    async def one(n: int, phase: str = "t") -> bool:
        try:
            await clients[n % connections].start_workflow(
                WORKFLOW_TYPE, id=f"grpc-{run}-{phase}{n}", task_queue=QUEUE
            )
        except Exception:  # a failed start is counted, as a non-200 is over HTTP
            return False
        return True

    await drive(lambda n: one(n, "w"), concurrency, concurrency)
    return await drive(one, total, concurrency)
