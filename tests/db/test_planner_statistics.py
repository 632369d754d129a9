"""On SQLite the gateway gathers planner statistics, so a list by workflow id reads the
primary key instead of walking the start-time index."""

from __future__ import annotations

import sqlite3
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.engine import make_url

from app.services.planner_statistics import MIN_ROWS, PlannerStatistics
from tests.api.worker_client import NS
from tests.conftest import BACKEND, start_body

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="PostgreSQL gathers its own")


def loop_of(app: FastAPI) -> PlannerStatistics:
    (loop,) = [each for each in app.state.ctx.loops if isinstance(each, PlannerStatistics)]
    return loop


def database_path(app: FastAPI) -> str:
    return str(make_url(app.state.ctx.db.url).database)


async def plan_of_list(app: FastAPI, client: httpx.AsyncClient, query: str) -> str:
    """SQLite's plan for the statement a list request runs."""
    captured: list[tuple[str, Any]] = []

    def capture(_c: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM executions" in statement:
            captured.append((statement, parameters))

    # A list by one workflow id runs on the readers, any other on the scanner.
    db = app.state.ctx.db
    engines = {db.reader.sync_engine, db.scanner.sync_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", capture)
    try:
        listed = await client.get(f"{NS}/workflows", params={"query": query})
        assert listed.status_code == 200, listed.text
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", capture)
    statement, parameters = captured[-1]
    with sqlite3.connect(database_path(app)) as connection:
        rows = connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
    return "\n".join(str(row[-1]) for row in rows)


async def start_many(client: httpx.AsyncClient, count: int, prefix: str = "stats") -> None:
    for n in range(count):
        started = await client.post(f"{NS}/workflows", json=start_body(f"{prefix}-{n}"))
        assert started.status_code == 200, started.text


async def test_statistics_make_a_list_by_workflow_id_use_the_primary_key(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await start_many(client, MIN_ROWS + 20)
    query = "WorkflowId = 'stats-7'"
    assert "ix_executions_ns_start" in await plan_of_list(app, client, query)

    await loop_of(app).run_once()

    plan = await plan_of_list(app, client, query)
    assert "workflow_id=?" in plan, plan
    assert "ix_executions_ns_start" not in plan, plan


async def test_statistics_are_gathered_again_only_when_the_table_has_doubled(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    loop = loop_of(app)
    await start_many(client, MIN_ROWS - 1, "a")
    await loop.run_once()
    assert loop.analyzed_at == 0  # too few to matter

    await start_many(client, 1, "b")
    await loop.run_once()
    assert loop.analyzed_at == MIN_ROWS
    await start_many(client, MIN_ROWS - 1, "c")
    await loop.run_once()
    assert loop.analyzed_at == MIN_ROWS
    await start_many(client, 1, "d")
    await loop.run_once()
    assert loop.analyzed_at == 2 * MIN_ROWS
