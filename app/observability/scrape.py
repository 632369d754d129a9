"""The text of GET /metrics: the task-queue backlog read from the database as the
scrape asks for it, then the app's registry in Prometheus's text format."""

from __future__ import annotations

from prometheus_client import generate_latest
from sqlalchemy import func, select

from app.context import AppContext
from app.db.tables import NamespaceRow, TaskRow, table_of

_TASKS = table_of(TaskRow)
_NAMESPACES = table_of(NamespaceRow)
# One grouped count over the tasks table's queue index: a scrape every 15 s reads it
# whole (13,500 tasks ~1 ms), where keeping a count per queue would add a write to every
# task's write and claim. The database's count is every process's: on PostgreSQL each
# gateway reports the same figure (docs/metrics.md: aggregate with max, not sum).
_BACKLOG = (
    select(_NAMESPACES.c.name, _TASKS.c.task_queue, _TASKS.c.task_type, func.count())
    .select_from(_TASKS.join(_NAMESPACES, _NAMESPACES.c.id == _TASKS.c.namespace_id))
    .group_by(_TASKS.c.namespace_id, _TASKS.c.task_queue, _TASKS.c.task_type, _NAMESPACES.c.name)
)


async def exposition(ctx: AppContext) -> bytes:
    metrics = ctx.metrics
    # A scan: on SQLite it runs on a thread of its own, not on the event loop's.
    async with ctx.db.read(scan=True) as session:
        rows = (await session.execute(_BACKLOG)).all()
    metrics.backlog.rows = [(name, queue, kind, int(count)) for name, queue, kind, count in rows]
    return generate_latest(metrics.registry)
