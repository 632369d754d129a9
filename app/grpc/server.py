"""The gRPC listener, started in the app's lifespan on uvicorn's event loop."""

from __future__ import annotations

import asyncio
import logging

import grpc

# The RPC modules register into the services when imported.
import app.grpc.namespace_rpcs
import app.grpc.visibility_rpcs
import app.grpc.worker_rpcs
import app.grpc.workflow_rpcs  # noqa: F401
from app.context import AppContext
from app.grpc import health
from app.grpc.registry import OPERATOR_SERVICE, WORKFLOW_SERVICE

MAX_SEND_BYTES = 128 << 20  # what sdk-core decodes; grpcio's default is 4 MiB
OPTIONS = [
    # grpcio shares a port with any other process that binds it by default, and the
    # kernel then splits connections between them.
    ("grpc.so_reuseport", 0),
    ("grpc.max_send_message_length", MAX_SEND_BYTES),
    # The SDKs ping idle connections every 30 s; by default each ping is a strike and
    # the second strike closes the connection.
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.max_ping_strikes", 0),
]
log = logging.getLogger("app.grpc")


class GrpcServer:
    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx
        self._server: grpc.aio.Server | None = None
        self._stopping: asyncio.Task[None] | None = None

    async def start(self) -> None:
        settings = self._ctx.settings
        # A request as large as REST takes, and no larger.
        receive = ("grpc.max_receive_message_length", settings.max_request_body_bytes)
        server = grpc.aio.server(options=[*OPTIONS, receive])
        server.add_generic_rpc_handlers(
            [
                WORKFLOW_SERVICE.handler(self._ctx),
                OPERATOR_SERVICE.handler(self._ctx),
                health.handler(self._ctx),
            ]
        )
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        server.add_insecure_port(f"{host}:{settings.grpc_port}")
        await server.start()
        self._server = server
        self._stopping = asyncio.create_task(self._stop_when_draining(server))
        log.info("gRPC (Temporal's WorkflowService) on %s:%d", host, settings.grpc_port)

    async def _stop_when_draining(self, server: grpc.aio.Server) -> None:
        """From the stop's first moment (SIGTERM), new calls are refused and those in
        flight get the same grace as REST's requests, in parallel with them (long polls
        have been answered by the drain); the rest are cancelled."""
        await self._ctx.draining.wait()
        await server.stop(self._ctx.settings.shutdown_grace_seconds)

    async def stop(self) -> None:
        """The app's lifespan ends: the stop begun when it drained, finished."""
        self._ctx.drain()
        if self._stopping is not None:
            await self._stopping
            self._stopping = None
