"""The one place errors become HTTP responses, all in the spec's envelope."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import ApiError, ErrorCode
from app.input_limits import SCOPE_FLAG, too_large_error

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


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _json(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _json(validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if SCOPE_FLAG in request.scope:
            error = too_large_error(request.scope[SCOPE_FLAG])
        elif exc.status_code == 404:
            error = ApiError(ErrorCode.NOT_FOUND, f"No route for {request.url.path}.")
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
        correlation_id = str(uuid.uuid4())
        log.exception(
            "unexpected error %s on %s %s", correlation_id, request.method, request.url.path
        )
        return _json(
            ApiError(
                ErrorCode.INTERNAL,
                f"Internal error; quote correlation id {correlation_id} when reporting it.",
                [{"type": "CorrelationId", "correlation_id": correlation_id}],
            )
        )
