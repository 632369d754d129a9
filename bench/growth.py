"""``python -m bench growth``: how the cost of a call grows with what lies behind it.

Three tables, each from the real server on a fresh database:

1. executions: the database is seeded (as ``bench visibility`` seeds it) to 1k, 10k,
   100k and 1M executions; at each size a new server measures start latency (one client)
   and list latency (a selective filter; the first page of an empty query).
2. history: one run is grown to 10, 100, 1,000 and 10,000 events with signals; the first
   page (256 events) and the whole history (every page) are read.
3. task queues: 1, 10, 100 and 1,000 queues each hold a waiting task; a start on one more
   queue is timed to the poll already waiting there (dispatch).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from app.db.database import Database
from app.db.tables import NamespaceRow
from bench import Benchmark
from bench.load import Http, Sample, drive
from bench.server import GATEWAY_SETTINGS, ServerProcess
from bench.suite import dispatch_latency
from bench.targets import NAMESPACE
from bench.visibility import (
    BATCH,
    SEED,
    SELECTIVE,
    SELECTIVE_SINCE,
    Expected,
    RowGenerator,
    fresh_database,
    seed,
    write_batch,
)
from bench.visibility import (
    NAMESPACE as VISIBILITY_NAMESPACE,
)

EXECUTIONS = (1_000, 10_000, 100_000, 1_000_000)
HISTORY_EVENTS = (10, 100, 1_000, 10_000)
TASK_QUEUES = (1, 10, 100, 1_000)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", help="PostgreSQL server URL (default: SQLite file)")
    parser.add_argument(
        "--max-executions", type=int, default=EXECUTIONS[-1], help="largest database size"
    )
    parser.add_argument("--samples", type=int, default=100, help="timed calls per figure")


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-growth-") as tmp:
        workdir = Path(tmp)
        sizes = [n for n in EXECUTIONS if n <= args.max_executions]
        with fresh_database(args.database_url, workdir, keep=False) as url:
            rows = asyncio.run(_executions(url, workdir, sizes, args.samples))
        print(_table(["executions", "start p50 ms", "start p99 ms", "selective list p50 ms",
                      "broad list p50 ms"], rows))  # fmt: skip
        with (
            fresh_database(args.database_url, workdir, keep=False) as url,
            ServerProcess(url, workdir / "history.log", GATEWAY_SETTINGS) as server,
        ):
            rows = asyncio.run(_history(server.base_url, args.samples))
        print(_table(["events", "first page p50 ms", "whole history p50 ms",
                      "whole history µs/event"], rows))  # fmt: skip
        with (
            fresh_database(args.database_url, workdir, keep=False) as url,
            ServerProcess(url, workdir / "queues.log", GATEWAY_SETTINGS) as server,
        ):
            rows = asyncio.run(_queues(server.base_url, args.samples))
        print(_table(["task queues", "written→poll p50 ms", "written→poll p99 ms",
                      "start sent→poll p50 ms", "start sent→poll p99 ms"], rows))  # fmt: skip
    return 0


BENCHMARK = Benchmark(
    name="growth",
    help="start/list latency as executions grow to 1M, history reads to 10,000 events, "
    "dispatch as task queues grow to 1,000",
    configure=configure,
    run=run,
)


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = [head, ["---"] * len(head), *rows]
    return "\n" + "\n".join("| " + " | ".join(cells) + " |" for cells in lines) + "\n"


def _ms(sample: Sample, p: float) -> str:
    return f"{sample.percentile(p) * 1000:,.1f}"


async def _executions(url: str, workdir: Path, sizes: list[int], samples: int) -> list[list[str]]:
    now = datetime.now(UTC).replace(microsecond=0)
    await seed(url, 0, now, None)  # schema, namespace and its search attributes
    generator = RowGenerator(await _namespace_id(url), now, SEED)
    since = (now - SELECTIVE_SINCE).strftime("%Y-%m-%dT%H:%M:%SZ")
    selective = SELECTIVE.format(since=since)
    seeded, rows = 0, []
    for size in sizes:
        await _seed_more(url, generator, seeded, size)
        seeded = size
        log = workdir / f"executions-{size}.log"
        with ServerProcess(url, log, GATEWAY_SETTINGS) as server:
            base = f"{server.base_url}{NAMESPACE}"
            async with Http(base_url=base, timeout=120) as http:
                prefix = f"growth-{size}"
                starts = await _timed(
                    lambda n, p=prefix: _start(http, f"{p}-{n}", "growth"), samples
                )
                listed = await _timed(lambda n: _list(http, selective), max(10, samples // 5))
                broad = await _timed(lambda n: _list(http, ""), max(10, samples // 5))
        rows.append([f"{size:,}", _ms(starts, 50), _ms(starts, 99), _ms(listed, 50),
                     _ms(broad, 50)])  # fmt: skip
        print(f"executions {size:,}: done", flush=True)
    return rows


async def _namespace_id(url: str) -> str:
    db = Database(url)
    try:
        async with db.read() as session:
            query = select(NamespaceRow.id).where(NamespaceRow.name == VISIBILITY_NAMESPACE)
            return str((await session.execute(query)).scalar_one())
    finally:
        await db.close()


async def _seed_more(url: str, generator: RowGenerator, first: int, last: int) -> None:
    db = Database(url, sqlite_synchronous="NORMAL")
    try:
        expected = Expected()
        for start in range(first, last, BATCH):
            batch = generator.batch(start, min(BATCH, last - start), expected)
            await write_batch(db, batch)
    finally:
        await db.close()


async def _timed(call: Callable[[int], Awaitable[bool]], samples: int) -> Sample:
    sample = await drive(call, samples, 1)
    if sample.failures:
        raise SystemExit(f"{sample.failures} calls failed")
    return sample


async def _start(http: Http, workflow_id: str, queue: str) -> bool:
    response = await http.post(
        "/workflows",
        json={
            "workflow_id": workflow_id,
            "workflow_type": {"name": "Growth"},
            "task_queue": {"name": queue},
        },
    )
    return response.status == 200


async def _list(http: Http, query: str) -> bool:
    response = await http.get("/workflows", params={"query": query, "page_size": "100"})
    return response.status == 200


async def _history(base_url: str, samples: int) -> list[list[str]]:
    rows = []
    async with Http(base_url=f"{base_url}{NAMESPACE}", timeout=120) as http:
        for events in HISTORY_EVENTS:
            workflow_id = f"history-{events}-{uuid.uuid4().hex[:6]}"
            assert await _start(http, workflow_id, "history")
            # A start writes two events; each signal one.
            signals = await drive(lambda n, w=workflow_id: _signal(http, w, n), events - 2, 16)
            if signals.failures:
                raise SystemExit(f"{signals.failures} signals failed")
            first = await _timed(lambda n, w=workflow_id: _read(http, w, False), samples)
            whole_samples = max(3, samples // max(1, events // 100))
            whole = await _timed(lambda n, w=workflow_id: _read(http, w, True), whole_samples)
            per_event = whole.percentile(50) * 1e6 / events
            rows.append([f"{events:,}", _ms(first, 50), _ms(whole, 50), f"{per_event:,.0f}"])
            print(f"history {events:,}: done", flush=True)
    return rows


async def _signal(http: Http, workflow_id: str, n: int) -> bool:
    response = await http.post(
        f"/workflows/{workflow_id}/signal", json={"signal_name": "grow", "input": n}
    )
    return response.status == 200


async def _read(http: Http, workflow_id: str, every_page: bool) -> bool:
    token, events = "", 0
    while True:
        response = await http.get(
            f"/workflows/{workflow_id}/history", params={"next_page_token": token}
        )
        if response.status != 200:
            return False
        body = response.body
        events += len(body["history"])
        token = body.get("next_page_token", "")
        if not (every_page and token):
            return events > 0


async def _queues(base_url: str, samples: int) -> list[list[str]]:
    rows, filled = [], 0
    async with Http(connections=64, base_url=f"{base_url}{NAMESPACE}", timeout=120) as http:
        for queues in TASK_QUEUES:
            tag = uuid.uuid4().hex[:6]
            await drive(
                lambda n, tag=tag, f=filled: _start(http, f"fill-{tag}-{n}", f"queue-{f + n}"),
                queues - filled,
                16,
            )
            filled = queues
            began = time.perf_counter()
            dispatch = await dispatch_latency(http, base_url, samples)
            if dispatch.written.failures:
                raise SystemExit(f"{dispatch.written.failures} dispatches failed")
            figures = (dispatch.written, dispatch.requested)
            rows.append([f"{queues:,}", *(_ms(f, p) for f in figures for p in (50, 99))])
            print(f"task queues {queues:,}: done in {time.perf_counter() - began:.0f}s",
                  flush=True)  # fmt: skip
    return rows
