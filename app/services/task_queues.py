"""DescribeTaskQueue: the pollers seen recently, the backlog as the tasks table holds it,
and the workers registered on the queue."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.db.tables import ClusterMemberRow, PollerRow, ShardRow, TaskRow
from app.engine.events import format_seconds
from app.models.worker import UNLIMITED_RATE
from app.rate_limits.limiter import RateLimiter
from app.rate_limits.rules import Limit
from app.services import workers
from app.services.dependencies import (
    HasClock,
    HasDb,
    HasNamespaces,
    HasRateLimiter,
    HasSettings,
    Namespaced,
)
from app.services.matching import partition_shard

# Temporal lists a poller for five minutes after its last poll.
POLLER_HISTORY = timedelta(minutes=5)


class Describing(HasDb, HasClock, HasSettings, HasNamespaces, HasRateLimiter, Protocol):
    """DescribeTaskQueue: who polled lately and the workers still registered (by the
    clock and the registration TTL), and the queue's rate (its budget)."""


async def describe(
    session: AsyncSession,
    namespace_id: str,
    task_queue: str,
    task_type: str,
    now: datetime,
    registration_ttl: float,
    queue_rate: float,
) -> dict[str, Any]:
    pollers = (
        await session.execute(
            select(PollerRow)
            .where(
                col(PollerRow.namespace_id) == namespace_id,
                col(PollerRow.task_queue) == task_queue,
                col(PollerRow.task_type) == task_type,
                col(PollerRow.last_access_time) >= now - POLLER_HISTORY,
            )
            .order_by(col(PollerRow.last_access_time).desc(), col(PollerRow.identity))
        )
    ).scalars()
    count, oldest_id, newest_id, oldest_time = (
        await session.execute(
            select(
                func.count(),
                func.min(TaskRow.id),
                func.max(TaskRow.id),
                func.min(TaskRow.created_time),
            ).where(
                col(TaskRow.namespace_id) == namespace_id,
                col(TaskRow.task_queue) == task_queue,
                col(TaskRow.task_type) == task_type,
            )
        )
    ).one()
    status: dict[str, Any] = {
        "backlog_count_hint": int(count),
        "rate_per_second": queue_rate,
        # Tasks are handed out oldest first and deleted when taken: everything below the
        # oldest waiting task is acknowledged, and the newest waiting one is as far as
        # the queue has been written.
        "ack_level": int(oldest_id) - 1 if oldest_id is not None else 0,
        "read_level": int(newest_id) if newest_id is not None else 0,
        "approximate_backlog_age": format_seconds(
            (now - oldest_time).total_seconds() if oldest_time is not None else 0
        ),
    }
    return {
        "pollers": [
            {
                "identity": p.identity,
                "last_access_time": p.last_access_time,
                "rate_per_second": p.rate_per_second,
            }
            for p in pollers
        ],
        "task_queue_status": status,
        "workers": await workers.live(session, namespace_id, task_queue, now, registration_ttl),
    }


def partition_key(task_queue: str, partition: int) -> str:
    """Temporal's naming: the root partition is the queue's own name."""
    return task_queue if partition == 0 else f"/_sys/{task_queue}/{partition}"


async def partitions(
    session: AsyncSession,
    namespace_id: str,
    task_queue: str,
    partition_count: int,
    shard_count: int,
) -> dict[str, Any]:
    """Each partition of the queue with the member that owns it (the owner of the shard
    it maps to; its pollers look there first) and the tasks waiting in it."""
    backlog = await session.execute(
        select(col(TaskRow.task_type), col(TaskRow.partition), func.count())
        .where(col(TaskRow.namespace_id) == namespace_id, col(TaskRow.task_queue) == task_queue)
        .group_by(col(TaskRow.task_type), col(TaskRow.partition))
    )
    waiting = {(kind, int(p)): int(n) for kind, p, n in backlog}
    leases = {
        row.shard_id: row.owner for row in (await session.execute(select(ShardRow))).scalars()
    }
    members = {
        row.identity: f"{row.rpc_address}:{row.rpc_port}"
        for row in (await session.execute(select(ClusterMemberRow))).scalars()
    }

    def listed(kind: str) -> list[dict[str, Any]]:
        rows = []
        for partition in range(partition_count):
            owner = leases.get(partition_shard(namespace_id, task_queue, partition, shard_count))
            rows.append(
                {
                    "key": partition_key(task_queue, partition),
                    "owner_host_name": owner or "",
                    "owner_address": members.get(owner or "", ""),
                    "backlog_count_hint": waiting.get((kind, partition), 0),
                }
            )
        return rows

    return {
        "workflow_task_queue_partitions": listed("workflow"),
        "activity_task_queue_partitions": listed("activity"),
    }


# The operations both doors call (REST routes, gRPC RPCs).


def queue_rate(rate_limiter: RateLimiter) -> float:
    """The queue's dispatch rate: its task-queue operations budget, per second (Temporal's
    100,000 when rate limits are off)."""
    if not rate_limiter.enabled:
        return UNLIMITED_RATE
    budget = rate_limiter.budgets[Limit.TASK_QUEUE_OPERATIONS]
    return budget.amount / budget.window_seconds


async def describe_task_queue(
    ctx: Describing, namespace: str, task_queue: str, task_type: str
) -> dict[str, Any]:
    """``task_type``: workflow or activity."""
    return (await describe_task_queue_types(ctx, namespace, task_queue, [task_type]))[task_type]


async def describe_task_queue_types(
    ctx: Describing, namespace: str, task_queue: str, task_types: list[str]
) -> dict[str, dict[str, Any]]:
    """DescribeTaskQueue for each of ``task_types`` (workflow, activity), in one read."""
    ns = await ctx.namespaces.get(ctx.db, namespace)
    now = ctx.clock.now()
    rate = queue_rate(ctx.rate_limiter)
    ttl = ctx.settings.worker_registration_ttl_seconds
    async with ctx.db.read() as session:
        return {
            kind: await describe(session, ns.id, task_queue, kind, now, ttl, rate)
            for kind in task_types
        }


async def list_partitions(ctx: Namespaced, namespace: str, task_queue: str) -> dict[str, Any]:
    ns = await ctx.namespaces.get(ctx.db, namespace)
    async with ctx.db.read() as session:
        return await partitions(
            session, ns.id, task_queue, ctx.db.partition_count, ctx.db.shard_count
        )
