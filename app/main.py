"""The application factory."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from sqlalchemy.exc import DBAPIError

from app import __version__, error_handlers, route_index
from app.clock import Clock, SystemClock
from app.context import AppContext
from app.db.database import Database, describe_url
from app.db.migrate import migrate
from app.errors import ApiError
from app.input_limits import InputLimitsMiddleware
from app.observability.metrics import NO_METRICS, Metrics
from app.observability.requests import ObservedRequests
from app.rate_limits.middleware import RateLimitHeadersMiddleware
from app.routers import (
    activities,
    api_keys,
    explorer,
    health,
    history,
    metrics,
    namespaces,
    queries,
    task_queues,
    visibility,
    worker,
    workers,
    workflows,
)
from app.routers import cluster as cluster_routes
from app.routers import shards as shards_routes
from app.routers.docs import name_operations
from app.services import cluster, shards
from app.services import namespaces as namespace_service
from app.services.membership import MembershipHeartbeat, ShardBalancer
from app.services.notifier import Notifier
from app.services.planner_statistics import PlannerStatistics
from app.services.timers import TimerProcessor
from app.services.tokens import TokenSigner, load_or_create_secret
from app.services.wakeups import CrossProcessWakeups
from app.settings import Settings
from app.versioning import ApiVersionMiddleware

log = logging.getLogger("app")
YOUNG_COLLECTION_EVERY = 3000  # net allocations of tracked objects
LEAVE_SECONDS = 2.0  # the stop's last database step, within its 5 s

DESCRIPTION = """
Temporal's model of durable execution — workflows as event-sourced histories, signals,
cancellation, termination — served as plain HTTP/JSON.

Errors always use one envelope: `{"error": {"code", "message", "details"}}`.
Send `Temporal-API-Version: v1` (or nothing) to pick the API version.
"""

# The routers in the order the API reference presents them (the OpenAPI document's).
DOCUMENTED: tuple[APIRouter, ...] = (
    health.router,
    metrics.router,
    api_keys.router,
    cluster_routes.router,
    shards_routes.router,
    namespaces.router,
    visibility.router,
    workflows.router,
    activities.router,
    queries.router,
    history.router,
    worker.router,
    task_queues.router,
    workers.router,
)


async def _start(ctx: AppContext) -> None:
    ctx.db.claim_sole_server()
    await migrate(ctx.db)
    async with ctx.db.write() as uow:
        await cluster.cluster_id(uow.session)
        ctx.db.shard_count = await cluster.fix_once(
            uow.session, cluster.SHARD_COUNT_KEY, ctx.settings.shard_count
        )
        ctx.db.partition_count = await cluster.fix_once(
            uow.session,
            cluster.PARTITIONS_KEY,
            ctx.settings.partitions_for(ctx.db.is_sqlite),
        )
        await cluster.join(uow.session, ctx.me, ctx.clock.now())
        await shards.ensure_rows(uow.session, ctx.db.shard_count)
        # This member's share of shards before serving, so its timers fire from the start.
        await ShardBalancer(ctx).balance(uow.session)
        ctx.tokens = TokenSigner(await load_or_create_secret(uow.session))
        if ctx.settings.create_default_namespace:
            await namespace_service.ensure_default(
                uow.session, ctx.settings.cluster_name, ctx.clock.now()
            )


async def _leave(ctx: AppContext) -> None:
    """Hand this member's shards to the others now rather than when the leases lapse,
    within a bound: a stop must not hang on an unreachable database."""
    try:
        async with asyncio.timeout(LEAVE_SECONDS):
            async with ctx.db.write() as uow:
                await shards.release_all(uow.session, ctx.me, ctx.ownership, ctx.clock.now())
                await cluster.leave(uow.session, ctx.me)
    except (TimeoutError, ApiError, DBAPIError, OSError) as exc:
        log.warning(
            "could not leave the cluster (%s); its shard leases lapse within %g s",
            exc.__class__.__name__,
            ctx.settings.shard_lease_seconds,
        )


def _document_truthfully(app: FastAPI, documented: Sequence[APIRouter]) -> None:
    """FastAPI documents a 422 on every route, but validation errors are rendered as 400
    INVALID_ARGUMENT in the spec's envelope; drop the 422 so the document tells the truth,
    and declare the Bearer scheme. Paths are listed router by router in ``documented``'s
    order, not in the order requests are matched."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            order: dict[str, int] = {}
            for router in documented:
                for route in router.routes:
                    order.setdefault(getattr(route, "path", ""), len(order))
            paths = schema.get("paths", {})
            schema["paths"] = dict(sorted(paths.items(), key=lambda item: order.get(item[0], -1)))
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    operation.get("responses", {}).pop("422", None)
                    permission = operation.get("x-permission")
                    if permission:
                        operation["description"] = (
                            operation.get("description", "") + f"\n\nPermission: `{permission}`."
                        )
                    budgets = [
                        "api_requests",
                        "client_api_calls",
                        *operation.get("x-rate-limits", []),
                    ]
                    if permission and not operation.get("x-unmetered"):
                        operation["description"] += (
                            "\n\nRate limits: " + ", ".join(f"`{b}`" for b in budgets) + "."
                        )
            components = schema.setdefault("components", {})
            for name in ("HTTPValidationError", "ValidationError"):
                components.get("schemas", {}).pop(name, None)
            # Declared so the explorer's Authorize button takes a token; `{}` keeps every
            # operation callable without one until authentication is configured.
            components["securitySchemes"] = {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A JWT or an API key.",
                }
            }
            schema["security"] = [{"bearerAuth": []}, {}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    clock = clock or SystemClock()
    ctx = AppContext(
        settings=settings,
        db=Database(
            settings.database_url,
            sqlite_synchronous=settings.sqlite_synchronous,
            clock=clock,
            metrics=Metrics(__version__) if settings.metrics_enabled else NO_METRICS,
        ),
        clock=clock,
        notifier=Notifier(),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        log.info("database: %s", describe_url(settings.database_url))
        try:
            await _start(ctx)
        except BaseException:
            # A start that fails (a database created with another shard count, say)
            # closes its connections rather than leave them to the garbage collector.
            await ctx.db.close()
            raise
        wakeups = (
            None if ctx.db.is_sqlite else CrossProcessWakeups(settings.database_url, ctx.notifier)
        )
        if wakeups is not None:
            await wakeups.start()
        if settings.run_background_loops:
            for loop in ctx.loops:
                loop.start()
        grpc_server = None
        try:
            # The second door, on this event loop, over the same context and services
            # (in the try: a port it cannot bind still undoes what start-up did).
            if settings.grpc_port:
                # Imported only to serve: grpcio and the protos are ~21 MiB of a
                # process's memory, which a gateway with gRPC off does not pay.
                from app.grpc.server import GrpcServer

                grpc_server = GrpcServer(ctx)
                await grpc_server.start()
            # What start-up built (routes, models, tables) lives as long as the process: out
            # of the collector's generations, each full collection walks far fewer objects.
            gc.freeze()
            # Python's default young collection, every 700 net allocations, ran every few
            # requests; with the older ones it took ~8 % of the server's CPU in the bench's
            # workloads, and a request's objects still alive at each one were walked again
            # when older. Every 3,000: most of them are garbage by then; young pauses ~0.5 ms.
            gc.set_threshold(YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])
            yield
        finally:
            ctx.drain()  # served in-process (tests): no wait outlives the app either
            if grpc_server is not None:
                await grpc_server.stop()
            for loop in ctx.loops:
                await loop.stop()
            if wakeups is not None:
                await wakeups.stop()
            await _leave(ctx)
            await ctx.db.close()
            await ctx.rate_limiter.close()

    app = FastAPI(
        title="Temporal Gateway",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # Served by app/routers/explorer.py, with no asset from a CDN.
        docs_url=None,
        redoc_url=None,
        # The gateway configures no OpenTelemetry; FastAPI's check for it, on every
        # request, cost ~1 % of the server's CPU in the bench's end to end.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    _document_truthfully(app, DOCUMENTED)
    explorer.install(app)
    ctx.loops += [TimerProcessor(ctx), MembershipHeartbeat(ctx), ShardBalancer(ctx)]
    if ctx.db.is_sqlite:
        ctx.loops.append(PlannerStatistics(ctx))
    app.state.ctx = ctx
    error_handlers.install(app)
    app.add_middleware(ApiVersionMiddleware, serve_deprecated=settings.serve_v1beta1)
    app.add_middleware(InputLimitsMiddleware, max_bytes=settings.max_request_body_bytes)
    app.add_middleware(RateLimitHeadersMiddleware, limiter=ctx.rate_limiter)
    # Outermost of the gateway's layers: it times and logs what the others do too.
    app.add_middleware(ObservedRequests, metrics=ctx.metrics, access_log=settings.access_log)
    # The routers' routes join the app's own list, ahead of the documentation's, the
    # busiest first; where two fit one path the earlier wins. include_router would keep
    # each router as a unit that FastAPI matches in two passes (an unmatched path 210 ->
    # 129 us without, measured). Prefixes and tags live on the routes. The index then
    # narrows each request to the routes its path could match.
    by_traffic = (  # the same routers as DOCUMENTED
        worker.router,
        visibility.router,  # before workflows: /workflows/count is not a workflow id
        workflows.router,
        history.router,
        activities.router,
        queries.router,
        task_queues.router,
        workers.router,
        namespaces.router,
        health.router,
        metrics.router,
        api_keys.router,
        cluster_routes.router,
        shards_routes.router,
    )
    assert {id(r) for r in by_traffic} == {id(r) for r in DOCUMENTED}
    app.router.routes[0:0] = [route for router in by_traffic for route in router.routes]
    name_operations(app.router.routes)
    route_index.install(app.router)
    return app
