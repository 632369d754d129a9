"""The X-RateLimit-* headers on every API response: the figures the route guard found
nearest their limit, or, for a request that reached no route, the cluster's and the
calling address's own budgets drawn here. When the request has ended, what its guard
holds (a long-poll slot) is released and what it did is charged."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import ApiError
from app.rate_limits.limiter import RateLimiter, Usage
from app.rate_limits.rules import Limit
from app.versioning import is_api_path

STATE_KEY = "rate_limit"
SETTLE_KEY = "settle_rate_limits"


class RateLimitHeadersMiddleware:
    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "x-ratelimit-limit" not in headers:
                    usage: Usage | None = state.get(STATE_KEY)
                    extra = usage.headers() if usage else await self._draw(scope, state)
                    headers.update(extra)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers if is_api_path(scope) else send)
        finally:
            # What the route guard holds or charges for the request (app.permissions),
            # whatever its path.
            settle = state.pop(SETTLE_KEY, None)
            if settle is not None:
                await settle()

    async def _draw(self, scope: Scope, state: dict[str, object]) -> dict[str, str]:
        """Budgets for a request no route guard saw (an unknown path, say): drawn as its
        answer leaves, since a 404 costs less than refusing it would."""
        if STATE_KEY in state:  # a guard ran and found no figures (limits off)
            return {}
        client = scope.get("client")
        address = client[0] if client else "127.0.0.1"
        try:
            usage = await self.limiter.take(
                [(Limit.CLUSTER, "cluster"), (Limit.CLIENT, f"client:{address}")]
            )
        except ApiError as refused:
            return refused.headers
        return usage.headers() if usage else {}
