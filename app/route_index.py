"""Requests matched only against the routes whose path shape fits, not every route in turn.

FastAPI tries a request against each route of the app in order, about 1.6 µs a route, so
a history read (the twentieth route) spent some 30 µs finding its route, about 6 % of its
time in-process; the trie lookup takes under 1 µs. The index sends a request to a router
holding just the routes its path could match, in the app's order, and FastAPI's own
matching decides among them; a request none of them takes (a 404, a 405, a slash to
redirect) goes on to the app's full router, so every answer is the one the app gives
without the index."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send


def route_path(scope: Scope) -> str:
    """The path as routes match it: without the root path a proxy may mount the app under
    (what Starlette's router does, with a function of its own that is not public API)."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if not root_path or not path.startswith(root_path):
        return path
    rest = path[len(root_path) :]
    # "/api" under root "/ap" is not under it; "/ap" itself is the root's "" path.
    return rest if rest == "" or rest.startswith("/") else path


@dataclass
class _Node:
    """A path segment in the trie of route templates: literal next segments, a parameter
    next segment, and the routes whose template ends here (by their place in the app)."""

    literal: dict[str, _Node] = field(default_factory=dict)
    parameter: _Node | None = None
    routes: list[int] = field(default_factory=list)


def _segments(template: str) -> list[str | None] | None:
    """A template's segments, None for a whole-segment parameter; None for a template the
    trie cannot hold (a parameter that spans segments or shares one with text)."""
    segments: list[str | None] = []
    for part in template.split("/"):
        if part.startswith("{") and part.endswith("}") and part.count("{") == 1:
            if part.endswith(":path}"):
                return None
            segments.append(None)
        elif "{" in part or "}" in part:
            return None
        else:
            segments.append(part)
    return segments


class RouteIndex:
    """The router's entry point (its ``middleware_stack``) with the index in front."""

    def __init__(self, router: APIRouter) -> None:
        self.router = router
        self.full: ASGIApp = router.middleware_stack
        self._indexed: list[BaseRoute] = []
        self._root = _Node()
        self._everywhere: list[int] = []  # routes the trie cannot hold: candidates always
        self._routers: dict[tuple[int, ...], APIRouter] = {}

    def _build(self) -> None:
        self._indexed = list(self.router.routes)
        self._root, self._everywhere, self._routers = _Node(), [], {}
        for place, route in enumerate(self._indexed):
            segments = _segments(route.path_format) if isinstance(route, Route) else None
            if segments is None:
                self._everywhere.append(place)
                continue
            node = self._root
            for segment in segments:
                if segment is None:
                    node.parameter = node.parameter or _Node()
                    node = node.parameter
                else:
                    node = node.literal.setdefault(segment, _Node())
            node.routes.append(place)

    def _candidates(self, path: str) -> tuple[int, ...]:
        segments = path.split("/")
        found: list[int] = []
        pending = [(self._root, 0)]
        while pending:
            node, depth = pending.pop()
            if depth == len(segments):
                found += node.routes
                continue
            segment = segments[depth]
            if segment in node.literal:
                pending.append((node.literal[segment], depth + 1))
            if node.parameter is not None and segment:
                pending.append((node.parameter, depth + 1))
        return tuple(sorted(found + self._everywhere))

    def _router_for(self, candidates: tuple[int, ...]) -> APIRouter:
        router = self._routers.get(candidates)
        if router is None:
            router = APIRouter(
                routes=[self._indexed[place] for place in candidates], redirect_slashes=False
            )
            router.default = self.full  # none of them takes it: the app's full matching
            self._routers[candidates] = router
        return router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.full(scope, receive, send)
            return
        if self._indexed != self.router.routes:
            self._build()
        scope.setdefault("router", self.router)
        # The path as the routes themselves match it (without the root path).
        candidates = self._candidates(route_path(scope))
        await self._router_for(candidates).app(scope, receive, send)


def install(router: APIRouter) -> None:
    router.middleware_stack = RouteIndex(router)
