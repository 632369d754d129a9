"""Wake-ups: a long poll waiting on a key is woken right after the commit that changed
it, in this process directly and in others through app.services.wakeups."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import defaultdict
from collections.abc import Hashable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from app.db.database import UnitOfWork

if TYPE_CHECKING:
    from app.services.hand_off import WaitingPoll


class Notifier:
    def __init__(self) -> None:
        # Insertion-ordered, so a count-limited wake-up goes to the longest waiters; a
        # long poll on a task queue names itself, so a new task can be handed to it.
        self._waiters: dict[Hashable, dict[asyncio.Event, WaitingPoll | None]] = defaultdict(dict)
        # When this process's timer processor next looks for due timers, if it is waiting
        # (None while it runs): a timer due later needs no wake-up.
        self.timers_checked_at: datetime | None = None
        # The digest other processes send for each long key waited on here (wire_key).
        self._long_keys: dict[tuple[str, ...], Hashable] = {}

    def subscribe(self, key: Hashable, poll: WaitingPoll | None = None) -> asyncio.Event:
        event = asyncio.Event()
        waiters = self._waiters[key]
        if not waiters and isinstance(key, tuple) and _is_long(key):
            self._long_keys[_digest_key(key)] = key
        waiters[event] = poll
        return event

    def take_poll(self, key: Hashable) -> tuple[asyncio.Event, WaitingPoll] | None:
        """The longest-waiting poll on ``key`` open to a hand-off, no longer a waiter (no
        wake-up meant for another task goes to it meanwhile)."""
        waiters = self._waiters.get(key)
        for event, poll in (waiters or {}).items():
            if poll is not None and poll.waiting and not poll.gone.is_set() and not event.is_set():
                poll.waiting = False
                self.unsubscribe(key, event)
                return event, poll
        return None

    def unsubscribe(self, key: Hashable, event: asyncio.Event) -> None:
        waiters = self._waiters.get(key)
        if waiters is not None:
            waiters.pop(event, None)
            if not waiters:
                del self._waiters[key]
                if isinstance(key, tuple) and _is_long(key):
                    self._long_keys.pop(_digest_key(key), None)

    def notify(self, key: Hashable, count: int | None = None) -> None:
        """Wake every waiter on ``key``, or the first ``count`` not already woken: a task
        is taken by one poller, and waking every poller for it only makes them race."""
        woken = 0
        for event in self._waiters.get(key, ()):
            if count is not None and woken >= count:
                return
            if not event.is_set():
                event.set()
                woken += 1

    def heard(self, key: tuple[str, ...], count: int | None) -> None:
        """A wake-up from another process: its key as sent (wire_key)."""
        self.notify(self._long_keys.get(key, key), count)

    def timer_written(self, fire_time: datetime) -> None:
        if self.timers_checked_at is None or fire_time < self.timers_checked_at:
            self.notify(TIMERS_KEY)

    def notify_all(self) -> None:
        for waiters in self._waiters.values():
            for event in waiters:
                event.set()


def wake_after_commit(
    uow: UnitOfWork, notifier: Notifier, key: tuple[str, ...], count: int | None = None
) -> None:
    """Wake the waiters on ``key`` once ``uow`` commits (all, or ``count`` of them): this
    process's directly, other processes' through the database (PostgreSQL NOTIFY)."""
    uow.after_commit.append(partial(notifier.notify, key, count))
    uow.broadcast(wire_key(key), count)


def wake_timers_after_commit(uow: UnitOfWork, notifier: Notifier, fire_time: datetime) -> None:
    """Wake the timer processors once ``uow`` commits, this process's only if the timer
    is due before it would look anyway; other processes' always."""
    uow.after_commit.append(partial(notifier.timer_written, fire_time))
    uow.broadcasts[json.dumps(TIMERS_KEY)] = None


# A key travels to other processes in a NOTIFY payload, which PostgreSQL caps at 8,000
# bytes: a key with long ids (a queue and a workflow id of 1,000 emoji each are 24,000
# bytes of JSON) goes as a digest of fixed size, under which this process's waiters on
# it are known (Notifier.heard). Up to 500 characters a key goes as it is (at most some
# 6,000 bytes of JSON, even with every character escaped as a surrogate pair): the keys
# of ids of ordinary length need no digest.
_LONG_KEY_CHARS = 500


def _is_long(key: tuple[str, ...]) -> bool:
    return sum(map(len, key)) > _LONG_KEY_CHARS


def _digest_key(key: tuple[str, ...]) -> tuple[str, ...]:
    text = json.dumps(key, ensure_ascii=False).encode("utf-8", errors="surrogatepass")
    return ("sha256", hashlib.sha256(text).hexdigest())


def wire_key(key: tuple[str, ...]) -> str:
    """``key`` as a NOTIFY payload carries it (JSON), at most some 6,000 bytes."""
    return json.dumps(_digest_key(key) if _is_long(key) else key)


def parse_broadcast(payload: str) -> tuple[tuple[str, ...], int | None]:
    """The key and count of a NOTIFY payload; ValueError when it is not one."""
    message = json.loads(payload)
    key, count = message["key"], message["count"]
    if not isinstance(key, list) or not (count is None or isinstance(count, int)):
        raise ValueError("not a wake-up")
    return tuple(str(part) for part in key), count


TIMERS_KEY = ("timers",)


def history_key(namespace_id: str, workflow_id: str, run_id: str) -> tuple[str, ...]:
    return ("history", namespace_id, workflow_id, run_id)


def close_key(namespace_id: str, workflow_id: str, run_id: str) -> tuple[str, ...]:
    """Woken only when the run closes: result waiters need nothing else."""
    return ("closed", namespace_id, workflow_id, run_id)


def queue_key(namespace_id: str, task_queue: str, task_type: str) -> tuple[str, ...]:
    return ("queue", namespace_id, task_queue, task_type)
