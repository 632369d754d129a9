"""Where the counters live: a dict for one process, Redis for several. Both count in keys
that name their window, so a window's count is never reset early or carried over; expiry
only reclaims old windows."""

from __future__ import annotations

from typing import Protocol

import redis.asyncio as redis

# Atomic "join unless full" on a sorted set of (member, deadline): members past their
# deadline (a process died holding them) are dropped first.
_ENTER = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class CounterStore(Protocol):
    async def add(self, key: str, amount: int, ttl_seconds: int, now: float) -> int:
        """Add to a counter and return its new value."""

    async def get(self, key: str) -> int: ...

    async def enter(
        self, key: str, member: str, capacity: int, deadline: float, now: float
    ) -> bool:
        """Join a bounded set unless it already holds ``capacity`` live members."""

    async def leave(self, key: str, member: str) -> None: ...

    async def close(self) -> None: ...


class MemoryStore:
    PRUNE_ABOVE = 10_000

    def __init__(self) -> None:
        self._counters: dict[str, tuple[int, float]] = {}
        self._sets: dict[str, dict[str, float]] = {}

    async def add(self, key: str, amount: int, ttl_seconds: int, now: float) -> int:
        if len(self._counters) > self.PRUNE_ABOVE:
            self._counters = {k: v for k, v in self._counters.items() if v[1] > now}
        value = self._counters.get(key, (0, 0.0))[0] + amount
        self._counters[key] = (value, now + ttl_seconds)
        return value

    async def get(self, key: str) -> int:
        return self._counters.get(key, (0, 0.0))[0]

    async def enter(
        self, key: str, member: str, capacity: int, deadline: float, now: float
    ) -> bool:
        members = {m: d for m, d in self._sets.get(key, {}).items() if d > now}
        if len(members) >= capacity:
            self._sets[key] = members
            return False
        members[member] = deadline
        self._sets[key] = members
        return True

    async def leave(self, key: str, member: str) -> None:
        members = self._sets.get(key)
        if members is not None:
            members.pop(member, None)
            if not members:
                del self._sets[key]

    async def close(self) -> None:
        return None


class RedisStore:
    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._enter = self._client.register_script(_ENTER)

    async def add(self, key: str, amount: int, ttl_seconds: int, now: float) -> int:
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.incrby(key, amount)
            pipe.expire(key, ttl_seconds)
            value, _ = await pipe.execute()
        return int(value)

    async def get(self, key: str) -> int:
        value = await self._client.get(key)
        return int(value) if value is not None else 0

    async def enter(
        self, key: str, member: str, capacity: int, deadline: float, now: float
    ) -> bool:
        ttl = max(1, int(deadline - now) + 1)
        joined = await self._enter(keys=[key], args=[now, capacity, deadline, member, ttl])
        return bool(joined)

    async def leave(self, key: str, member: str) -> None:
        await self._client.zrem(key, member)

    async def close(self) -> None:
        await self._client.aclose()


def open_store(url: str) -> CounterStore:
    if url.startswith("memory://"):
        return MemoryStore()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(url)
    raise ValueError(f"rate_limit_storage must be memory:// or redis://…, not {url!r}")
