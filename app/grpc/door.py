"""How an RPC is declared and served: each RPC states, where it is defined, its
permission and rate-limit budgets (as a REST route does with ``requires``); one wrapper
admits the call (credential from the ``authorization`` metadata, the same checks and
budgets as REST), runs the handler and turns an ApiError into Temporal's status."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from urllib.parse import unquote

import grpc
import pydantic
from fastapi.exceptions import RequestValidationError
from google.protobuf.message import Message
from temporalio.api.enums.v1 import task_queue_pb2

from app.auth import ANONYMOUS, Principal, unauthenticated
from app.context import AppContext
from app.error_handlers import unexpected_error, validation_error
from app.errors import ApiError, ErrorCode, bad_request
from app.grpc.errors import status_of
from app.grpc.observed import ObservedCalls
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
    # Admission checks the request's task queue against the credential's, where the REST
    # twin names the queue in its path (REST's guard reads no body: a start names a
    # task queue in its body, unchecked on both doors).
    task_queue_scoped: bool = False
    # The namespace admission checks when the request has no namespace field.
    namespace: str | None = None


class Service:
    """One gRPC service: its RPCs, registered by the modules that define them."""

    def __init__(self, full_name: str, messages: ModuleType) -> None:
        self.full_name = full_name
        self.messages = messages
        self.rpcs: dict[str, Rpc] = {}

    def rpc(
        self,
        name: str,
        permission: Permission | None,
        *budgets: Limit,
        task_queue_scoped: bool = False,
        namespace: str | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if name in self.rpcs:
                raise RuntimeError(f"{self.full_name}/{name} is defined twice")
            getattr(self.messages, f"{name}Request")  # a misspelt RPC fails at import
            self.rpcs[name] = Rpc(name, permission, budgets, handler, task_queue_scoped, namespace)
            return handler

        return register

    def handler(self, ctx: AppContext) -> grpc.GenericRpcHandler:
        """The RPCs served; any other method of the service is grpcio's own
        UNIMPLEMENTED "Method not found!", which the SDKs tolerate where they may."""
        observed = ObservedCalls(ctx.metrics, ctx.settings.access_log)
        methods: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
            rpc.name: grpc.unary_unary_rpc_method_handler(
                _served(ctx, self.full_name, rpc, observed),
                request_deserializer=getattr(self.messages, f"{rpc.name}Request").FromString,
                response_serializer=lambda message: message.SerializeToString(),
            )
            for rpc in self.rpcs.values()
        }
        return grpc.method_handlers_generic_handler(self.full_name, methods)


def peer_address(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    """The caller's host, as REST's ``request.client.host`` names it (its per-client
    budget is the same whichever door the caller used): ``ipv4:127.0.0.1:5000`` →
    ``127.0.0.1``; ``ipv6:%5B::1%5D:5000`` (grpcio percent-encodes the brackets) or
    ``ipv6:[::1]:5000`` → ``::1``; anything else (``unix:…``) as it is."""
    return parse_peer(context.peer() or "")


def parse_peer(peer: str) -> str:
    scheme, _, rest = peer.partition(":")
    rest = unquote(rest)
    if scheme == "ipv6" and rest.startswith("[") and "]" in rest:
        return rest[1 : rest.index("]")]
    if scheme in ("ipv4", "ipv6") and ":" in rest:
        return rest.rsplit(":", 1)[0]
    return peer


def _served(
    ctx: AppContext, service: str, rpc: Rpc, observed: ObservedCalls
) -> Callable[[Any, Any], Awaitable[Message]]:
    path = f"/{service}/{rpc.name}"

    async def serve(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Message:
        started = observed.start()
        code = grpc.StatusCode.OK
        try:
            answer = await _reply_or_error(ctx, path, rpc, request, context)
            if isinstance(answer, Message):
                return answer
            code, message, trailers = status_of(answer)
            await context.abort(code, message, trailers)
            raise AssertionError("abort returns only by raising")
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED  # the caller went away
            raise
        finally:
            observed.done(path, code, started, unquote((context.peer() or "").partition(":")[2]))

    return serve


async def _reply_or_error(
    ctx: AppContext,
    path: str,
    rpc: Rpc,
    request: Any,
    context: grpc.aio.ServicerContext[Any, Any],
) -> Message | ApiError:
    """The call's answer, or the ApiError it ends with."""
    failure: ApiError
    try:
        return await _admitted(ctx, rpc, request, context)
    except ApiError as error:
        failure = error
    except pydantic.ValidationError as error:
        # A request the handler's request model refuses (REST's FastAPI refuses the
        # same body before the route): INVALID_ARGUMENT naming the field, as REST.
        failure = validation_error(RequestValidationError(error.errors()))
    except Exception as error:
        # Logged once with a correlation id, as REST's 500; INTERNAL, which the SDKs
        # retry (a domain error never gets here: it is an ApiError).
        failure = unexpected_error({"method": "gRPC", "path": path}, error)
    if failure.code is ErrorCode.RESOURCE_EXHAUSTED:
        _count_refusal(ctx, failure)
    return failure


def _count_refusal(ctx: AppContext, error: ApiError) -> None:
    """As REST's error handler: every rate-limit refusal counts, by its category."""
    for detail in error.details:
        if detail.get("type") == "RateLimitExceeded":
            ctx.metrics.rate_limited(detail["category"])


def _authorization(context: grpc.aio.ServicerContext[Any, Any]) -> str | None:
    """The ``authorization`` metadata (keys arrive lower-cased). Sent twice, it is
    refused before either is read (so it costs no budget: no credential was tried):
    which of two credentials a proxy added is not the door's guess to make."""
    values = [
        value for key, value in (context.invocation_metadata() or ()) if key == "authorization"
    ]
    if len(values) > 1:
        raise unauthenticated("more than one authorization metadata entry")
    if not values:
        return None
    value = values[0]
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _task_queue(request: Any) -> str | None:
    """The task queue a request acts on: a sticky queue stands for its normal queue."""
    queue = getattr(request, "task_queue", None)
    if queue is None:
        return None
    if queue.kind == task_queue_pb2.TASK_QUEUE_KIND_STICKY and queue.normal_name:
        return str(queue.normal_name)
    return str(queue.name) or None


async def _admitted(
    ctx: AppContext, rpc: Rpc, request: Any, context: grpc.aio.ServicerContext[Any, Any]
) -> Message:
    if rpc.permission is None:  # as /livez: answers whoever asks, whatever the budgets
        return await rpc.handler(ctx, request, Call(ANONYMOUS, context))
    namespace = getattr(request, "namespace", None) or rpc.namespace
    principal, scopes = await admit(
        ctx,
        _authorization(context),
        peer_address(context),
        rpc.permission,
        rpc.budgets,
        namespace,
        _task_queue(request) if rpc.task_queue_scoped else None,
    )
    if (
        namespace is None
        and "namespace" in request.DESCRIPTOR.fields_by_name
        and not getattr(request, "id", "")  # DescribeNamespace may name it by id
    ):
        raise bad_request("namespace", "Namespace is empty.")  # Temporal's words
    settle = await hold(ctx, scopes, rpc.budgets)
    try:
        return await rpc.handler(ctx, request, Call(principal, context))
    finally:
        if settle is not None:
            await settle()
