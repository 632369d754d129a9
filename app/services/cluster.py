"""The cluster as its database records it: the one cluster id, the fixed shard count, and
the gateway processes that are members (registered, heartbeating, reaped when silent)."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app import __version__
from app.db.tables import ClusterMemberRow, ClusterMetadata

CLUSTER_ID_KEY = "cluster_id"
SHARD_COUNT_KEY = "shard_count"
PARTITIONS_KEY = "task_queue_partitions"
ROLE = "frontend,history,matching"


@dataclass(frozen=True)
class Self:
    """This process as a member."""

    identity: str
    rpc_address: str
    rpc_port: int

    @classmethod
    def of_this_process(cls, host: str, port: int) -> Self:
        identity = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        return cls(identity, host, port)


async def _metadata(session: AsyncSession, key: str, default: str) -> str:
    row = await session.get(ClusterMetadata, key)
    if row is None:
        row = ClusterMetadata(key=key, value=default)
        session.add(row)
        await session.flush()
    return row.value


async def cluster_id(session: AsyncSession) -> str:
    return await _metadata(session, CLUSTER_ID_KEY, str(uuid.uuid4()))


async def fix_once(session: AsyncSession, key: str, wanted: int) -> int:
    """A setting chosen once, when the database is new (workflow ids stay in their shard
    and tasks in their partition for ever): a different value later is refused."""
    stored = int(await _metadata(session, key, str(wanted)))
    if stored != wanted:
        raise RuntimeError(
            f"this database was created with {key}={stored}; the setting asks for {wanted} "
            f"(it cannot change; set TEMPORAL_GATEWAY_{key.upper()}={stored})"
        )
    return stored


async def join(session: AsyncSession, me: Self, now: datetime) -> None:
    session.add(
        ClusterMemberRow(
            identity=me.identity,
            role=ROLE,
            rpc_address=me.rpc_address,
            rpc_port=me.rpc_port,
            version=__version__,
            session_start_time=now,
            last_heartbeat_time=now,
        )
    )
    await session.flush()


async def heartbeat(session: AsyncSession, me: Self, now: datetime, silence: float) -> None:
    """Refresh this member (re-joining if it was reaped while stalled) and reap members
    silent for longer than ``silence`` seconds."""
    row = await session.get(ClusterMemberRow, me.identity)
    if row is None:
        await join(session, me, now)
    else:
        row.last_heartbeat_time = now
        await session.flush()
    await session.execute(
        delete(ClusterMemberRow).where(
            col(ClusterMemberRow.last_heartbeat_time) < now - timedelta(seconds=silence)
        )
    )


async def leave(session: AsyncSession, me: Self) -> None:
    await session.execute(
        delete(ClusterMemberRow).where(col(ClusterMemberRow.identity) == me.identity)
    )


async def members(session: AsyncSession, now: datetime, silence: float) -> list[ClusterMemberRow]:
    """The live members, oldest first (a silent one is not listed even before it is
    reaped)."""
    query = (
        select(ClusterMemberRow)
        .where(col(ClusterMemberRow.last_heartbeat_time) >= now - timedelta(seconds=silence))
        .order_by(col(ClusterMemberRow.session_start_time), col(ClusterMemberRow.identity))
    )
    return list((await session.execute(query)).scalars())
