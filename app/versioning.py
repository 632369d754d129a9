"""The ``Temporal-API-Version`` header, handled in one place for every /api route."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import ApiError, ErrorCode, send_error
from app.route_index import route_path

HEADER = "temporal-api-version"
CURRENT = "v1"
DEPRECATED = "v1beta1"
# Per the spec's table v1beta1's support ended on 2024-12-31.
SUNSET = "Tue, 31 Dec 2024 23:59:59 GMT"
SUPPORTED = [CURRENT]


def resolve(requested: str | None, serve_deprecated: bool) -> tuple[str, list[tuple[str, str]]]:
    """The version that serves the request and the extra response headers, or an error."""
    if requested is None or requested.strip() == "" or requested.strip() == CURRENT:
        return CURRENT, []
    value = requested.strip()
    if value == DEPRECATED:
        if serve_deprecated:
            return DEPRECATED, [("deprecation", "true"), ("sunset", SUNSET)]
        raise ApiError(
            ErrorCode.FAILED_PRECONDITION,
            f"API version {DEPRECATED!r} reached its end of support on 2024-12-31; "
            f"use {CURRENT!r}.",
            [
                {
                    "type": "UnsupportedApiVersion",
                    "requested": value,
                    "supported": SUPPORTED,
                    "sunset": "2024-12-31",
                }
            ],
        )
    raise ApiError(
        ErrorCode.INVALID_ARGUMENT,
        f"Unknown API version {value[:40]!r}; supported: {', '.join(SUPPORTED)}.",
        [
            {
                "type": "BadRequest",
                "field": "Temporal-API-Version",
                "description": f"supported versions: {', '.join(SUPPORTED)}",
            }
        ],
    )


API_PREFIX = "/api/"


def is_api_path(scope: Scope) -> bool:
    """Whether a request is to the API, judged by the path as routes see it: without the
    root path a proxy may mount the gateway under."""
    return route_path(scope).startswith(API_PREFIX)


class ApiVersionMiddleware:
    def __init__(self, app: ASGIApp, serve_deprecated: bool) -> None:
        self.app = app
        self.serve_deprecated = serve_deprecated

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_api_path(scope):
            await self.app(scope, receive, send)
            return
        requested = None
        for name, value in scope["headers"]:
            if name == HEADER.encode():
                requested = value.decode("latin-1")
        try:
            version, extra = resolve(requested, self.serve_deprecated)
        except ApiError as error:
            await send_error(send, error, [(HEADER.encode(), CURRENT.encode())])
            return
        added = [(HEADER.encode(), version.encode())] + [(k.encode(), v.encode()) for k, v in extra]

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", []), *added]
            await send(message)

        await self.app(scope, receive, send_with_version)
