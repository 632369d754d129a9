"""Each gRPC call is counted and timed in /metrics by its RPC and status code, and
written to the access log, as an HTTP request is."""

from __future__ import annotations

import asyncio
import logging
import socket

import grpc
import pytest
from temporalio.service import RPCError

from app.clock import ManualClock
from app.main import create_app
from app.settings import Settings
from tests.grpc.conftest import GrpcGateway

SERVICE = "/temporal.api.workflowservice.v1.WorkflowService"


async def test_calls_are_counted_by_rpc_and_code_and_logged(
    grpc_gateway: GrpcGateway, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="app.access"):
        client = await grpc_gateway.client()  # GetSystemInfo
        await client.start_workflow("W", id="observed", task_queue="q")
        with pytest.raises(RPCError):
            await client.get_workflow_handle("missing").describe()
        # The caller hears the status before the server's call ends (and is recorded).
        for _ in range(1000):
            metrics = (await grpc_gateway.http.get("/metrics")).text
            if 'code="NOT_FOUND"' in metrics:
                break
            await asyncio.sleep(0.001)

    for rpc, code in [
        ("GetSystemInfo", "OK"),
        ("StartWorkflowExecution", "OK"),
        ("DescribeWorkflowExecution", "NOT_FOUND"),
    ]:
        line = f'temporal_gateway_grpc_requests_total{{code="{code}",rpc="{SERVICE}/{rpc}"}} 1.0'
        assert line in metrics, (line, [m for m in metrics.splitlines() if "grpc" in m])
    assert f'grpc_request_duration_seconds_count{{rpc="{SERVICE}/StartWorkflowExecution"}}' in (
        metrics
    )

    lines = [r.getMessage() for r in caplog.records if r.name == "app.access"]
    start = [line for line in lines if f"{SERVICE}/StartWorkflowExecution" in line]
    assert len(start) == 1 and start[0].startswith("GRPC "), lines
    assert f"GRPC {SERVICE}/DescribeWorkflowExecution 5 " in "\n".join(lines), lines


async def test_the_health_check_answers_serving_and_not_once_draining(
    grpc_gateway: GrpcGateway,
) -> None:
    async with grpc.aio.insecure_channel(grpc_gateway.target) as channel:
        check = channel.unary_unary("/grpc.health.v1.Health/Check")
        assert await check(b"") == b"\x08\x01"  # HealthCheckResponse{status: SERVING}
        grpc_gateway.app.state.ctx.drain()
        # Stopping: NOT_SERVING, or refused outright once the door has begun to stop.
        try:
            assert await check(b"") == b"\x08\x02"
        except grpc.aio.AioRpcError as refused:
            # grpcio refuses a call that arrives while the server stops as CANCELLED or,
            # once its port is closed, UNAVAILABLE.
            assert refused.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)


async def test_a_grpc_port_that_cannot_be_bound_undoes_the_start(
    grpc_settings: Settings, clock: ManualClock
) -> None:
    """The start fails, and what it had opened is closed: another gateway can then open
    the same database (SQLite's file lock is released; on PostgreSQL the member left)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = grpc_settings.model_copy(update={"grpc_port": taken.getsockname()[1]})
        application = create_app(settings, clock=clock)
        with pytest.raises(RuntimeError):
            async with application.router.lifespan_context(application):
                pass
    again = create_app(grpc_settings.model_copy(update={"grpc_port": 0}), clock=clock)
    async with again.router.lifespan_context(again):
        assert not again.state.ctx.draining.is_set()
