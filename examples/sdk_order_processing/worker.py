"""Run the SDK order-processing worker against the gateway's gRPC door:

    .venv/bin/python -m examples.sdk_order_processing.worker --target 127.0.0.1:7233

Ctrl-C or SIGTERM stops it (the SDK finishes its tasks in flight and tells the server)."""

from __future__ import annotations

import argparse
import asyncio
import signal

from temporalio.client import Client
from temporalio.worker import Worker

from examples.sdk_order_processing.workflow import (
    ACTIVITIES,
    TASK_QUEUE,
    OrderProcessingWorkflow,
)


def worker(client: Client, task_queue: str = TASK_QUEUE) -> Worker:
    return Worker(
        client, task_queue=task_queue, workflows=[OrderProcessingWorkflow], activities=ACTIVITIES
    )


async def _main(args: argparse.Namespace) -> None:
    client = await Client.connect(args.target, namespace=args.namespace)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    # Leaving the block shuts the worker down: ShutdownWorker, then its polls end.
    async with worker(client, args.task_queue):
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="127.0.0.1:7233")
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--task-queue", default=TASK_QUEUE)
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
