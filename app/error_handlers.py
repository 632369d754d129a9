"""The one place errors become HTTP responses, all in the spec's envelope."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope, Send

from app.errors import ApiError, ErrorCode, send_error
from app.input_limits import ENCODED_SLASH, SCOPE_FLAG, too_large_error

log = logging.getLogger("app.errors")


def _json(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _describe(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "json_invalid":
        reason = (error.get("ctx") or {}).get("error")
        return "request body is not valid JSON" + (f": {reason}" if reason else "")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "field required"
    message = str(error.get("msg", "invalid value"))
    return message.removeprefix("Value error, ")


def validation_error(exc: RequestValidationError) -> ApiError:
    details = []
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        if error.get("type") == "json_invalid":
            loc = ("body",)
        details.append(
            {"type": "BadRequest", "field": _field_path(loc), "description": _describe(error)}
        )
    first = details[0] if details else {"field": "body", "description": "invalid request"}
    return ApiError(
        ErrorCode.INVALID_ARGUMENT, f"{first['field']}: {first['description']}", details
    )


def _count_refusal(request: Request, error: ApiError) -> None:
    """A 429 for a rate limit (not the cap on running executions) goes into the metrics,
    by the budget's category: every refusal, from any budget, is answered here."""
    for detail in error.details:
        if detail.get("type") == "RateLimitExceeded":
            request.app.state.ctx.metrics.rate_limited(detail["category"])


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        if exc.code is ErrorCode.RESOURCE_EXHAUSTED:
            _count_refusal(request, exc)
        return _json(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _json(validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if SCOPE_FLAG in request.scope:
            error = too_large_error(request.scope[SCOPE_FLAG])
        elif exc.status_code == 404:
            # An encoded slash is still ENCODED_SLASH when no route took the path.
            path = request.url.path.replace(ENCODED_SLASH, "%2F")
            error = ApiError(ErrorCode.NOT_FOUND, f"No route for {path}.")
        elif exc.status_code == 405:
            error = ApiError(
                ErrorCode.UNIMPLEMENTED,
                f"Method {request.method} is not supported on {request.url.path}.",
            )
        else:
            error = ApiError(ErrorCode.INVALID_ARGUMENT, str(exc.detail))
        return _json(error)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Only for an error raised outside app.observability.requests, which answers
        # (and logs) every other itself: Starlette re-raises after this handler, and
        # the server then logs the error a second time.
        return _json(unexpected_error(request.scope, exc))


def unexpected_error(scope: Scope, exc: BaseException) -> ApiError:
    """Log an error no handler took, once (one record: its correlation id, its one
    traceback), and make the 500 that names the correlation id and nothing else."""
    correlation_id = str(uuid.uuid4())
    log.error(
        "unexpected error %s on %s %s",
        correlation_id,
        scope.get("method"),
        scope.get("path"),
        exc_info=exc,
        extra={"correlation_id": correlation_id},
    )
    return ApiError(
        ErrorCode.INTERNAL,
        f"Internal error; quote correlation id {correlation_id} when reporting it.",
        [{"type": "CorrelationId", "correlation_id": correlation_id}],
    )


async def answer_unexpected(scope: Scope, send: Send, exc: Exception, responded: bool) -> None:
    """Log ``exc`` and, unless the response had already begun, answer the 500. Not
    raised further: Starlette's ServerErrorMiddleware, the app's outermost layer, would
    answer it and then re-raise it for the server, which logged a second traceback."""
    error = unexpected_error(scope, exc)
    if responded:  # nothing more can be said; the server ends the connection
        return
    await send_error(send, error)
