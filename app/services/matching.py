"""Task queues: long polls that claim a durable task, woken right after the commit
that wrote one, or handed one by that transaction itself (app.services.hand_off).
Claims are exclusive (one transaction deletes the task row; SKIP LOCKED lets concurrent
pollers on PostgreSQL pass each other). `poll` is the long poll of a worker's request, the
same for workflow and activity tasks: the request's checks, the window, the claim."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import Table, bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from app.db.database import Database, UnitOfWork, shard_of
from app.db.statements import Statement
from app.db.tables import NamespaceRow, PollerRow, RunRecord, TaskRow, table_of
from app.errors import bad_request
from app.models.common import MAX_ID_LENGTH
from app.models.worker import PollTaskQueueRequest
from app.observability.metrics import Metrics
from app.services import executions, workers
from app.services.dependencies import (
    HasClock,
    HasDb,
    HasDraining,
    HasMetrics,
    HasNamespaces,
    HasNotifier,
    HasOwnership,
    HasPollers,
)
from app.services.hand_off import WaitingPoll
from app.services.notifier import Notifier, queue_key
from app.services.poller_ledger import PollerKey, PollerLedger
from app.services.shards import Ownership

MAX_POLL_SECONDS = 50.0


class Claiming(HasDb, HasClock, HasMetrics, HasOwnership, Protocol):
    """claim_next: the queue's partitions this process owns looked in first,
    the task taken, its dispatch timed once the claim commits."""


class LongPolling(HasDb, HasClock, HasNotifier, HasDraining, HasMetrics, HasPollers, Protocol):
    """long_poll: the poller recorded, the wait on the queue's notifier key
    (timed, and ended by draining)."""


class Polling(
    HasDb, HasClock, HasNamespaces, HasNotifier, HasDraining, HasMetrics, HasPollers, Protocol
):
    """poll: a worker's long poll by namespace name."""


T = TypeVar("T")
# What a poll is given: what it reads itself and what its claim reads (which it passes on).
D = TypeVar("D", bound=Polling)
# (uow, ctx, ns, task_queue, identity, window) -> the task claimed, or None.
Claim = Callable[[UnitOfWork, D, NamespaceRow, str, str, float], Awaitable[T | None]]


def poll_window(requested: timedelta | None) -> float:
    """The server's window (below the 60 s at which proxies cut idle HTTP), or less if
    the client asks for less; "0s" answers at once, as the result endpoint does."""
    if requested is None:
        return MAX_POLL_SECONDS
    return max(0.0, min(requested.total_seconds(), MAX_POLL_SECONDS))


def _poller_upsert(insert: Callable[[Table], Any]) -> Statement:
    statement = insert(table_of(PollerRow))
    return Statement(
        statement.on_conflict_do_update(
            index_elements=["namespace_id", "task_queue", "task_type", "identity"],
            set_={
                "last_access_time": statement.excluded.last_access_time,
                "rate_per_second": statement.excluded.rate_per_second,
            },
        )
    )


# Built once per dialect: a poll records its poller every RECORD_EVERY, and building the
# upsert (and running it through the ORM session, with a savepoint of its own) cost ~2 %
# of the bench's end to end.
_RECORD_POLLER = {"sqlite": _poller_upsert(sqlite_insert), "postgresql": _poller_upsert(pg_insert)}


async def record_poller(
    uow: UnitOfWork,
    namespace_id: str,
    task_queue: str,
    task_type: str,
    identity: str,
    now: datetime,
    dialect: str,
    rate_per_second: float,
) -> None:
    values = {
        "namespace_id": namespace_id,
        "task_queue": task_queue,
        "task_type": task_type,
        "identity": identity,
        "last_access_time": now,
        "rate_per_second": rate_per_second,
    }
    await _RECORD_POLLER[dialect].run(uow.session, values)


def partition_shard(namespace_id: str, task_queue: str, partition: int, shard_count: int) -> int:
    """The shard whose owner owns a task-queue partition."""
    return shard_of(namespace_id, f"{task_queue}#partition-{partition}", shard_count)


def partition_order(
    db: Database, ownership: Ownership, namespace_id: str, task_queue: str
) -> list[int]:
    """The order a poll looks in the queue's partitions: those this process owns first,
    each list from a random start so pollers spread, then the others, so an idle poller
    takes any partition's task and none starves."""
    count = db.partition_count
    start = random.randrange(count)
    rotated = [(start + n) % count for n in range(count)]
    owned = set(ownership.shard_ids)
    shard_count = db.shard_count
    mine = [
        p for p in rotated if partition_shard(namespace_id, task_queue, p, shard_count) in owned
    ]
    return mine + [p for p in rotated if p not in mine]


@dataclass(frozen=True)
class QueuedTask:
    id: int
    workflow_id: str
    run_id: str
    scheduled_event_id: int
    created_time: datetime


_TASKS = table_of(TaskRow)
# Built once (the claim runs on every poll): construction and cache-key work per call
# cost more than the statements.
_next_task = (
    select(
        _TASKS.c.id,
        _TASKS.c.workflow_id,
        _TASKS.c.run_id,
        _TASKS.c.scheduled_event_id,
        _TASKS.c.created_time,
    )
    .where(
        _TASKS.c.namespace_id == bindparam("namespace_id"),
        _TASKS.c.task_queue == bindparam("task_queue"),
        _TASKS.c.task_type == bindparam("task_type"),
        _TASKS.c.partition == bindparam("partition"),
        _TASKS.c.visible_time <= bindparam("now"),
    )
    .order_by(_TASKS.c.id)
    .limit(1)
)
_NEXT_TASK = Statement(_next_task)
# PostgreSQL: concurrent pollers pass each other instead of queueing on one row.
_NEXT_TASK_SKIP_LOCKED = Statement(_next_task.with_for_update(skip_locked=True))
_TAKE_TASK = Statement(delete(_TASKS).where(_TASKS.c.id == bindparam("task_id")))
# A poll's backlog_count_hint (Temporal's is approximate too) counts at most this many
# tasks: an exact count read the whole backlog on every poll (13,500 tasks: 0.6 ms), so
# polls got slower as the backlog they were there to drain grew. Describing a task
# queue counts exactly.
BACKLOG_HINT_CAP = 1000
_BACKLOG = Statement(
    select(func.count()).select_from(
        select(_TASKS.c.id)
        .where(
            _TASKS.c.namespace_id == bindparam("namespace_id"),
            _TASKS.c.task_queue == bindparam("task_queue"),
            _TASKS.c.task_type == bindparam("task_type"),
        )
        .limit(bindparam("cap"))
        .subquery()
    )
)


async def next_task(
    session: AsyncSession,
    namespace_id: str,
    task_queue: str,
    task_type: str,
    now: datetime,
    dialect: str,
    partitions: Sequence[int],
) -> QueuedTask | None:
    """Take the oldest visible task of the first partition that has one (in the caller's
    transaction)."""
    query = _NEXT_TASK_SKIP_LOCKED if dialect == "postgresql" else _NEXT_TASK
    where = {"namespace_id": namespace_id, "task_queue": task_queue, "task_type": task_type}
    for partition in partitions:
        found = await query.first(session, {**where, "partition": partition, "now": now})
        if found is not None:
            await _TAKE_TASK.run(session, {"task_id": found[0]})
            return QueuedTask(*found)
    return None


async def claim_next(
    uow: UnitOfWork,
    ctx: Claiming,
    namespace_id: str,
    task_queue: str,
    task_type: str,
    start: Callable[[QueuedTask, RunRecord, datetime], Awaitable[T | None]],
) -> T | None:
    """Take the queue's tasks in order, each with its run loaded for update, until
    ``start`` starts one; it returns None for a task its run no longer wants (closed,
    replaced, already started), which is dropped, as is a task whose run is gone."""
    now = ctx.clock.now()
    partitions = partition_order(ctx.db, ctx.ownership, namespace_id, task_queue)
    while True:
        task = await next_task(
            uow.session, namespace_id, task_queue, task_type, now, ctx.db.dialect, partitions
        )
        if task is None:
            return None
        row = await executions.find(
            uow.session,
            namespace_id,
            task.workflow_id,
            task.run_id,
            for_update=True,
            nowait=not uow.waits_for_locks,
        )
        if row is not None:
            started = await start(task, row, now)
            if started is not None:
                dispatched = partial(
                    _dispatched, ctx.metrics, ctx.clock, task_type, task.created_time
                )
                uow.after_commit.append(dispatched)
                return started


async def backlog_hint(
    session: AsyncSession, namespace_id: str, task_queue: str, task_type: str
) -> int:
    """The queue's backlog, counted up to BACKLOG_HINT_CAP."""
    where = {"namespace_id": namespace_id, "task_queue": task_queue, "task_type": task_type}
    return int(await _BACKLOG.scalar(session, {**where, "cap": BACKLOG_HINT_CAP}))


def check_poll_request(task_queue: str, request: PollTaskQueueRequest, namespace: str) -> None:
    if not task_queue or len(task_queue) > MAX_ID_LENGTH:
        raise bad_request("task_queue", f"task_queue must be 1 to {MAX_ID_LENGTH} characters")
    queue = request.task_queue
    named = queue.get("name") if isinstance(queue, dict) else queue
    if named and named != task_queue:
        raise bad_request("task_queue", "task_queue in the body does not match the path")


async def poll(
    ctx: D,
    namespace: str,
    task_queue: str,
    request: PollTaskQueueRequest | None,
    task_type: str,
    claim: Claim[D, T],
    gone: asyncio.Event,
) -> tuple[T | None, float]:
    """A worker's long poll: the task claimed (None when the window ended first or the
    poller is ``gone``, an event its door sets when the client leaves) and the window
    waited, in seconds."""
    request = request or PollTaskQueueRequest()
    check_poll_request(task_queue, request, namespace)
    ns = await ctx.namespaces.get(ctx.db, namespace)
    window = poll_window(request.wait_timeout)
    identity = request.identity

    async def claim_one(uow: UnitOfWork) -> T | None:
        return await claim(uow, ctx, ns, task_queue, identity, window)

    claimed = await long_poll(
        ctx, ns, task_queue, task_type, identity, window, claim_one, gone, request.rate_per_second
    )
    return claimed, window


async def long_poll(
    ctx: LongPolling,
    ns: NamespaceRow,
    task_queue: str,
    task_type: str,
    identity: str,
    window: float,
    claim: Callable[[UnitOfWork], Awaitable[T | None]],
    gone: asyncio.Event,
    rate_per_second: float,
) -> T | None:
    """Try to claim a task; if none, wait until the window ends to be woken by a new
    one, or handed it. A poller that has gone away claims nothing and is handed nothing,
    so no task goes to a dead socket. Once the server drains, a poll that claims nothing
    answers empty instead of waiting, and is open to no hand-off."""
    key = queue_key(ns.id, task_queue, task_type)
    deadline = ctx.clock.now() + timedelta(seconds=window)
    poller = (ns.id, task_queue, task_type, identity or "unknown")
    record_due = ctx.pollers.due(poller, ctx.clock.now(), rate_per_second)

    async def record_and_claim(uow: UnitOfWork) -> T | None:
        """The first attempt also records the poller (one transaction, not two)."""
        if record_due:
            await _record(uow, poller, identity, rate_per_second, ctx.clock, ctx.db, ctx.pollers)
        return await claim(uow)

    poll = WaitingPoll(claim, gone)
    first = True
    while True:
        wake = ctx.notifier.subscribe(key, poll)
        relay = asyncio.ensure_future(_relay(gone, wake))
        try:
            if gone.is_set():
                _pass_on(ctx.notifier, key, wake)  # in case it was woken for a task
                return None
            try:
                claimed = await ctx.db.run(record_and_claim if first else claim)
                first = False
            except BaseException:
                _pass_on(ctx.notifier, key, wake)
                raise
            if claimed is not None:
                return claimed
            remaining = (deadline - ctx.clock.now()).total_seconds()
            # Stopping: the empty answer now, having claimed nothing (the task a claim
            # found was returned above, and is delivered before the server exits).
            if remaining <= 0 or ctx.draining.is_set():
                return None
            poll.waiting = True  # open to a hand-off while waiting, not while claiming
            try:
                woken = await ctx.metrics.long_poll(task_type, ctx.clock.wait(wake, remaining))
            finally:
                poll.waiting = False
            if poll.outcome is not None:  # a writer took it: its transaction ends soon
                handed, poll.outcome = await poll.outcome, None
                if handed is not None:
                    return cast(T, handed)
            elif not woken:
                return None
        finally:
            relay.cancel()
            ctx.notifier.unsubscribe(key, wake)


def _dispatched(metrics: Metrics, clock: Clock, task_type: str, written: datetime) -> None:
    """A task handed over (its claim committed): how long after its write."""
    metrics.task_dispatched(task_type, (clock.now() - written).total_seconds())


def _pass_on(notifier: Notifier, key: tuple[str, ...], mine: asyncio.Event) -> None:
    """A poller leaving without a task hands a wake-up to another waiting poller."""
    notifier.unsubscribe(key, mine)
    notifier.notify(key, 1)


async def _relay(gone: asyncio.Event, wake: asyncio.Event) -> None:
    await gone.wait()
    wake.set()


async def _record(
    uow: UnitOfWork,
    poller: PollerKey,
    identity: str,
    rate_per_second: float,
    clock: Clock,
    db: Database,
    pollers: PollerLedger,
) -> None:
    now = clock.now()
    namespace_id, task_queue, task_type, name = poller
    await record_poller(
        uow, namespace_id, task_queue, task_type, name, now, db.dialect, rate_per_second
    )
    if identity:
        await workers.heard_from(uow.session, namespace_id, task_queue, identity, now)
    uow.after_commit.append(lambda: pollers.written(poller, now, rate_per_second))
