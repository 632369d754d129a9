"""The Admin API's shard operations, DescribeShard and CloseShard, each in a transaction
of its own, on the lease rows the members keep (app/services/shards.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.db.database import shard_of
from app.db.tables import ClusterMemberRow, ExecutionRow, ShardRow, TimerTaskRow
from app.engine.events import format_seconds
from app.errors import ApiError, ErrorCode
from app.services import shards
from app.services.dependencies import HasClock, HasDb, HasOwnership
from app.services.loops import Loop
from app.services.membership import ShardBalancer


class HasLoops(Protocol):
    """This process's background loops."""

    @property
    def loops(self) -> Sequence[Loop]: ...


class Describing(HasDb, HasClock, Protocol):
    """DescribeShard: one read of the shard's lease, open runs and timers."""


class Closing(HasDb, HasClock, HasOwnership, HasLoops, Protocol):
    """CloseShard: the lease released (and gone from this process's ownership), then
    this process's shard balancer woken to take its share again."""


async def describe_shard(ctx: Describing, shard_id: int) -> dict[str, Any]:
    async with ctx.db.read() as session:
        return await describe(session, shard_id, ctx.db.shard_count, ctx.clock.now())


async def close_shard(ctx: Closing, shard_id: int) -> None:
    """Release the shard's lease wherever it is held (NOT_FOUND for no such shard); a
    live member acquires it again at its next balance, with a higher range_id."""
    async with ctx.db.write() as uow:
        await lease_row(uow.session, shard_id, ctx.db.shard_count)
        await shards.close(uow.session, shard_id, ctx.ownership, ctx.clock.now())
    for loop in ctx.loops:
        if isinstance(loop, ShardBalancer):
            loop.wake.set()


async def lease_row(session: AsyncSession, shard_id: int, shard_count: int) -> ShardRow:
    row = await session.get(ShardRow, shard_id) if 0 <= shard_id < shard_count else None
    if row is None:
        raise ApiError(
            ErrorCode.NOT_FOUND,
            f"Shard {shard_id} does not exist; shards are 0 to {shard_count - 1}.",
            [{"type": "NotFound", "resource": "shard", "shard_id": shard_id}],
        )
    return row


async def describe(
    session: AsyncSession, shard_id: int, shard_count: int, now: datetime
) -> dict[str, Any]:
    row = await lease_row(session, shard_id, shard_count)
    member = await session.get(ClusterMemberRow, row.owner) if row.owner else None
    running = await session.execute(
        select(col(ExecutionRow.namespace_id), col(ExecutionRow.workflow_id)).where(
            col(ExecutionRow.status) == "RUNNING"
        )
    )
    open_executions = sum(1 for ns, wf in running if shard_of(ns, wf, shard_count) == shard_id)
    timers = col(TimerTaskRow.shard_id) == shard_id
    pending = await session.execute(select(func.count()).select_from(TimerTaskRow).where(timers))
    oldest_due = await session.execute(
        select(func.min(TimerTaskRow.fire_time)).where(timers, col(TimerTaskRow.fire_time) <= now)
    )
    due = oldest_due.scalar_one_or_none()
    return {
        "shard_id": row.shard_id,
        "owner": row.owner,
        "owner_address": f"{member.rpc_address}:{member.rpc_port}" if member else None,
        "range_id": row.range_id,
        "acquired_time": row.acquired_time,
        "lease_expiry_time": row.lease_expiry_time,
        "lease_expired": row.lease_expiry_time is not None and row.lease_expiry_time < now,
        "open_executions": open_executions,
        "pending_timers": int(pending.scalar_one()),
        "timer_lag": format_seconds((now - due).total_seconds() if due is not None else 0),
    }
