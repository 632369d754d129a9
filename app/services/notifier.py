"""Wake-ups: a long poll waiting on a key is woken right after the commit that changed
it, in this process directly and in others through app.services.wakeups."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Hashable
from functools import partial

from app.db.database import UnitOfWork


class Notifier:
    def __init__(self) -> None:
        self._waiters: dict[Hashable, set[asyncio.Event]] = defaultdict(set)

    def subscribe(self, key: Hashable) -> asyncio.Event:
        event = asyncio.Event()
        self._waiters[key].add(event)
        return event

    def unsubscribe(self, key: Hashable, event: asyncio.Event) -> None:
        waiters = self._waiters.get(key)
        if waiters is not None:
            waiters.discard(event)
            if not waiters:
                del self._waiters[key]

    def notify(self, key: Hashable) -> None:
        for event in self._waiters.get(key, ()):
            event.set()

    def notify_all(self) -> None:
        for waiters in self._waiters.values():
            for event in waiters:
                event.set()


def wake_after_commit(uow: UnitOfWork, notifier: Notifier, key: tuple[str, ...]) -> None:
    """Wake the waiters on ``key`` once ``uow`` commits: this process's directly, other
    processes' through the database (PostgreSQL NOTIFY)."""
    uow.after_commit.append(partial(notifier.notify, key))
    uow.broadcasts.add(json.dumps(key))


TIMERS_KEY = ("timers",)


def history_key(namespace_id: str, workflow_id: str, run_id: str) -> tuple[str, ...]:
    return ("history", namespace_id, workflow_id, run_id)


def queue_key(namespace_id: str, task_queue: str, task_type: str) -> tuple[str, ...]:
    return ("queue", namespace_id, task_queue, task_type)
