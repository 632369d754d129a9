"""Shared fixtures: a fresh database per test (a temporary SQLite file, or a new
PostgreSQL database cloned from a migrated template when TEST_DATABASE=postgres), a
manual clock, and an httpx client over the ASGI app inside its lifespan."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from app.clock import ManualClock
from app.db.database import Database
from app.db.migrate import migrate
from app.main import create_app
from app.settings import Settings

# In-process apps must not bind gRPC's fixed 7233 (taken by a real Temporal, or by a
# parallel run): every Settings() a test builds has gRPC off unless the test asks for it.
os.environ.setdefault("TEMPORAL_GATEWAY_GRPC_PORT", "0")

BACKEND = os.environ.get("TEST_DATABASE", "sqlite")
PG_ADMIN_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
_TEMPLATE = f"tg_template_{os.getpid()}"
_counter = itertools.count()


def pytest_report_header() -> str:
    return f"database backend: {BACKEND}"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _pg_url(name: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    return f"{base}/{name}"


def _run_in_thread(coroutine: Any) -> None:
    """Session fixtures are set up while a test's event loop runs; use a loop of their own."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    async def create() -> None:
        await _admin(f'DROP DATABASE IF EXISTS "{_TEMPLATE}" WITH (FORCE)')
        await _admin(f'CREATE DATABASE "{_TEMPLATE}"')
        db = Database(_pg_url(_TEMPLATE))
        await migrate(db)
        await db.close()

    _run_in_thread(create())
    yield _TEMPLATE
    _run_in_thread(_admin(f'DROP DATABASE IF EXISTS "{_TEMPLATE}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file each test copies, instead of migrating its own."""
    path = tmp_path_factory.mktemp("template") / "gateway.db"

    async def create() -> None:
        db = Database(f"sqlite:///{path}")
        await migrate(db)
        await db.close()

    _run_in_thread(create())
    return path


@pytest.fixture
async def database_url(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    if BACKEND == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, tmp_path / "gateway.db")
        yield f"sqlite:///{tmp_path}/gateway.db"
        return
    template = request.getfixturevalue("pg_template")
    name = f"tg_test_{os.getpid()}_{next(_counter)}"
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _pg_url(name)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


# The spec's per-client budgets (100 calls a second, 10 polls at once) would refuse tests
# that drive hundreds of calls on a clock that does not move; the rate-limit tests set
# their own budgets.
ROOMY_LIMITS: dict[str, Any] = {
    "rate_limit_cluster": "1000000/minute",
    "rate_limit_client": "1000000/second",
    "rate_limit_workflow_starts": "1000000/minute",
    "rate_limit_task_queue_operations": "1000000/minute",
    "rate_limit_heartbeats": "1000000/minute",
    "max_concurrent_long_polls": 1000,
    "max_running_executions": 100000,
}


# One partition per task queue keeps task order first-in first-out, which many tests
# read; tests/api/test_partitions.py and the end-to-end servers use the default (4).
IN_PROCESS: dict[str, Any] = {**ROOMY_LIMITS, "task_queue_partitions": 1}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, run_background_loops=False, **IN_PROCESS)


@pytest.fixture
async def app(settings: Settings, clock: ManualClock) -> AsyncIterator[FastAPI]:
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def second_gateway(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """Another gateway on the same database and settings, with a clock of its own, as a
    second process would be (PostgreSQL only: SQLite serves one)."""
    application = create_app(settings, clock=ManualClock())
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://second") as http:
            yield application, http


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        yield http


def start_body(workflow_id: str = "wf-1", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "workflow_id": workflow_id,
        "workflow_type": {"name": "OrderProcessingWorkflow"},
        "task_queue": "order-processing-queue",
        "input": {"order_id": "12345"},
    }
    body.update(overrides)
    return body


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is the spec's error envelope with this status and code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)
    return error


async def wait_until(condition: Callable[[], bool], within: float = 60.0) -> None:
    """Wait (bounded) for the server to reach a state, e.g. a long poll parked on the
    clock. Database I/O runs in threads, so yielding to the loop alone is not enough.
    The bound only stops a broken test from hanging: on a loaded 2-core machine one
    PostgreSQL commit has been seen to take over 5 s."""
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.001)
