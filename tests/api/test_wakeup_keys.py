"""Wake-up keys as other processes hear them (PostgreSQL NOTIFY, at most 8,000 bytes a
payload): small whatever the ids, and a long key's digest still wakes its waiters."""

from __future__ import annotations

import json

from app.services.notifier import Notifier, parse_broadcast, queue_key, wire_key

LONG = queue_key("namespace-id", "🚀" * 1000, "workflow")
SHORT = queue_key("namespace-id", "orders", "workflow")


def _message(key: tuple[str, ...]) -> str:
    # As app.db.database sends it.
    return json.dumps({"key": json.loads(wire_key(key)), "count": 1})


def test_a_wire_key_is_small_whatever_the_ids() -> None:
    assert len(_message(LONG).encode()) < 200
    assert json.loads(wire_key(SHORT)) == list(SHORT)  # short keys go as they are
    # The longest key that goes as it is: 500 characters, each escaped to 12 bytes.
    longest_short = queue_key("n" * 36, "😀" * (500 - 36 - 13), "workflow")
    assert json.loads(wire_key(longest_short)) == list(longest_short)
    assert len(_message(longest_short).encode()) < 8000


def test_a_long_key_heard_from_elsewhere_wakes_its_waiters_here() -> None:
    notifier = Notifier()
    waiting = notifier.subscribe(LONG)
    other = notifier.subscribe(queue_key("namespace-id", "🚀" * 999, "workflow"))
    key, count = parse_broadcast(_message(LONG))
    notifier.heard(key, count)
    assert waiting.is_set() and not other.is_set()


def test_a_digest_is_forgotten_with_its_last_waiter() -> None:
    notifier = Notifier()
    first, second = notifier.subscribe(LONG), notifier.subscribe(LONG)
    notifier.unsubscribe(LONG, first)
    notifier.unsubscribe(LONG, second)
    again = notifier.subscribe(SHORT)
    key, count = parse_broadcast(_message(LONG))
    notifier.heard(key, count)  # nobody waits on it here any more: nothing to wake
    assert not again.is_set()
    assert not notifier._long_keys
