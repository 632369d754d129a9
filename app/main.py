"""The application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from app import __version__, error_handlers
from app.body_limit import BodyLimitMiddleware
from app.clock import Clock, SystemClock
from app.context import AppContext
from app.db.database import Database, describe_url
from app.db.migrate import migrate
from app.routers import health, history, namespaces, workflows
from app.services import namespaces as namespace_service
from app.services.notifier import Notifier
from app.services.page_tokens import PageTokens, load_or_create_secret
from app.services.timers import TimerProcessor
from app.settings import Settings
from app.versioning import ApiVersionMiddleware

log = logging.getLogger("app")

DESCRIPTION = """
Temporal's model of durable execution — workflows as event-sourced histories, signals,
cancellation, termination — served as plain HTTP/JSON.

Errors always use one envelope: `{"error": {"code", "message", "details"}}`.
Send `Temporal-API-Version: v1` (or nothing) to pick the API version.
"""


async def _start(ctx: AppContext) -> None:
    await migrate(ctx.db)
    async with ctx.db.write() as uow:
        ctx.tokens = PageTokens(await load_or_create_secret(uow.session))
        if ctx.settings.create_default_namespace:
            await namespace_service.ensure_default(
                uow.session, ctx.settings.cluster_name, ctx.clock.now()
            )


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    ctx = AppContext(
        settings=settings,
        db=Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous),
        clock=clock or SystemClock(),
        notifier=Notifier(),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        log.info("database: %s", describe_url(settings.database_url))
        await _start(ctx)
        if settings.run_background_loops:
            for loop in ctx.loops:
                loop.start()
        try:
            yield
        finally:
            for loop in ctx.loops:
                await loop.stop()
            await ctx.db.close()

    app = FastAPIOffline(
        title="Temporal Gateway",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        swagger_ui_parameters={"persistAuthorization": True},
    )
    ctx.loops.append(TimerProcessor(ctx))
    app.state.ctx = ctx
    error_handlers.install(app)
    app.add_middleware(ApiVersionMiddleware, serve_deprecated=settings.serve_v1beta1)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_body_bytes)
    for router in (health.router, namespaces.router, workflows.router, history.router):
        app.include_router(router)
    return app
