"""The route class of every API router: request bodies are read as strict JSON
(app.json_codec), not by the standard library's lenient reader, nesting at most
``MAX_NESTING`` levels, and a body's ``namespace`` must be the path's; an id with an
encoded slash in it (``orders%2F2024%2F42``) reaches its route whole
(app.input_limits.ENCODED_SLASH)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from app.errors import ApiError, bad_request
from app.input_limits import ENCODED_SLASH
from app.json_codec import TooDeep, parse_request_body


class _BodyRefused(HTTPException):
    """Carries an ApiError out of FastAPI's body reading, which turns any other exception
    into its own generic 400 but lets an HTTPException through."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.status, error.message)
        self.error = error


class _StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_strict_json"):
            try:
                self._strict_json = parse_request_body(await self.body())
            except TooDeep as exc:
                raise _BodyRefused(bad_request("body", str(exc))) from None
            _check_namespace(self._strict_json, self.path_params.get("namespace"))
        return self._strict_json


def _check_namespace(body: Any, path_namespace: str | None) -> None:
    """The rule of every body route under a namespace: a body that names the namespace
    (Temporal's requests all may) names the path's."""
    if path_namespace is None or not isinstance(body, dict):
        return
    named = body.get("namespace")
    if isinstance(named, str) and named and named != path_namespace:
        raise _BodyRefused(
            bad_request("namespace", "namespace in the body does not match the path")
        )


class StrictJsonRoute(APIRoute):
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE and ENCODED_SLASH in scope["path"]:
            child_scope["path_params"] = {
                name: value.replace(ENCODED_SLASH, "/") if isinstance(value, str) else value
                for name, value in child_scope["path_params"].items()
            }
            # Matched: the rest of the request sees the path as the server decoded it.
            child_scope["path"] = scope["path"].replace(ENCODED_SLASH, "/")
        return match, child_scope

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_json_handler(request: Request) -> Response:
            try:
                return await handler(_StrictJsonRequest(request.scope, request.receive))
            except _BodyRefused as refused:
                raise refused.error from None

        return strict_json_handler
