"""What /readyz reports: whether this process should be sent traffic. Each check has a
name and a line saying why it failed; a check after a failed one is not run."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import Protocol

from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.migrate import MIGRATIONS
from app.db.tables import ClusterMemberRow, ShardRow, table_of
from app.errors import ApiError
from app.services.dependencies import (
    HasClock,
    HasDb,
    HasDraining,
    HasMe,
    HasOwnership,
    HasSettings,
)

OK = "ok"
NOT_CHECKED = "not checked"
# Below a probe's usual timeout (Kubernetes' default is 1 s, the Dockerfile's 5 s): a
# database that hangs is reported, not waited for.
CHECK_SECONDS = 0.9
CHECKS = ("shutdown", "database", "migrations", "cluster")

_MEMBERS = table_of(ClusterMemberRow)
_SHARDS = table_of(ShardRow)


class Member(HasDb, HasClock, HasSettings, HasMe, HasOwnership, Protocol):
    """This process as a cluster member: its heartbeat and leases as the database holds
    them, against its own view of its shards."""


class Checking(HasDb, HasClock, HasSettings, HasDraining, HasMe, HasOwnership, Protocol):
    """/readyz: not draining, then the database, its schema and this member."""


@dataclass
class Readiness:
    checks: dict[str, str] = field(default_factory=lambda: dict.fromkeys(CHECKS, NOT_CHECKED))
    failed: list[str] = field(default_factory=list)

    def fail(self, check: str, why: str) -> Readiness:
        self.checks[check] = why
        self.failed.append(check)
        return self


@cache
def schema_head() -> frozenset[str]:
    """The migration heads this gateway's code expects (read once from its scripts)."""
    return frozenset(ScriptDirectory(str(MIGRATIONS)).get_heads())


async def check(ctx: Checking) -> Readiness:
    """Not draining; the database answers; its schema is at this code's head; and, on
    PostgreSQL (where several gateways share the database), this process is a live
    member that holds shard leases."""
    result = Readiness()
    if ctx.draining.is_set():
        return result.fail("shutdown", "draining: the server is stopping")
    result.checks["shutdown"] = OK
    try:
        async with asyncio.timeout(CHECK_SECONDS), ctx.db.read() as session:
            await session.execute(text("SELECT 1"))
            result.checks["database"] = OK
            return await _schema_and_cluster(ctx, session, result)
    except TimeoutError:
        return result.fail(_running(result), f"no answer within {CHECK_SECONDS:g} s")
    except (ApiError, DBAPIError, OSError) as exc:
        return result.fail(_running(result), f"the database failed ({exc.__class__.__name__})")


def _running(result: Readiness) -> str:
    """The check under way when the database stopped answering."""
    return next(name for name in CHECKS if result.checks[name] == NOT_CHECKED)


async def _schema_and_cluster(ctx: Member, session: AsyncSession, result: Readiness) -> Readiness:
    try:
        versions = set(
            (await session.execute(text("SELECT version_num FROM alembic_version"))).scalars()
        )
    except DBAPIError:
        return result.fail("migrations", "no schema version recorded (alembic_version)")
    if versions != schema_head():
        return result.fail(
            "migrations",
            f"the schema is at {', '.join(sorted(versions)) or 'nothing'}; this gateway "
            f"expects {', '.join(sorted(schema_head()))}",
        )
    result.checks["migrations"] = OK
    if ctx.db.is_sqlite:
        result.checks["cluster"] = "ok: one process (SQLite)"
        return result
    why = await _cluster_problem(ctx, session)
    if why:
        return result.fail("cluster", why)
    result.checks["cluster"] = OK
    return result


async def _cluster_problem(ctx: Member, session: AsyncSession) -> str:
    """Why this process is not a full member yet (or any more), or "" when it is."""
    now = ctx.clock.now()
    silence = timedelta(seconds=ctx.settings.member_timeout_seconds)
    me = ctx.me.identity
    heard = (
        await session.execute(
            select(_MEMBERS.c.last_heartbeat_time).where(_MEMBERS.c.identity == me)
        )
    ).scalar_one_or_none()
    if heard is None or heard < now - silence:
        return f"not a live cluster member ({me} has not renewed its membership)"
    held = set(
        (
            await session.execute(
                select(_SHARDS.c.shard_id).where(
                    _SHARDS.c.owner == me, _SHARDS.c.lease_expiry_time > now
                )
            )
        ).scalars()
    )
    lost = sorted(set(ctx.ownership.owned) - held)
    if lost:
        return f"its leases on shards {lost} lapsed or were taken over"
    if held:
        return ""
    live = (
        await session.execute(
            select(func.count())
            .select_from(_MEMBERS)
            .where(_MEMBERS.c.last_heartbeat_time >= now - silence)
        )
    ).scalar_one()
    if live > ctx.db.shard_count:  # more members than shards: some hold none, by design
        return ""
    return "holds no shard lease yet (its share is still held by other members)"
