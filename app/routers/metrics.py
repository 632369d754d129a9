"""GET /metrics: the gateway's Prometheus metrics (docs/metrics.md lists them)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.context import AppContext, context
from app.errors import ApiError, ErrorCode
from app.observability import scrape
from app.permissions import Permission, requires_unmetered
from app.routers.docs import errors

router = APIRouter(tags=["Health"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "Prometheus's text exposition format.",
        },
        **errors(404),
    },
    **requires_unmetered(Permission.CLUSTER_READ),
)
async def metrics(ctx: AppContext = Depends(context)) -> Response:
    """Request counts and latencies by route template, waiting long polls, task-queue
    backlog, dispatch latency, workflow starts and closes, timer lag, database commit
    latency and rate-limit refusals, in Prometheus's text format. Needs
    `temporal:cluster:read` when authentication is on; draws on no rate-limit budget.
    404 when TEMPORAL_GATEWAY_METRICS_ENABLED is false."""
    if not ctx.metrics.enabled:
        raise ApiError(ErrorCode.NOT_FOUND, "Metrics are off (TEMPORAL_GATEWAY_METRICS_ENABLED).")
    return Response(await scrape.exposition(ctx), media_type=CONTENT_TYPE_LATEST)
