"""DescribeTaskQueue: the pollers seen recently, the backlog as the tasks table holds it,
and the workers registered on the queue."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.db.tables import PollerRow, TaskRow
from app.engine.events import format_seconds
from app.services import workers

# Temporal lists a poller for five minutes after its last poll.
POLLER_HISTORY = timedelta(minutes=5)


async def describe(
    session: AsyncSession,
    namespace_id: str,
    task_queue: str,
    task_type: str,
    now: datetime,
    registration_ttl: float,
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
            {"identity": p.identity, "last_access_time": p.last_access_time} for p in pollers
        ],
        "task_queue_status": status,
        "workers": await workers.live(session, namespace_id, task_queue, now, registration_ttl),
    }
