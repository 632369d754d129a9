"""SQLite's query planner picks an index by how selective it is only when it has
statistics (sqlite_stat1). Without them a list query such as WorkflowId = 'x' walks the
whole start-time index, in time that grows with the table (35 ms on 20,000 executions),
instead of reading one primary-key entry. PostgreSQL gathers its own (autovacuum); on
SQLite this loop runs ANALYZE, sampling at most ANALYSIS_LIMIT rows per index so it
takes milliseconds at any size, once at start and whenever the executions table has
doubled since."""

from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy import text

from app.services.dependencies import HasClock, HasDb
from app.services.loops import Loop

log = logging.getLogger(__name__)
# A point read of max(rowid) every few seconds: a fresh database filling fast (the
# bench starts thousands of runs a second) has statistics within seconds, not a minute.
CHECK_SECONDS = 5.0
ANALYSIS_LIMIT = 1000
MIN_ROWS = 100


class Analyzing(HasDb, HasClock, Protocol):
    """The database to analyze, and the clock the loop sleeps on."""


class PlannerStatistics(Loop):
    name = "planner-statistics"

    def __init__(self, ctx: Analyzing) -> None:
        super().__init__(ctx.clock)
        self.db = ctx.db
        self.analyzed_at = 0  # executions (by rowid, which only grows) at the last ANALYZE

    async def run_once(self) -> float:
        async with self.db.read() as session:
            rows = (await session.execute(text("SELECT max(rowid) FROM executions"))).scalar()
        rows = int(rows or 0)
        if rows >= MIN_ROWS and rows >= 2 * self.analyzed_at:
            async with self.db.write() as uow:
                await uow.session.execute(text(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}"))
                await uow.session.execute(text("ANALYZE"))
            log.info("planner statistics gathered at %d executions", rows)
            self.analyzed_at = rows
        return CHECK_SECONDS
