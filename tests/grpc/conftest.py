"""A gateway with its gRPC door open on a free port, for the official SDK's client and
the ``temporal`` CLI; its REST side through the ASGI app as elsewhere."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client

from app.clock import ManualClock
from app.main import create_app
from app.settings import Settings
from tests.conftest import IN_PROCESS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class GrpcGateway:
    app: FastAPI
    target: str  # host:port of the gRPC door
    http: httpx.AsyncClient  # its REST side
    clock: ManualClock

    async def client(self, namespace: str = "default", **options: object) -> Client:
        return await Client.connect(self.target, namespace=namespace, **options)  # type: ignore[arg-type]


@pytest.fixture
def grpc_settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        run_background_loops=False,
        grpc_port=free_port(),
        **IN_PROCESS,
    )


@pytest.fixture
async def grpc_gateway(grpc_settings: Settings, clock: ManualClock) -> AsyncIterator[GrpcGateway]:
    application = create_app(grpc_settings, clock=clock)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield GrpcGateway(application, f"127.0.0.1:{grpc_settings.grpc_port}", http, clock)
