"""Drawing on budgets: fixed windows of the injected clock, a refusal that gives back
what the request had taken, and the figures behind the X-RateLimit-* headers."""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from redis.exceptions import RedisError

from app.clock import Clock
from app.errors import ApiError, ErrorCode
from app.rate_limits.rules import Budget, Limit, budgets
from app.rate_limits.store import CounterStore, open_store
from app.settings import Settings

log = logging.getLogger("app.rate_limits")

# A limiter whose store is unreachable lets requests through (and says so in the log):
# an outage of Redis must not become an outage of the API.
STORE_ERRORS = (RedisError, OSError)


@dataclass(frozen=True)
class Usage:
    """Where one scope stands in its current window."""

    budget: Budget
    scope: str
    used: int
    reset_at: float
    now: float

    @property
    def remaining(self) -> int:
        return max(0, self.budget.amount - self.used)

    @property
    def fullness(self) -> float:
        return self.used / self.budget.amount

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset_at - self.now))

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.budget.amount),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
            "X-RateLimit-Scope": self.scope,
        }

    def refusal(self) -> ApiError:
        what = self.scope.replace(":", " '", 1) + "'" if ":" in self.scope else self.scope
        return ApiError(
            ErrorCode.RESOURCE_EXHAUSTED,
            f"Rate limit exceeded for {what} ({self.budget.limit.value})",
            [
                {
                    "type": "RateLimitExceeded",
                    "scope": self.scope,
                    "limit": self.budget.amount,
                    "window": self.budget.window,
                    "retry_after": self.retry_after,
                    "category": self.budget.limit.value,
                }
            ],
            headers={**self.headers(), "Retry-After": str(self.retry_after)},
        )


def nearest(usages: Iterable[Usage | None]) -> Usage | None:
    """The usage closest to its limit: the one the headers report."""
    known = [u for u in usages if u is not None]
    return max(known, key=lambda u: u.fullness) if known else None


@dataclass(frozen=True)
class Slot:
    key: str
    member: str


class RateLimiter:
    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.budgets = budgets(settings)
        self.enabled = settings.rate_limits_enabled
        self._clock = clock
        self._prefix = settings.rate_limit_key_prefix
        self._store: CounterStore = open_store(settings.rate_limit_storage)

    async def close(self) -> None:
        await self._store.close()

    def _window(self, budget: Budget, scope: str) -> tuple[str, float, float]:
        now = self._clock.now().timestamp()
        index = math.floor(now / budget.window_seconds)
        key = f"{self._prefix}:{budget.limit.value}:{scope}:{index}"
        return key, (index + 1) * budget.window_seconds, now

    async def take(self, draws: list[tuple[Limit, str]]) -> Usage | None:
        """Take one unit from each (budget, scope); when any is spent, give back what was
        taken and raise RESOURCE_EXHAUSTED. Returns the usage nearest its limit."""
        if not self.enabled:
            return None
        taken: list[tuple[str, Budget]] = []
        usages = []
        try:
            for limit, scope in draws:
                budget = self.budgets[limit]
                key, reset_at, now = self._window(budget, scope)
                used = await self._store.add(key, 1, budget.window_seconds * 2, now)
                taken.append((key, budget))
                usage = Usage(budget, scope, used, reset_at, now)
                if used > budget.amount:
                    for key_taken, budget_taken in taken:
                        await self._store.add(key_taken, -1, budget_taken.window_seconds * 2, now)
                    raise usage.refusal()
                usages.append(usage)
        except STORE_ERRORS as exc:
            log.warning("rate limits not applied, their store failed: %s", exc)
            return None
        return nearest(usages)

    async def check(self, limit: Limit, scope: str) -> Usage | None:
        """Refuse when the budget is already spent, without drawing on it (for budgets
        that are charged after the work, by how much it used)."""
        if not self.enabled:
            return None
        budget = self.budgets[limit]
        key, reset_at, now = self._window(budget, scope)
        try:
            used = await self._store.get(key)
        except STORE_ERRORS as exc:
            log.warning("rate limits not applied, their store failed: %s", exc)
            return None
        usage = Usage(budget, scope, used, reset_at, now)
        if used >= budget.amount:
            raise usage.refusal()
        return usage

    async def spend(self, limit: Limit, scope: str, amount: int) -> None:
        if not self.enabled or amount <= 0:
            return
        budget = self.budgets[limit]
        key, _, now = self._window(budget, scope)
        try:
            await self._store.add(key, amount, budget.window_seconds * 2, now)
        except STORE_ERRORS as exc:
            log.warning("rate limits not applied, their store failed: %s", exc)

    async def enter(self, limit: Limit, scope: str) -> Slot | None:
        """Hold one of the scope's concurrent slots until leave(); refuse when all are held."""
        if not self.enabled:
            return None
        budget = self.budgets[limit]
        now = self._clock.now().timestamp()
        slot = Slot(f"{self._prefix}:{limit.value}:{scope}", uuid.uuid4().hex)
        try:
            joined = await self._store.enter(
                slot.key, slot.member, budget.amount, now + budget.window_seconds, now
            )
        except STORE_ERRORS as exc:
            log.warning("rate limits not applied, their store failed: %s", exc)
            return None
        if not joined:
            error = Usage(budget, scope, budget.amount, now + 1, now).refusal()
            error.details[0]["window"] = "concurrent"
            raise error
        return slot

    async def leave(self, slot: Slot | None) -> None:
        if slot is None:
            return
        try:
            await self._store.leave(slot.key, slot.member)
        except STORE_ERRORS as exc:
            log.warning("a long-poll slot was not released, its store failed: %s", exc)
