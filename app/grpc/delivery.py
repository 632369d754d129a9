"""Delivering a claimed task to a gRPC poller. The SDKs cancel their polls when a worker
shuts down; a call that ends after its task was claimed gives the task back at once
(app.services.given_back) instead of leaving it to a timeout: while the claim is still
being made (the poll goes on shielded and gives back what it claims), while the reply is
being built, or once it is built for a caller already gone."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

R = TypeVar("R")
Task = dict[str, Any]
GiveBack = Callable[[Task], Awaitable[None]]

# Give-backs run on after their call ended; held here so none is collected midway.
_giving_back: set[asyncio.Future[None]] = set()


async def deliver(
    poll: Awaitable[Task],
    reply: Callable[[Task], Awaitable[R]],
    give_back: GiveBack,
    gone: asyncio.Event,
    empty: R,
) -> R:
    """The reply for the task ``poll`` claims (``empty`` when it claims none)."""
    polling = asyncio.ensure_future(poll)
    try:
        task = await asyncio.shield(polling)
    except asyncio.CancelledError:
        polling.add_done_callback(lambda done: _give_back_claimed(done, give_back))
        raise
    if not task.get("task_token"):
        return empty
    try:
        answer = await reply(task)
    except asyncio.CancelledError:
        _start_giving_back(task, give_back)
        raise
    except BaseException:
        await asyncio.shield(_start_giving_back(task, give_back))
        raise
    if gone.is_set():
        await asyncio.shield(_start_giving_back(task, give_back))
        return empty
    return answer


def _give_back_claimed(polling: asyncio.Future[Task], give_back: GiveBack) -> None:
    """A poll whose call was cancelled has ended: a task it claimed goes back."""
    if polling.cancelled() or polling.exception() is not None:
        return
    task = polling.result()
    if task.get("task_token"):
        _start_giving_back(task, give_back)


def _start_giving_back(task: Task, give_back: GiveBack) -> asyncio.Future[None]:
    giving = asyncio.ensure_future(_logged(give_back(task)))
    _giving_back.add(giving)
    giving.add_done_callback(_giving_back.discard)
    return giving


async def _logged(giving: Awaitable[None]) -> None:
    try:
        await giving
    except Exception:
        log.exception("giving back a task its poller never received failed; its timeout frees it")
