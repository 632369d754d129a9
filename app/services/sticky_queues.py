"""A worker's sticky queue released when it shuts down (ShutdownWorker names it): the
runs it had cached stop being sticky, and their tasks waiting there move to the runs' own
queues at once, so the next worker gets them with full history instead of after the
sticky schedule-to-start timeout."""

from __future__ import annotations

from functools import partial
from typing import Protocol

from sqlalchemy import bindparam, delete, select, text

from app.db.database import UnitOfWork
from app.db.statements import Statement
from app.db.tables import ExecutionRow, TaskRow, table_of
from app.engine import sticky as engine
from app.services import run_effects, workflow_tasks
from app.services.dependencies import HasClock, HasDb, HasNamespaces, HasNotifier

_RUNS = table_of(ExecutionRow)
# The last condition lets the partial index (sticky runs only) serve the query: neither
# SQLite nor PostgreSQL's generic plan can tell that the bound queue is not "".
_STICKY_RUNS = Statement(
    select(_RUNS.c.workflow_id, _RUNS.c.run_id).where(
        _RUNS.c.namespace_id == bindparam("namespace_id"),
        _RUNS.c.sticky_task_queue == bindparam("queue"),
        text("executions.sticky_task_queue != ''"),  # the index's own words, not a parameter
    )
)
_TASKS = table_of(TaskRow)
_DROP_TASKS = Statement(
    delete(_TASKS).where(
        _TASKS.c.namespace_id == bindparam("namespace_id"),
        _TASKS.c.task_queue == bindparam("queue"),
        _TASKS.c.task_type == workflow_tasks.TASK_TYPE,
    )
)


class Releasing(HasDb, HasClock, HasNamespaces, HasNotifier, Protocol):
    """The runs sticky to the queue found, each changed in its own transaction."""


async def release(ctx: Releasing, namespace: str, queue: str) -> int:
    """Release the sticky queue ``queue``: how many runs were sticky to it."""
    if not queue:
        return 0
    ns = await ctx.namespaces.get(ctx.db, namespace)
    where = {"namespace_id": ns.id, "queue": queue}
    async with ctx.db.read() as session:
        runs = await _STICKY_RUNS.all(session, where)

    async def release_run(uow: UnitOfWork, workflow_id: str, run_id: str) -> None:
        # A run no longer sticky to the queue (it moved on meanwhile) is left as it is.
        release_from = partial(engine.release, queue=queue)
        run_key = (ns.id, workflow_id, run_id)
        await run_effects.change_run(uow, ctx.notifier, run_key, release_from, ctx.clock.now())

    for workflow_id, run_id in runs:
        await ctx.db.run(partial(release_run, workflow_id=workflow_id, run_id=run_id))

    async def drop_tasks(uow: UnitOfWork) -> None:
        # Left on a queue nobody polls: claims would drop them anyway (their runs' tasks
        # have moved), so they are not left to sit there.
        await _DROP_TASKS.run(uow.session, where)

    await ctx.db.run(drop_tasks)
    return len(runs)
