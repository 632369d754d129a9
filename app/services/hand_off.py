"""Handing a new task to a poll waiting in this process (Temporal's sync match).

A task written while a long poll of this process waits on its queue is claimed for that
poll inside the writing transaction, once the writer's work is done, by the poll's own
claim, and given to it when the transaction commits. Dispatch then costs no transaction
(nor fsync) of its own and no wake-up before it; what is stored is what the poll's own
claim would have stored, in the transaction that wrote the task. Tasks beyond the polls
waiting here are woken for after the commit, here and in other processes, as before."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from app.db.database import UnitOfWork
from app.db.errors import row_locked
from app.services.notifier import Notifier, wake_after_commit

log = logging.getLogger(__name__)


@dataclass(eq=False)
class WaitingPoll:
    """A long poll on a task queue; a writer may take it while it is ``waiting``."""

    claim: Callable[[UnitOfWork], Awaitable[Any]]
    gone: asyncio.Event
    # The poll's request's context: what its claim records after the commit (the work
    # the request is charged for) is recorded there, not in the writer's.
    context: contextvars.Context = field(default_factory=contextvars.copy_context)
    waiting: bool = False
    # Set by the writer that took the poll: resolves, once that writer's unit of work
    # has ended, to what was claimed for the poll (None: nothing; the poll claims again).
    outcome: asyncio.Future[Any] | None = None


def tasks_written(uow: UnitOfWork, notifier: Notifier, key: tuple[str, ...], count: int) -> None:
    """``count`` tasks written on a task queue's ``key`` in ``uow``: handed to polls
    waiting here when the work is done, the rest woken for after the commit."""
    if not uow.new_tasks:
        uow.before_commit.append(partial(_hand_over, notifier=notifier))
    uow.new_tasks[key] = uow.new_tasks.get(key, 0) + count


async def _hand_over(uow: UnitOfWork, notifier: Notifier) -> None:
    new_tasks, uow.new_tasks = uow.new_tasks, {}
    for key, count in new_tasks.items():
        handed = 0
        while handed < count:
            taken = notifier.take_poll(key)
            # A claim that takes nothing means the task is not to be had (its run moved
            # on); other polls would fare no better.
            if taken is None or not await _claim_for(uow, *taken):
                break
            handed += 1
        if handed < count:
            wake_after_commit(uow, notifier, key, count - handed)


async def _claim_for(uow: UnitOfWork, wake: asyncio.Event, poll: WaitingPoll) -> bool:
    outcome = poll.outcome = asyncio.get_running_loop().create_future()
    uow.at_end.append(partial(_settle, outcome, wake, None))
    try:
        # A failing claim takes back only its own changes, never the writer's.
        async with uow.nested() as claim:
            claimed = await poll.claim(claim)
            await claim.work_done()
    except Exception as exc:
        if row_locked(exc):  # its run is another transaction's: the poll waits for it
            log.debug("a new task's run is locked elsewhere; the waiting poll claims it")
        else:
            log.exception("handing a new task to a waiting poll failed; the poll claims it")
        claimed = None
    if claimed is None:
        _settle(outcome, wake, None)
        return False
    for payload, count in claim.broadcasts.items():
        uow.broadcast(payload, count)
    uow.after_commit.append(
        partial(_deliver, outcome, wake, claimed, poll.context, claim.after_commit)
    )
    uow.at_end.extend(claim.at_end)
    return True


def _deliver(
    outcome: asyncio.Future[Any],
    wake: asyncio.Event,
    claimed: Any,
    context: contextvars.Context,
    callbacks: Sequence[Callable[[], None]],
) -> None:
    for callback in callbacks:
        context.run(callback)
    _settle(outcome, wake, claimed)


def _settle(outcome: asyncio.Future[Any], wake: asyncio.Event, claimed: Any) -> None:
    if not outcome.done():
        outcome.set_result(claimed)
        wake.set()
