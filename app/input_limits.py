"""Limits on raw input, checked before routing: request bodies larger than the configured
limit (4 MiB, as Temporal), declared or streamed, and NUL characters in the path or
query string (PostgreSQL cannot store them; they never name anything real).

An encoded slash in the path (``/workflows/orders%2F2024%2F42``: Temporal allows ``/`` in
workflow ids and task queues) reaches routing as ENCODED_SLASH, not ``/``: the server
decodes ``%2F`` into the ``/`` that separates segments, and the id could not be matched
as one. NUL, refused above, never occurs in a real path; the route class turns it back
into ``/`` in the matched parameters (app.routers.strict_json)."""

from __future__ import annotations

from urllib.parse import unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import ApiError, bad_request, send_error

SCOPE_FLAG = "gateway.body_too_large"
ENCODED_SLASH = "\x00"


class BodyTooLarge(Exception):
    pass


def too_large_error(max_bytes: int) -> ApiError:
    return bad_request("body", f"request body is larger than {max_bytes} bytes")


class InputLimitsMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, send: Send, error: ApiError | None = None) -> None:
        await send_error(send, error or too_large_error(self.max_bytes))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = scope.get("raw_path") or scope["path"].encode()
        if b"%00" in raw or b"\x00" in raw or b"%00" in scope.get("query_string", b""):
            await self._reject(send, bad_request("path", "the URL must not contain NUL characters"))
            return
        if b"%2F" in raw or b"%2f" in raw:
            encoded = raw.replace(b"%2F", b"%00").replace(b"%2f", b"%00")
            # Decoded as the server decodes (uvicorn: ASCII, then percent-decoding).
            scope["path"] = unquote(encoded.decode("ascii", errors="surrogateescape"))
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._reject(send)
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI turns errors while reading the body into its own 400; the
                    # flag lets the error handler say what really happened.
                    scope[SCOPE_FLAG] = self.max_bytes
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._reject(send)
