"""The cluster as its database records it: the one cluster id, the fixed shard count, and
the gateway processes that are members (registered, heartbeating, reaped when silent);
and the Admin API's use cases over it (`describe_cluster`, `list_cluster_members`)."""

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
from app.clock import Clock
from app.db.database import Database
from app.db.tables import ClusterMemberRow, ClusterMetadata
from app.models.cluster import (
    ClusterInfo,
    ClusterMember,
    DescribeClusterResponse,
    ListClusterMembersResponse,
)
from app.settings import Settings

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


def _member(row: ClusterMemberRow, timeout: float) -> ClusterMember:
    return ClusterMember(
        role=row.role,
        host_id=row.identity,
        rpc_address=row.rpc_address,
        rpc_port=row.rpc_port,
        version=row.version,
        session_start_time=row.session_start_time,
        last_heartbeat_time=row.last_heartbeat_time,
        record_expiry_time=row.last_heartbeat_time + timedelta(seconds=timeout),
    )


async def _live_members(
    session: AsyncSession, settings: Settings, clock: Clock
) -> list[ClusterMember]:
    timeout = settings.member_timeout_seconds
    return [_member(row, timeout) for row in await members(session, clock.now(), timeout)]


async def describe_cluster(
    db: Database, settings: Settings, clock: Clock
) -> DescribeClusterResponse:
    """DescribeCluster: the cluster's name and id, server version, stores, shard count
    and its live members (one read)."""
    async with db.read() as session:
        the_id = await cluster_id(session)
        live = await _live_members(session, settings, clock)
    info = ClusterInfo(
        cluster_name=settings.cluster_name,
        cluster_id=the_id,
        server_version=__version__,
        persistence_store=db.dialect,
        visibility_store=db.dialect,
        history_shard_count=settings.shard_count,
        supported_api_versions=["v1"],
    )
    return DescribeClusterResponse(cluster_info=info, membership_info=live)


async def list_cluster_members(
    db: Database, settings: Settings, clock: Clock
) -> ListClusterMembersResponse:
    """ListClusterMembers: the live members, oldest first."""
    async with db.read() as session:
        live = await _live_members(session, settings, clock)
    return ListClusterMembersResponse(active_members=live)
