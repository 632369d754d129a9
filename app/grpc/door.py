"""How an RPC is declared and served: each RPC states, where it is defined, its
permission and rate-limit budgets (as a REST route does with ``requires``); one wrapper
admits the call (credential from the ``authorization`` metadata, the same checks and
budgets as REST), runs the handler and turns an ApiError into Temporal's status."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import grpc
import pydantic
from fastapi.exceptions import RequestValidationError
from google.protobuf.message import Message

from app.auth import ANONYMOUS, Principal
from app.context import AppContext
from app.error_handlers import unexpected_error, validation_error
from app.errors import ApiError
from app.grpc.errors import status_of
from app.permissions import Permission, admit, hold
from app.rate_limits.rules import Limit


@dataclass(frozen=True)
class Call:
    """What a handler may know of its call beyond the request."""

    principal: Principal
    context: grpc.aio.ServicerContext[Any, Any]

    def seconds_left(self) -> float | None:
        """Until the caller's deadline; None when it set none (the TypeScript client
        sets none on most calls, so long polls bound themselves)."""
        remaining = self.context.time_remaining()
        return None if remaining is None else float(remaining)


Handler = Callable[[AppContext, Any, Call], Awaitable[Message]]


@dataclass(frozen=True)
class Rpc:
    name: str
    permission: Permission | None  # None: any caller, credential or not (GetSystemInfo)
    budgets: tuple[Limit, ...]
    handler: Handler


class Service:
    """One gRPC service: its RPCs, registered by the modules that define them."""

    def __init__(self, full_name: str, messages: ModuleType) -> None:
        self.full_name = full_name
        self.messages = messages
        self.rpcs: dict[str, Rpc] = {}

    def rpc(
        self, name: str, permission: Permission | None, *budgets: Limit
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if name in self.rpcs:
                raise RuntimeError(f"{self.full_name}/{name} is defined twice")
            getattr(self.messages, f"{name}Request")  # a misspelt RPC fails at import
            self.rpcs[name] = Rpc(name, permission, budgets, handler)
            return handler

        return register

    def handler(self, ctx: AppContext) -> grpc.GenericRpcHandler:
        """The RPCs served; any other method of the service is grpcio's own
        UNIMPLEMENTED "Method not found!", which the SDKs tolerate where they may."""
        methods: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
            rpc.name: grpc.unary_unary_rpc_method_handler(
                _served(ctx, self.full_name, rpc),
                request_deserializer=getattr(self.messages, f"{rpc.name}Request").FromString,
                response_serializer=lambda message: message.SerializeToString(),
            )
            for rpc in self.rpcs.values()
        }
        return grpc.method_handlers_generic_handler(self.full_name, methods)


def peer_address(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    """``ipv4:127.0.0.1:5000`` → ``127.0.0.1``; ``ipv6:[::1]:5000`` → ``::1``."""
    peer = context.peer() or ""
    _, _, rest = peer.partition(":")
    host = rest.rsplit(":", 1)[0] if rest.count(":") and not rest.startswith("[") else rest
    if rest.startswith("["):
        host = rest[1 : rest.index("]")]
    return host or peer


def _served(ctx: AppContext, service: str, rpc: Rpc) -> Callable[[Any, Any], Awaitable[Message]]:
    path = f"/{service}/{rpc.name}"

    async def serve(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Message:
        failure: ApiError
        try:
            return await _admitted(ctx, rpc, request, context)
        except ApiError as error:
            failure = error
        except pydantic.ValidationError as error:
            # A request the handler's request model refuses (REST's FastAPI refuses the
            # same body before the route): INVALID_ARGUMENT naming the field, as REST.
            failure = validation_error(RequestValidationError(error.errors()))
        except grpc.aio.AbortError:
            raise  # a handler that set its own status
        except Exception as error:
            # Logged once with a correlation id, as REST's 500; INTERNAL, which the SDKs
            # retry (a domain error never gets here: it is an ApiError).
            failure = unexpected_error({"method": "gRPC", "path": path}, error)
        code, message, trailers = status_of(failure)
        await context.abort(code, message, trailers)
        raise AssertionError("abort returns only by raising")

    return serve


async def _admitted(
    ctx: AppContext, rpc: Rpc, request: Any, context: grpc.aio.ServicerContext[Any, Any]
) -> Message:
    if rpc.permission is None:  # as /livez: answers whoever asks, whatever the budgets
        return await rpc.handler(ctx, request, Call(ANONYMOUS, context))
    metadata = dict(context.invocation_metadata() or ())
    authorization = metadata.get("authorization")
    namespace = getattr(request, "namespace", None) or None
    principal, scopes = await admit(
        ctx,
        str(authorization) if authorization is not None else None,
        peer_address(context),
        rpc.permission,
        rpc.budgets,
        namespace,
    )
    settle = await hold(ctx, scopes, rpc.budgets)
    try:
        return await rpc.handler(ctx, request, Call(principal, context))
    finally:
        if settle is not None:
            await settle()
