"""This process as a cluster member: its heartbeat and its share of shard leases."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.services import cluster, query_store, shards
from app.services.dependencies import (
    HasClock,
    HasDb,
    HasMe,
    HasNotifier,
    HasOwnership,
    HasSettings,
)
from app.services.loops import Loop
from app.services.notifier import TIMERS_KEY


class Heartbeating(HasDb, HasClock, HasSettings, HasMe, Protocol):
    """This member's heartbeat (and the sweep of abandoned queries), on the settings'
    period."""


class Balancing(HasDb, HasClock, HasSettings, HasNotifier, HasMe, HasOwnership, Protocol):
    """This member's shard leases kept, and its timer processor woken for shards it took."""


class MembershipHeartbeat(Loop):
    name = "membership-heartbeat"

    def __init__(self, ctx: Heartbeating) -> None:
        super().__init__(ctx.clock)
        self.ctx = ctx

    async def run_once(self) -> float:
        settings = self.ctx.settings
        now = self.ctx.clock.now()
        async with self.ctx.db.write() as uow:
            await cluster.heartbeat(uow.session, self.ctx.me, now, settings.member_timeout_seconds)
            # Queries whose caller died while waiting (a live caller removes its own).
            abandoned = now - timedelta(seconds=2 * settings.query_timeout_seconds)
            await query_store.forget_older_than(uow.session, abandoned)
        return settings.member_heartbeat_seconds


class ShardBalancer(Loop):
    """Keeps this member's share of shard leases: renewed well before they lapse."""

    name = "shard-balancer"

    def __init__(self, ctx: Balancing) -> None:
        super().__init__(ctx.clock)
        self.ctx = ctx

    async def run_once(self) -> float:
        async with self.ctx.db.write() as uow:
            changed = await self.balance(uow.session)
        if changed:
            self.ctx.notifier.notify(TIMERS_KEY)  # newly owned shards may have due timers
        return self.ctx.settings.shard_lease_seconds / 3

    async def balance(self, session: AsyncSession) -> bool:
        ctx = self.ctx
        settings = ctx.settings
        return await shards.balance(
            session,
            ctx.me,
            ctx.ownership,
            ctx.db.shard_count,
            shards.Lease(settings.shard_lease_seconds, settings.member_timeout_seconds),
            ctx.clock.now(),
            skip_locked=not ctx.db.is_sqlite,
        )
