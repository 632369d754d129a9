"""The gRPC listener, started in the app's lifespan on uvicorn's event loop."""

from __future__ import annotations

import logging

import grpc

import app.grpc.namespace_rpcs
import app.grpc.visibility_rpcs
import app.grpc.workflow_rpcs
from app.context import AppContext
from app.grpc import health
from app.grpc.services import OPERATOR_SERVICE, WORKFLOW_SERVICE

# The RPC modules register into the services when imported.
RPC_MODULES = (app.grpc.namespace_rpcs, app.grpc.visibility_rpcs, app.grpc.workflow_rpcs)

MAX_MESSAGE_BYTES = 128 << 20  # what sdk-core decodes; grpcio's default is 4 MiB
OPTIONS = [
    # grpcio shares a port with any other process that binds it by default, and the
    # kernel then splits connections between them.
    ("grpc.so_reuseport", 0),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    # The SDKs ping idle connections every 30 s; by default each ping is a strike and
    # the second strike closes the connection.
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.max_ping_strikes", 0),
]
STOP_GRACE_SECONDS = 5.0
log = logging.getLogger("app.grpc")


class GrpcServer:
    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx
        self._server: grpc.aio.Server | None = None

    async def start(self) -> None:
        settings = self._ctx.settings
        server = grpc.aio.server(options=OPTIONS)
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
        log.info("gRPC (Temporal's WorkflowService) on %s:%d", host, settings.grpc_port)

    async def stop(self) -> None:
        """Calls in flight get the grace to finish (long polls have been answered by the
        drain that comes first); the rest are cancelled."""
        if self._server is not None:
            await self._server.stop(STOP_GRACE_SECONDS)
            self._server = None
