"""The Admin API's cluster operations: what this cluster is and which processes serve it."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.context import AppContext, context
from app.models.cluster import DescribeClusterResponse, ListClusterMembersResponse
from app.permissions import Permission, requires
from app.routers.docs import errors
from app.routers.strict_json import StrictJsonRoute
from app.services import cluster

router = APIRouter(prefix="/api/v1/cluster", tags=["Admin"], route_class=StrictJsonRoute)


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
    return await cluster.describe_cluster(ctx.db, ctx.settings, ctx.clock)


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
    return await cluster.list_cluster_members(ctx.db, ctx.settings, ctx.clock)
