"""The Admin API's cluster operations: what this cluster is and which processes serve it."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends

from app import __version__
from app.context import AppContext, context
from app.db.tables import ClusterMemberRow
from app.models.cluster import (
    ClusterInfo,
    ClusterMember,
    DescribeClusterResponse,
    ListClusterMembersResponse,
)
from app.permissions import Permission, requires
from app.routers.docs import errors
from app.routers.strict_json import StrictJsonRoute
from app.services import cluster

router = APIRouter(prefix="/api/v1/cluster", tags=["Admin"], route_class=StrictJsonRoute)


async def _members(ctx: AppContext) -> list[ClusterMember]:
    timeout = ctx.settings.member_timeout_seconds
    async with ctx.db.read() as session:
        rows = await cluster.members(session, ctx.clock.now(), timeout)
    return [_member(row, timeout) for row in rows]


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


@router.get(
    "",
    response_model=DescribeClusterResponse,
    summary="DescribeCluster",
    **requires(Permission.CLUSTER_READ),
    responses=errors(),
)
async def describe_cluster(ctx: AppContext = Depends(context)) -> DescribeClusterResponse:
    """The cluster's name and id, server version, stores, shard count and the gateway
    processes that are members now (those that heartbeat)."""
    async with ctx.db.read() as session:
        cluster_id = await cluster.cluster_id(session)
    store = ctx.db.dialect
    info = ClusterInfo(
        cluster_name=ctx.settings.cluster_name,
        cluster_id=cluster_id,
        server_version=__version__,
        persistence_store=store,
        visibility_store=store,
        history_shard_count=ctx.settings.shard_count,
        supported_api_versions=["v1"],
    )
    return DescribeClusterResponse(cluster_info=info, membership_info=await _members(ctx))


@router.get(
    "/members",
    response_model=ListClusterMembersResponse,
    summary="ListClusterMembers",
    **requires(Permission.CLUSTER_READ),
    responses=errors(),
)
async def list_cluster_members(ctx: AppContext = Depends(context)) -> ListClusterMembersResponse:
    """The gateway processes serving this cluster, oldest first, with their last
    heartbeat; a process silent for the member timeout is no longer listed."""
    return ListClusterMembersResponse(active_members=await _members(ctx))
