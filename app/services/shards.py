"""Shard leases. Workflow ids hash to a fixed number of shards; each live member leases
about its share of them (renewing before the lease ends, releasing extras when members
join, taking expired ones when members die) and fires only the timers of shards it owns.
Leases spread the work; exactly-once firing does not rest on them (a timer row is locked
and deleted in the transaction that fires it)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.db.tables import ShardRow
from app.services import cluster
from app.services.cluster import Self


@dataclass
class Ownership:
    """The shards this process owns, with the range_id of its lease on each."""

    owned: dict[int, int] = field(default_factory=dict)

    @property
    def shard_ids(self) -> list[int]:
        return sorted(self.owned)


async def ensure_rows(session: AsyncSession, count: int) -> None:
    existing = set((await session.execute(select(col(ShardRow.shard_id)))).scalars())
    for shard_id in range(count):
        if shard_id not in existing:
            session.add(ShardRow(shard_id=shard_id))
    await session.flush()


@dataclass(frozen=True)
class Lease:
    seconds: float
    member_silence: float


async def balance(
    session: AsyncSession,
    me: Self,
    ownership: Ownership,
    count: int,
    lease: Lease,
    now: datetime,
    *,
    skip_locked: bool,
) -> bool:
    """Renew, release or acquire leases so this member holds its share. Returns whether
    the owned set changed."""
    before = dict(ownership.owned)
    live = await cluster.members(session, now, lease.member_silence)
    share = math.ceil(count / max(1, len(live)))
    expiry = now + timedelta(seconds=lease.seconds)

    mine = (
        await session.execute(select(ShardRow).where(col(ShardRow.owner) == me.identity))
    ).scalars()
    ownership.owned = {
        row.shard_id: row.range_id
        for row in mine
        if ownership.owned.get(row.shard_id) == row.range_id
    }
    for extra in ownership.shard_ids[share:]:
        await _release(session, extra, now)
        del ownership.owned[extra]
    if ownership.owned:
        await session.execute(
            update(ShardRow)
            .where(col(ShardRow.shard_id).in_(ownership.shard_ids))
            .values(lease_expiry_time=expiry)
        )
    wanted = share - len(ownership.owned)
    if wanted > 0:
        free = (
            select(col(ShardRow.shard_id))
            .where(or_(col(ShardRow.owner).is_(None), col(ShardRow.lease_expiry_time) < now))
            .order_by(col(ShardRow.shard_id))
            .limit(wanted)
        )
        if skip_locked:
            free = free.with_for_update(skip_locked=True)
        taken = await session.execute(
            update(ShardRow)
            .where(col(ShardRow.shard_id).in_(free.scalar_subquery()))
            .values(
                owner=me.identity,
                range_id=col(ShardRow.range_id) + 1,
                acquired_time=now,
                lease_expiry_time=expiry,
            )
            .returning(col(ShardRow.shard_id), col(ShardRow.range_id))
        )
        ownership.owned.update({int(shard): int(rng) for shard, rng in taken})
    await session.flush()
    return ownership.owned != before


async def _release(session: AsyncSession, shard_id: int, now: datetime) -> None:
    await session.execute(
        update(ShardRow)
        .where(col(ShardRow.shard_id) == shard_id)
        .values(owner=None, lease_expiry_time=now)
    )


async def release_all(session: AsyncSession, me: Self, ownership: Ownership, now: datetime) -> None:
    await session.execute(
        update(ShardRow)
        .where(col(ShardRow.owner) == me.identity)
        .values(owner=None, lease_expiry_time=now)
    )
    ownership.owned.clear()


async def close(session: AsyncSession, shard_id: int, ownership: Ownership, now: datetime) -> None:
    """Release the shard's lease wherever it is held; a live member takes it again (with
    a higher range_id) at its next balance."""
    await _release(session, shard_id, now)
    ownership.owned.pop(shard_id, None)
