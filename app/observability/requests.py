"""Each HTTP request timed once, at the app's outermost layer: counted and timed in the
metrics by its route's template (never the path, whose ids would make a series per
workflow), written to the access log, and, if it raised an error nothing handled,
answered with the 500 here (app.error_handlers logs it, once).

A plain ASGI middleware: Starlette's BaseHTTPMiddleware runs each request through
streams and a task group of its own. Per request this costs two clock reads, a wrapped
``send``, one dictionary lookup for the metrics' children, an ``inc`` and an
``observe`` (docs/metrics.md has the measured figure)."""

from __future__ import annotations

from time import perf_counter
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import logs
from app.error_handlers import answer_unexpected
from app.observability.metrics import Metrics

# Any other method is counted as "other": a client's made-up methods must not add series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # answered without a route: no such path, or refused before routing


def route_label(scope: Scope) -> str:
    """The template of the route that answered (``/api/v1/namespaces/{namespace}/...``)."""
    route = scope.get("route")  # FastAPI's routes put themselves here when they match
    if route is not None:
        return str(route.path_format)
    endpoint = scope.get("endpoint")  # Starlette's own routes and mounts (the docs)
    if endpoint is not None:
        for candidate in scope["app"].router.routes:
            if endpoint in (getattr(candidate, "endpoint", None), getattr(candidate, "app", None)):
                return str(candidate.path_format)
    return UNMATCHED


class ObservedRequests:
    def __init__(self, app: ASGIApp, metrics: Metrics, access_log: bool) -> None:
        self.app = app
        self.metrics = metrics if metrics.enabled else None
        self.access_log = access_log
        # (method, route, status) -> the request counter's and histogram's children.
        self._children: dict[tuple[str, int, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        status = 0

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        except Exception as exc:
            await answer_unexpected(scope, send, exc, responded=status != 0)
            status = status or 500
        seconds = perf_counter() - started
        if self.metrics is not None:
            self._observe(scope, status, seconds)
        if self.access_log:
            client = scope.get("client")
            path = scope.get("raw_path")
            logs.access(
                scope["method"],
                path.decode("latin-1") if path else scope["path"],
                status,
                seconds * 1000,
                f"{client[0]}:{client[1]}" if client else "-",
            )

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"]
        if method not in METHODS:
            method = "other"
        # By the route's identity (routes are not hashable; they live as long as the app).
        key = (method, id(scope.get("route") or scope.get("endpoint")), status)
        children = self._children.get(key)
        if children is None:
            assert self.metrics is not None
            children = self.metrics.request_children(method, route_label(scope), status)
            self._children[key] = children
        counter, histogram = children
        counter.inc()
        histogram.observe(seconds)
