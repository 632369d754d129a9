"""Fires due timers: each in its own short transaction that applies the engine's
transition and deletes the timer row, so a timer takes effect exactly once."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from sqlalchemy import bindparam, delete, select
from sqlmodel import col

from app.db.database import UnitOfWork
from app.db.statements import Statement
from app.db.tables import TimerTaskRow, table_of
from app.engine import timers as engine
from app.engine.state import TimerKind
from app.services import run_effects
from app.services.dependencies import HasClock, HasDb, HasMetrics, HasNotifier, HasOwnership
from app.services.loops import Loop
from app.services.notifier import TIMERS_KEY

BATCH = 100
IDLE_SECONDS = 60.0

_TIMERS = table_of(TimerTaskRow)
# Built once and run on the writer's connection: through the ORM (a get and a delete)
# every firing also paid a savepoint of SQLAlchemy's own.
_LOCK_TIMER = Statement(
    select(
        _TIMERS.c.namespace_id,
        _TIMERS.c.workflow_id,
        _TIMERS.c.run_id,
        _TIMERS.c.kind,
        _TIMERS.c.data,
        _TIMERS.c.fire_time,
    )
    .where(_TIMERS.c.id == bindparam("timer_id"))
    .with_for_update()
)
_DELETE_TIMER = Statement(delete(_TIMERS).where(_TIMERS.c.id == bindparam("timer_id")))


class Firing(HasDb, HasClock, HasNotifier, HasMetrics, HasOwnership, Protocol):
    """The timers of the shards this process owns fired, waiters woken, lateness timed."""


class TimerProcessor(Loop):
    name = "timer-processor"

    def __init__(self, ctx: Firing) -> None:
        super().__init__(ctx.clock)
        self.ctx = ctx
        # Woken right after any commit that wrote a timer, in case it is due sooner.
        self.wake = ctx.notifier.subscribe(TIMERS_KEY)

    async def run_once(self) -> float:
        self.ctx.notifier.timers_checked_at = None  # every timer written meanwhile wakes it
        delay = await self._fire_due()
        self.ctx.notifier.timers_checked_at = self.ctx.clock.now() + timedelta(seconds=delay)
        return delay

    async def _fire_due(self) -> float:
        now = self.ctx.clock.now()
        mine = col(TimerTaskRow.shard_id).in_(self.ctx.ownership.shard_ids)
        due_query = (
            select(col(TimerTaskRow.id))
            .where(mine, col(TimerTaskRow.fire_time) <= now)
            .order_by(col(TimerTaskRow.fire_time), col(TimerTaskRow.id))
            .limit(BATCH)
        )
        async with self.ctx.db.read() as session:
            due = [int(i) for i in (await session.execute(due_query)).scalars() if i is not None]
            following = (
                await session.execute(
                    select(col(TimerTaskRow.fire_time))
                    .where(mine, col(TimerTaskRow.fire_time) > now)
                    .order_by(col(TimerTaskRow.fire_time))
                    .limit(1)
                )
            ).scalar_one_or_none()
        for timer_id in due:
            await self.ctx.db.run(partial(self._fire, timer_id=timer_id))
        if len(due) == BATCH:
            return 0.0
        if following is None:
            return IDLE_SECONDS
        return max(0.0, min(IDLE_SECONDS, (following - now).total_seconds()))

    async def _fire(self, uow: UnitOfWork, *, timer_id: int) -> None:
        session = uow.session
        # Locked, so two processes on one PostgreSQL never fire the same timer twice.
        timer = await _LOCK_TIMER.first(session, {"timer_id": timer_id})
        if timer is None:
            return
        namespace_id, workflow_id, run_id, kind, data, fire_time = timer
        await _DELETE_TIMER.run(session, {"timer_id": timer_id})
        uow.after_commit.append(partial(self._fired, kind, fire_time))
        now = self.ctx.clock.now()
        await run_effects.change_run(
            uow,
            self.ctx.notifier,
            (namespace_id, workflow_id, run_id),
            partial(engine.fire, TimerKind(kind), data, now=now),
            now,
        )

    def _fired(self, kind: str, fire_time: datetime) -> None:
        """A timer's firing committed: how late after its fire time."""
        self.ctx.metrics.timer_fired(kind, (self.ctx.clock.now() - fire_time).total_seconds())
