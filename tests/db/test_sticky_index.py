"""ShutdownWorker finds the runs sticky to the worker's queue through the partial index
of sticky runs, not by reading every run (SQLite's plan; PostgreSQL's generic plan has
the same need for the statement's explicit ``!= ''``)."""

from __future__ import annotations

import sqlite3

import pytest
from fastapi import FastAPI
from sqlalchemy.dialects import sqlite

from app.services.sticky_queues import _STICKY_RUNS
from tests.conftest import BACKEND
from tests.db.test_planner_statistics import database_path

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's planner")


def test_sticky_runs_are_found_through_their_index(app: FastAPI) -> None:
    compiled = _STICKY_RUNS.clause.compile(dialect=sqlite.dialect())
    parameters = {**compiled.params, "namespace_id": "ns", "queue": "host-1-sticky"}
    ordered = [parameters[name] for name in compiled.positiontup or ()]
    with sqlite3.connect(database_path(app)) as connection:
        rows = connection.execute(f"EXPLAIN QUERY PLAN {compiled}", ordered).fetchall()
    plan = "\n".join(str(row[-1]) for row in rows)
    assert "ix_executions_ns_sticky" in plan, plan
