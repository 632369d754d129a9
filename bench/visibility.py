"""Visibility benchmark: List and Count over a large ``executions`` table, over HTTP.

1. A fresh database: a SQLite file in a temporary directory, or a new PostgreSQL database
   ``bench_vis_<pid>`` created next to the one ``--database-url`` names (dropped at the
   end unless ``--keep-database``).
2. The app's migrations, the ``default`` namespace (``ensure_default``) and two custom
   search attributes registered in it: ``CustomerId`` (Keyword) and ``Priority`` (Int).
3. N closed and running executions seeded with SQLAlchemy Core ``executemany`` batches
   (rows of ``executions``, ``current_executions`` and ``search_attribute_values``).
4. The real server (``python -m app serve``) on a free loopback port on that database,
   measured with httpx: every figure once to warm up, then ``--runs`` rounds of
   ``--repeat`` samples per figure (fewer once a figure used ``--budget`` seconds in a
   round); the table gives the median and p95 (nearest rank) over all samples.

``--explain`` then prints the plan of each figure's SQL, captured from the app's own
visibility service (``list_executions``/``count_executions``) run in-process on the same
database: SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN (ANALYZE, BUFFERS).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, insert, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.clock import SystemClock
from app.context import AppContext
from app.db.database import Database, async_url, describe_url
from app.db.migrate import migrate
from app.db.tables import CurrentExecutionRow, ExecutionRow, SearchAttributeValueRow, table_of
from app.engine.state import MutableState, WorkflowStatus
from app.payloads import encode_payload
from app.services import namespaces as namespace_service
from app.services import search_attributes, visibility
from app.services.notifier import Notifier
from app.services.tokens import TokenSigner, load_or_create_secret
from app.settings import Settings
from bench import Benchmark
from bench.server import GATEWAY_SETTINGS, ServerProcess

PROJECT_ROOT = Path(__file__).resolve().parents[1]
NAMESPACE = "default"
API = f"/api/v1/namespaces/{NAMESPACE}"
PAGE_SIZE = 100
WALK_PAGES = 20
BATCH = 5_000
SEED = 7233

# The data set. Weights are relative; every run gets both custom attributes.
WORKFLOW_TYPES = [(f"Type{i}", w) for i, w in enumerate([22, 17, 14, 11, 9, 8, 7, 5, 4, 3])]
TASK_QUEUES = ["orders", "payments", "shipping", "notifications"]  # Type<i> -> [i % 4]
STATUSES = [
    ("COMPLETED", 84.0),
    ("RUNNING", 5.0),
    ("FAILED", 6.0),
    ("TERMINATED", 2.5),
    ("CANCELED", 1.5),
    ("TIMED_OUT", 1.0),
]
CUSTOMERS = 1_000  # CustomerId 'c-0' … 'c-999', uniform
PRIORITIES = [(1, 10), (2, 20), (3, 40), (4, 20), (5, 10)]  # Priority value, weight
SPREAD = timedelta(days=30)  # start times over the last 30 days
RECENT = timedelta(days=2)  # where most running runs started
CUSTOM_ATTRIBUTES = {"CustomerId": "Keyword", "Priority": "Int"}

# The figures' filters (the StartTime bound is filled in from the seeding clock).
SELECTIVE = "WorkflowType='Type3' AND ExecutionStatus='Running' AND StartTime > '{since}'"
SELECTIVE_SINCE = timedelta(days=7)
CUSTOMER = "CustomerId='c-42'"
BY_STATUS = "GROUP BY ExecutionStatus"
BY_CLOSE_TIME = "ORDER BY CloseTime DESC"

BOOT_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
REQUEST_TIMEOUT_SECONDS = 120.0


# --- Command line --------------------------------------------------------------------------


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        help="where to create the fresh database: postgresql://user@host:port/db (a new "
        "database bench_vis_<pid> is created on that server and dropped afterwards) or "
        "sqlite:///new-file.db; default: a SQLite file in a temporary directory",
    )
    parser.add_argument(
        "--executions", type=int, default=100_000, help="runs to seed (default 100000)"
    )
    parser.add_argument("--runs", type=int, default=3, help="rounds over all figures (default 3)")
    parser.add_argument(
        "--repeat", type=int, default=10, help="samples per figure in each round (default 10)"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=5.0,
        help="seconds per figure and round after which it is sampled no more in that round "
        "(at least once; default 5)",
    )
    parser.add_argument(
        "--analyze",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="refresh planner statistics after seeding (default: VACUUM ANALYZE on "
        "PostgreSQL, as autovacuum soon would; nothing on SQLite, where nothing in the app "
        "ever runs ANALYZE)",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="also print each figure's query plan (EXPLAIN QUERY PLAN on SQLite, EXPLAIN "
        "(ANALYZE, BUFFERS) on PostgreSQL)",
    )
    parser.add_argument(
        "--keep-database",
        action="store_true",
        help="keep the seeded database (and print its URL) instead of deleting it",
    )


def run(args: argparse.Namespace) -> int:
    for name in ("executions", "runs", "repeat"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name} must be at least 1")
    if args.budget <= 0:
        raise SystemExit("--budget must be positive")
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-vis-")))
        url = stack.enter_context(fresh_database(args.database_url, workdir, args.keep_database))
        return _benchmark(args, url, workdir)


BENCHMARK = Benchmark(
    name="visibility",
    help="List/Count latency over HTTP on a database seeded with N executions",
    configure=configure,
    run=run,
)


def _benchmark(args: argparse.Namespace, url: str, workdir: Path) -> int:
    now = datetime.now(UTC).replace(microsecond=0)
    seeded = asyncio.run(seed(url, args.executions, now, args.analyze))
    print(seeded.describe(), flush=True)
    figures = build_figures(now)
    load_before = os.getloadavg()[0]
    with ServerProcess(url, workdir / "server.log", GATEWAY_SETTINGS) as server:
        print(f"server: {server.base_url} (pid {server.pid})", flush=True)
        with httpx.Client(base_url=server.base_url, timeout=REQUEST_TIMEOUT_SECONDS) as client:
            results = measure(client, figures, args.runs, args.repeat, args.budget)
    load_after = os.getloadavg()[0]
    print()
    where = describe_url(url) if args.database_url or args.keep_database else "temporary file"
    print(header(where, args.executions, seeded, args.runs, args.repeat, args.budget))
    # Client and server share the machine; other load skews the figures.
    print(f"load:       {load_before:.2f} before, {load_after:.2f} after (1-minute average)")
    print()
    print(table(results))
    problems = check(results, seeded.expected)
    for problem in problems:
        print(f"MISMATCH: {problem}", file=sys.stderr)
    if args.explain:
        print()
        for name, plan in asyncio.run(explain(url, now)):
            print(f"-- {name}")
            print(plan)
            print()
    if args.keep_database:
        print(f"database kept: {describe_url(url)}")
    return 1 if problems else 0


# --- The fresh database --------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(requested: str | None, workdir: Path, keep: bool) -> Iterator[str]:
    """The URL of a new, empty database, removed afterwards unless ``keep``."""
    if requested is None:
        directory = Path(tempfile.mkdtemp(prefix="bench-vis-db-")) if keep else workdir
        yield f"sqlite:///{directory / 'visibility.db'}"
        return
    url = make_url(requested)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        if not url.database or url.database == ":memory:" or path.exists():
            raise SystemExit(f"{requested}: give the path of a SQLite file that does not exist")
        try:
            yield requested
        finally:
            if not keep:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    if url.get_backend_name() not in ("postgresql", "postgres"):
        raise SystemExit(f"{requested}: expected a postgresql:// or sqlite:/// URL")
    name = f"bench_vis_{os.getpid()}"
    asyncio.run(_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(_admin(url, f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    finally:
        if not keep:
            asyncio.run(_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(url: URL, sql: str) -> None:
    engine = create_async_engine(
        async_url(url.render_as_string(hide_password=False)),
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
    )
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql(sql)
    finally:
        await engine.dispose()


# --- Seeding -------------------------------------------------------------------------------


@dataclass
class Expected:
    """What the figures must answer, counted while generating the rows."""

    total: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    selective: int = 0
    customer: int = 0


@dataclass
class Seeded:
    executions: int
    values: int  # search_attribute_values rows (current_executions: one per execution)
    migrate_seconds: float
    seed_seconds: float
    analyze: str  # what was run after seeding, "" if nothing
    analyze_seconds: float
    server_version: str
    expected: Expected

    @property
    def rows_per_second(self) -> float:
        return (2 * self.executions + self.values) / self.seed_seconds

    def describe(self) -> str:
        after = (
            f"{self.analyze} {self.analyze_seconds:.1f} s"
            if self.analyze
            else "no ANALYZE (planner statistics as the app leaves them)"
        )
        return (
            f"seeded {self.executions:,} executions (+ as many current_executions and "
            f"{self.values:,} search_attribute_values rows) in {self.seed_seconds:.1f} s "
            f"({self.rows_per_second:,.0f} rows/s, "
            f"batches of {BATCH:,}); migrations {self.migrate_seconds:.1f} s; {after}"
        )


async def write_batch(db: Database, batch: Batch) -> None:
    """One seeded batch in one transaction: the runs, their current-run rows and their
    typed search-attribute values."""
    async with db.writer_transaction() as connection:
        await connection.execute(insert(table_of(ExecutionRow)), batch.executions)
        await connection.execute(insert(table_of(CurrentExecutionRow)), batch.current)
        await connection.execute(insert(table_of(SearchAttributeValueRow)), batch.values)


async def seed(url: str, n: int, now: datetime, analyze: bool | None) -> Seeded:
    # The seeding connection may skip fsync per commit; the server uses its own settings.
    db = Database(url, sqlite_synchronous="NORMAL")
    try:
        started = time.perf_counter()
        await migrate(db)
        migrated = time.perf_counter()
        async with db.write() as uow:
            cluster = Settings.model_fields["cluster_name"].default
            await namespace_service.ensure_default(uow.session, cluster, now)
            ns = await namespace_service.get_by_name(uow.session, NAMESPACE)
            search_attributes.add(ns, CUSTOM_ATTRIBUTES)
            uow.session.add(ns)
            namespace_id = ns.id
        expected = Expected()
        values = 0
        generator = RowGenerator(namespace_id, now, SEED)
        seed_started = time.perf_counter()
        for first in range(0, n, BATCH):
            batch = generator.batch(first, min(BATCH, n - first), expected)
            await write_batch(db, batch)
            values += len(batch.values)
        seeded = time.perf_counter()
        analyze = db.dialect == "postgresql" if analyze is None else analyze
        command = ""
        if analyze and db.dialect == "postgresql":
            command = "VACUUM ANALYZE"  # outside a transaction
            async with db.writer.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.exec_driver_sql(command)
        elif analyze:
            command = "ANALYZE"
            async with db.writer_transaction() as connection:
                await connection.exec_driver_sql(command)
        analyzed = time.perf_counter()
        async with db.read() as session:
            if db.dialect == "postgresql":
                version = "PostgreSQL " + str(
                    (await session.execute(text("SHOW server_version"))).scalar_one()
                )
            else:
                version = f"SQLite {sqlite3.sqlite_version}"
        return Seeded(
            executions=n,
            values=values,
            migrate_seconds=migrated - started,
            seed_seconds=seeded - seed_started,
            analyze=command,
            analyze_seconds=analyzed - seeded,
            server_version=version,
            expected=expected,
        )
    finally:
        await db.close()


@dataclass
class Batch:
    executions: list[dict[str, Any]]
    current: list[dict[str, Any]]
    values: list[dict[str, Any]]


class RowGenerator:
    """Deterministic rows (one seeded RNG) shaped like what the engine writes."""

    def __init__(self, namespace_id: str, now: datetime, seed: int) -> None:
        self.namespace_id = namespace_id
        self.now = now
        self.rng = random.Random(seed)
        self.types = [name for name, _ in WORKFLOW_TYPES]
        self.type_weights = [weight for _, weight in WORKFLOW_TYPES]
        self.statuses = [name for name, _ in STATUSES]
        self.status_weights = [weight for _, weight in STATUSES]
        self.priorities = [value for value, _ in PRIORITIES]
        self.priority_weights = [weight for _, weight in PRIORITIES]
        self.customer_payloads = [encode_payload(f"c-{k}") for k in range(CUSTOMERS)]
        self.priority_payloads = {p: encode_payload(p) for p in self.priorities}
        self.memos = [
            {"fields": {"source": encode_payload(source), "version": encode_payload("v1.4.2")}}
            for source in ("api", "scheduler", "batch")
        ]
        template = MutableState(
            workflow_id="",
            run_id="",
            workflow_type="",
            task_queue="",
            status=WorkflowStatus.COMPLETED,
            start_time=now,
            workflow_task_timeout=10.0,
            run_timeout=86400.0,
            execution_timeout=86400.0,
        )
        self.state_template = template.to_json()
        self.selective_since = now - SELECTIVE_SINCE

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _times(self, status: str) -> tuple[datetime, datetime | None]:
        rng, now = self.rng, self.now
        if status == "RUNNING":
            window = RECENT if rng.random() < 0.8 else SPREAD
            return now - timedelta(seconds=rng.uniform(1.0, window.total_seconds())), None
        start = now - timedelta(seconds=rng.uniform(60.0, SPREAD.total_seconds()))
        # Most runs take seconds to minutes; a long tail takes hours (capped at a week).
        duration = min(rng.lognormvariate(math.log(45.0), 1.6), 7 * 86400.0)
        close = min(start + timedelta(seconds=duration), now - timedelta(seconds=1))
        return start, close

    def batch(self, first: int, count: int, expected: Expected) -> Batch:
        rng = self.rng
        types = rng.choices(range(len(self.types)), self.type_weights, k=count)
        statuses = rng.choices(self.statuses, self.status_weights, k=count)
        priorities = rng.choices(self.priorities, self.priority_weights, k=count)
        executions: list[dict[str, Any]] = []
        current: list[dict[str, Any]] = []
        values: list[dict[str, Any]] = []
        for i in range(count):
            type_index, status, priority = types[i], statuses[i], priorities[i]
            workflow_type = self.types[type_index]
            task_queue = TASK_QUEUES[type_index % len(TASK_QUEUES)]
            workflow_id = f"wf-{first + i:08d}"
            run_id = self._uuid()
            customer = rng.randrange(CUSTOMERS)
            start, close = self._times(status)
            if close is None:  # a few events so far
                history_length = 3 + int(rng.expovariate(1 / 6))
            else:
                history_length = 5 + int(rng.expovariate(1 / 20))
            state = dict(self.state_template)
            state.update(
                workflow_id=workflow_id,
                run_id=run_id,
                workflow_type=workflow_type,
                task_queue=task_queue,
                status=status,
                start_time=start.isoformat(),
                close_time=close.isoformat() if close is not None else None,
                next_event_id=history_length + 1,
                previous_started_event_id=max(0, history_length - 2),
                first_execution_run_id=run_id,
            )
            executions.append(
                {
                    "namespace_id": self.namespace_id,
                    "workflow_id": workflow_id,
                    "run_id": run_id,
                    "workflow_type": workflow_type,
                    "task_queue": task_queue,
                    "status": status,
                    "start_time": start,
                    "execution_time": start,
                    "close_time": close,
                    "history_length": history_length,
                    "execution_duration_seconds": (
                        (close - start).total_seconds() if close is not None else None
                    ),
                    "first_execution_run_id": run_id,
                    "parent_namespace_id": "",
                    "parent_workflow_id": "",
                    "parent_run_id": "",
                    "root_workflow_id": workflow_id,
                    "root_run_id": run_id,
                    "start_request_id": self._uuid(),
                    "memo": self.memos[type_index % len(self.memos)],
                    "search_attributes": {
                        "indexed_fields": {
                            "CustomerId": self.customer_payloads[customer],
                            "Priority": self.priority_payloads[priority],
                        }
                    },
                    "state": state,
                    "db_version": 1 + history_length // 3,
                }
            )
            current.append(
                {"namespace_id": self.namespace_id, "workflow_id": workflow_id, "run_id": run_id}
            )
            common = {"namespace_id": self.namespace_id, "workflow_id": workflow_id}
            values.append(
                {
                    **common,
                    "run_id": run_id,
                    "name": "CustomerId",
                    "value_type": "Keyword",
                    "keyword_value": f"c-{customer}",
                    "int_value": None,
                }
            )
            values.append(
                {
                    **common,
                    "run_id": run_id,
                    "name": "Priority",
                    "value_type": "Int",
                    "keyword_value": None,
                    "int_value": priority,
                }
            )
            expected.total += 1
            expected.by_status[status] += 1
            if workflow_type == "Type3" and status == "RUNNING" and start > self.selective_since:
                expected.selective += 1
            if customer == 42:
                expected.customer += 1
        return Batch(executions, current, values)


# --- Figures -------------------------------------------------------------------------------


def _get(client: httpx.Client, path: str, params: dict[str, str | int]) -> dict[str, Any]:
    response = client.get(API + path, params=params)
    if response.status_code != 200:
        raise SystemExit(f"GET {path} {params} -> {response.status_code}: {response.text}")
    body: dict[str, Any] = response.json()
    return body


def list_page(client: httpx.Client, query: str, token: str = "") -> dict[str, Any]:
    params: dict[str, str | int] = {"query": query, "page_size": PAGE_SIZE}
    if token:
        params["next_page_token"] = token
    return _get(client, "/workflows", params)


def count(client: httpx.Client, query: str) -> dict[str, Any]:
    return _get(client, "/workflows/count", {"query": query})


@dataclass(frozen=True)
class Figure:
    name: str
    query: str
    kind: str  # "list", "count" or "walk"

    def sample(self, client: httpx.Client) -> str:
        """One timed unit of work; returns what it answered, for the rows column."""
        if self.kind == "count":
            body = count(client, self.query)
            if "groups" in body:
                return f"{len(body['groups'])} groups, {body['count']:,} runs"
            return f"count {body['count']:,}"
        if self.kind == "list":
            return str(len(list_page(client, self.query)["executions"]))
        rows, token = 0, ""
        for _ in range(WALK_PAGES):
            page = list_page(client, self.query, token)
            rows += len(page["executions"])
            token = page["next_page_token"]
            if not token:
                break
        return f"{rows:,} in {WALK_PAGES} pages"


def build_figures(now: datetime) -> list[Figure]:
    since = (now - SELECTIVE_SINCE).strftime("%Y-%m-%dT%H:%M:%SZ")
    selective = SELECTIVE.format(since=since)
    return [
        Figure("(1) list selective: type + Running + StartTime", selective, "list"),
        Figure(f"(2) list custom Keyword: {CUSTOMER}", CUSTOMER, "list"),
        Figure("(3) list broad: empty query, page of 100", "", "list"),
        Figure("(4a) count broad: empty query", "", "count"),
        Figure("(4b) count selective: type + Running + StartTime", selective, "count"),
        Figure(f"(4c) count custom Keyword: {CUSTOMER}", CUSTOMER, "count"),
        Figure(f"(5) count {BY_STATUS}", BY_STATUS, "count"),
        Figure(f"(6) walk {WALK_PAGES} pages of 100, empty query", "", "walk"),
        Figure(f"(7) list {BY_CLOSE_TIME}, page of 100", BY_CLOSE_TIME, "list"),
    ]


@dataclass
class Result:
    figure: Figure
    samples: list[float] = field(default_factory=list)  # seconds
    rows: str = ""

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.samples)  # nearest rank
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] * 1000


def measure(
    client: httpx.Client, figures: list[Figure], runs: int, repeat: int, budget: float
) -> list[Result]:
    """Rounds over all figures (so that drift hits every figure alike); in each round a
    figure is sampled ``repeat`` times, or fewer (at least once) once it used ``budget``
    seconds."""
    results = [Result(figure) for figure in figures]
    for result in results:  # warm-up: caches, the server's first-request paths
        result.rows = result.figure.sample(client)
    for round_number in range(1, runs + 1):
        round_started = time.perf_counter()
        for result in results:
            figure_started = time.perf_counter()
            for _ in range(repeat):
                started = time.perf_counter()
                result.rows = result.figure.sample(client)
                result.samples.append(time.perf_counter() - started)
                if time.perf_counter() - figure_started >= budget:
                    break
        elapsed = time.perf_counter() - round_started
        print(f"round {round_number}/{runs}: {elapsed:.1f} s", flush=True)
    return results


def header(where: str, n: int, seeded: Seeded, runs: int, repeat: int, budget: float) -> str:
    return "\n".join(
        [
            f"database:   {seeded.server_version} ({where})",
            f"executions: {n:,} (+ {seeded.values:,} search attribute values)",
            f"cores:      {os.cpu_count()}",
            f"seed:       {seeded.seed_seconds:.1f} s"
            + (f" (+ {seeded.analyze} {seeded.analyze_seconds:.1f} s)" if seeded.analyze else ""),
            f"samples:    up to {runs * repeat} per figure ({runs} runs x {repeat}, at most "
            f"{budget:g} s per figure and run), after a warm-up",
        ]
    )


def table(results: list[Result]) -> str:
    """A Markdown table (numbers right-aligned)."""
    rows = [["figure", "median ms", "p95 ms", "rows returned", "samples"]]
    rows += [
        [r.figure.name, f"{r.median_ms:.1f}", f"{r.p95_ms:.1f}", r.rows, str(len(r.samples))]
        for r in results
    ]
    numeric = {1, 2, 4}
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]

    def line(cells: list[str]) -> str:
        padded = [
            cell.rjust(width) if i in numeric else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "|".join(
        "-" * (w + 1) + ":" if i in numeric else "-" * (w + 2) for i, w in enumerate(widths)
    )
    return "\n".join([line(rows[0]), f"|{rule}|", *(line(row) for row in rows[1:])])


def check(results: list[Result], expected: Expected) -> list[str]:
    """The answers must match what was seeded (the benchmark measures correct queries)."""
    wanted = {
        "(1)": str(min(PAGE_SIZE, expected.selective)),
        "(2)": str(min(PAGE_SIZE, expected.customer)),
        "(3)": str(min(PAGE_SIZE, expected.total)),
        "(4a)": f"count {expected.total:,}",
        "(4b)": f"count {expected.selective:,}",
        "(4c)": f"count {expected.customer:,}",
        "(5)": f"{len(expected.by_status)} groups, {expected.total:,} runs",
        "(6)": f"{min(PAGE_SIZE * WALK_PAGES, expected.total):,} in {WALK_PAGES} pages",
        "(7)": str(min(PAGE_SIZE, expected.total)),
    }
    problems = []
    for result in results:
        label = result.figure.name.split(" ", 1)[0]
        if label in wanted and result.rows != wanted[label]:
            problems.append(f"{result.figure.name}: got {result.rows!r}, seeded {wanted[label]!r}")
    return problems


# --- Query plans ---------------------------------------------------------------------------


async def explain(url: str, now: datetime) -> list[tuple[str, str]]:
    """Each figure's plan, for the SQL the app's visibility service runs (the last
    statement on ``executions`` of the figure: for the walk, its last page)."""
    ctx = AppContext(
        settings=Settings(database_url=url),
        db=Database(url),
        clock=SystemClock(),
        notifier=Notifier(),
    )
    try:
        async with ctx.db.write() as uow:
            ctx.tokens = TokenSigner(await load_or_create_secret(uow.session))
        async with ctx.db.read() as session:
            ns = await namespace_service.get_by_name(session, NAMESPACE)
        plans: list[str] = []
        capturing = False
        postgres = ctx.db.dialect == "postgresql"
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "

        def before_cursor_execute(
            connection: Any, cursor: Any, statement: str, parameters: Any, *_: Any
        ) -> None:
            if not capturing or "FROM executions" not in statement:
                return
            probe = connection.connection.cursor()
            try:
                probe.execute(prefix + statement, parameters)
                plans.append(_format_plan(list(probe.fetchall()), postgres))
            finally:
                probe.close()

        for engine in {ctx.db.reader, ctx.db.scanner}:  # by one workflow id on the readers
            event.listen(engine.sync_engine, "before_cursor_execute", before_cursor_execute)

        async def walk(query: str) -> None:
            token = ""
            for _ in range(WALK_PAGES):
                _, token = await visibility.list_executions(ctx, ns, query, PAGE_SIZE, token)

        async def list_one(query: str) -> None:
            await visibility.list_executions(ctx, ns, query, PAGE_SIZE, "")

        async def count_one(query: str) -> None:
            await visibility.count_executions(ctx, ns, query)

        actions: dict[str, Callable[[str], Awaitable[None]]] = {
            "list": list_one,
            "count": count_one,
            "walk": walk,
        }
        answers: list[tuple[str, str]] = []
        for figure in build_figures(now):
            plans.clear()
            capturing = True
            try:
                await actions[figure.kind](figure.query)
            finally:
                capturing = False
            answers.append((f"{figure.name}  [{figure.query or 'empty query'}]", plans[-1]))
        return answers
    finally:
        await ctx.db.close()


def _format_plan(rows: list[Any], postgres: bool) -> str:
    if postgres:
        return "\n".join(str(row[0]) for row in rows)
    depth: dict[int, int] = {0: -1}
    lines = []
    for node, parent, _, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + str(detail))
    return "\n".join(lines)
