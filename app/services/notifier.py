"""In-process wake-ups: a long poll waiting on a key is woken right after the commit
that changed it."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Hashable


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


TIMERS_KEY: Hashable = ("timers",)


def history_key(namespace_id: str, workflow_id: str, run_id: str) -> Hashable:
    return ("history", namespace_id, workflow_id, run_id)


def queue_key(namespace_id: str, task_queue: str, task_type: str) -> Hashable:
    return ("queue", namespace_id, task_queue, task_type)
