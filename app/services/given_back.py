"""Tasks given back: a poller that claimed a task and left before it was delivered (its
call cancelled, as an SDK worker's polls are when it shuts down) does not hold the task
until a timeout frees it. An activity attempt, whose start history has not seen, goes back
on its queue as if never started; a workflow task, whose WorkflowTaskStarted is already
written, times out at once (the event its start-to-close timeout would write later) and
its next attempt is queued; queries handed to the poller wait for the next one."""

from __future__ import annotations

from functools import partial
from typing import Any, Protocol

from app.db.database import UnitOfWork
from app.engine import activities as engine_activities
from app.engine import timers as engine_timers
from app.engine.state import MutableState, TimerKind, Transition
from app.services import query_store, run_effects
from app.services.dependencies import HasClock, HasDb, HasNamespaces, HasNotifier, HasSigner
from app.services.notifier import queue_key
from app.services.tokens import TaskKind


class GivingBack(HasDb, HasClock, HasNamespaces, HasNotifier, HasSigner, Protocol):
    """The claimed task's token opened, its run changed back, its queue woken."""


async def give_back_workflow_task(
    ctx: GivingBack, namespace: str, task_queue: str, task: dict[str, Any]
) -> None:
    """A workflow task or query task that a poll on ``task_queue`` claimed (``task`` as
    the poll returned it) and could not deliver."""

    async def give_back(uow: UnitOfWork) -> None:
        ns = await ctx.namespaces.current(uow.session, namespace)
        key = queue_key(ns.id, task_queue, query_store.WORKFLOW_TASKS)
        if task.get("query") is not None and not task.get("started_event_id"):
            query = ctx.signer.open(task["task_token"], TaskKind.QUERY, ns.id)
            await query_store.give_back(uow, ctx.notifier, [query.query_id], key)
            return
        token = ctx.signer.open(task["task_token"], TaskKind.WORKFLOW, ns.id)
        await query_store.give_back(uow, ctx.notifier, list(task.get("queries") or {}), key)
        timeout = {"scheduled_event_id": token.scheduled_event_id, "attempt": token.attempt}
        now = ctx.clock.now()
        time_out = partial(engine_timers.fire, TimerKind.WORKFLOW_TASK_TIMEOUT, timeout, now=now)
        await run_effects.change_run(uow, ctx.notifier, token.run_key, time_out, now)

    await ctx.db.run(give_back)


async def give_back_activity_task(ctx: GivingBack, namespace: str, task: dict[str, Any]) -> None:
    """An activity attempt that a poll claimed (``task`` as the poll returned it) and could
    not deliver."""

    async def give_back(uow: UnitOfWork) -> None:
        ns = await ctx.namespaces.current(uow.session, namespace)
        token = ctx.signer.open(task["task_token"], TaskKind.ACTIVITY, ns.id)
        now = ctx.clock.now()

        def unstart(state: MutableState) -> Transition:
            try:
                return engine_activities.give_back(
                    state, token.scheduled_event_id, token.attempt, now
                )
            except engine_activities.StaleActivityTask:
                return Transition()

        await run_effects.change_run(uow, ctx.notifier, token.run_key, unstart, now)

    await ctx.db.run(give_back)
