"""grpc.health.v1.Health/Check, which `temporal operator cluster health` and load
balancers call: SERVING, or NOT_SERVING once the server is stopping (until the door,
stopping too, refuses calls). The two messages are
one field each (HealthCheckRequest{service}, HealthCheckResponse{status}); their bytes
are written here rather than adding grpcio-health-checking, which pins grpcio's version."""

from __future__ import annotations

from typing import Any

import grpc

from app.context import AppContext

SERVICE = "grpc.health.v1.Health"
# HealthCheckResponse{status: 1 SERVING / 2 NOT_SERVING}: field 1, varint.
SERVING = b"\x08\x01"
NOT_SERVING = b"\x08\x02"


def handler(ctx: AppContext) -> grpc.GenericRpcHandler:
    async def check(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        return NOT_SERVING if ctx.draining.is_set() else SERVING

    method: grpc.RpcMethodHandler[bytes, bytes] = grpc.unary_unary_rpc_method_handler(check)
    return grpc.method_handlers_generic_handler(SERVICE, {"Check": method})
