"""Cron schedules as Temporal reads them: five fields or a descriptor (``@hourly``,
``@every 90s``), optional ``CRON_TZ=`` prefix, evaluated in UTC by default. Pure."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter

_EVERY = re.compile(r"^@every\s+((?:\d+(?:\.\d+)?(?:ms|s|m|h))+)$")
_EVERY_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
# Temporal reads ``@every`` as a Go duration, at most 2^63 - 1 ns (about 292 years); a
# longer one would overflow the next fire time.
_MAX_EVERY_SECONDS = (2**63 - 1) / 1e9
# Where validate() tries a schedule. Five fields repeat every 400 years, so one that finds
# no time after this date finds none after any other.
_REFERENCE = datetime(2000, 1, 1, tzinfo=UTC)


class InvalidCron(ValueError):
    pass


def _split_zone(schedule: str) -> tuple[str, ZoneInfo | None]:
    text = schedule.strip()
    if text.startswith(("CRON_TZ=", "TZ=")):
        zone_name, _, rest = text.partition(" ")
        try:
            return rest.strip(), ZoneInfo(zone_name.split("=", 1)[1])
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidCron(f"unknown time zone in {schedule!r}") from None
    return text, None


def _every_seconds(expression: str) -> float | None:
    match = _EVERY.match(expression)
    if not match:
        return None
    total = sum(float(n) * _UNIT_SECONDS[u] for n, u in _EVERY_PART.findall(match.group(1)))
    if total <= 0:
        raise InvalidCron("@every needs a positive interval")
    if total > _MAX_EVERY_SECONDS:
        raise InvalidCron("@every is longer than 2562047h, the longest duration Temporal reads")
    return total


def validate(schedule: str) -> None:
    expression, _ = _split_zone(schedule)
    if _every_seconds(expression) is not None:
        return
    if len(expression.split()) != 5 and not expression.startswith("@"):
        raise InvalidCron(f"invalid cron schedule {schedule!r}: expected five fields")
    if not croniter.is_valid(expression):
        raise InvalidCron(f"invalid cron schedule {schedule!r}")
    # croniter accepts schedules it cannot iterate: a day that never comes (``0 0 31 2
    # *``, the fifth Sunday of a month on its first day); such a schedule never fires.
    _next_fire(schedule, expression, _REFERENCE)


def _next_fire(schedule: str, expression: str, base: datetime) -> datetime:
    try:
        fire: datetime = croniter(expression, base).get_next(datetime)
    except (CroniterError, OverflowError) as exc:
        raise InvalidCron(f"cron schedule {schedule!r} never fires") from exc
    return fire


def backoff_until_next(schedule: str, now: datetime, since: datetime | None = None) -> float:
    """Seconds from ``now`` to the next fire time strictly after it, rounded up to whole
    seconds as Temporal does; InvalidCron when there is none."""
    expression, zone = _split_zone(schedule)
    every = _every_seconds(expression)
    if every is not None:
        # A constant interval counts from the previous fire time (``since``, the run's
        # own start) or from now, never from a clock boundary; missed fires are skipped.
        if since is None or since > now:
            return float(math.ceil(every))
        passed = math.floor((now - since).total_seconds() / every) + 1
        following = since + timedelta(seconds=passed * every)
        return float(math.ceil((following - now).total_seconds()))
    base = now.astimezone(zone) if zone else now
    next_fire = _next_fire(schedule, expression, base)
    delta: timedelta = next_fire - base
    return float(math.ceil(delta.total_seconds()))
