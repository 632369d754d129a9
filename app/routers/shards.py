"""The Admin API's shard operations, on the lease rows the members keep."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from app.context import AppContext, context
from app.models.cluster import DescribeShardResponse
from app.models.workflows import EmptyResponse
from app.permissions import Permission, requires
from app.routers.docs import errors
from app.routers.strict_json import StrictJsonRoute
from app.services import shard_admin

router = APIRouter(prefix="/api/v1/shards", tags=["Admin"], route_class=StrictJsonRoute)


@router.get(
    "/{shard_id}",
    response_model=DescribeShardResponse,
    summary="DescribeShard",
    **requires(Permission.CLUSTER_READ),
    responses=errors(404),
)
async def describe_shard(shard_id: int, ctx: AppContext = Depends(context)) -> dict[str, Any]:
    """The shard's owner (member identity and address), lease (range_id, acquired and
    expiry times), its running executions, pending timers and how late its most overdue
    timer is (`timer_lag`)."""
    return await shard_admin.describe_shard(ctx, shard_id)


@router.post(
    "/{shard_id}/close",
    response_model=EmptyResponse,
    summary="CloseShard",
    **requires(Permission.CLUSTER_MANAGE),
    responses=errors(404),
)
async def close_shard(shard_id: int, ctx: AppContext = Depends(context)) -> EmptyResponse:
    """Release the shard's lease. A live member acquires it again at its next balance
    (within a third of the lease time), with a higher range_id; no timer is lost or
    fired twice."""
    await shard_admin.close_shard(ctx, shard_id)
    return EmptyResponse()
