"""The app's routes are ordered by traffic (app/main.py); no order may let one route
take another's requests: each route's own paths reach it first."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Match


def _concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", r"some-\1", path)


def test_every_route_receives_its_own_requests(app: FastAPI) -> None:
    routes = [route for route in app.router.routes if isinstance(route, APIRoute)]
    assert len(routes) > 40
    for route in routes:
        for method in route.methods:
            scope = {
                "type": "http",
                "method": method,
                "path": _concrete(route.path),
                "root_path": "",
                "headers": [],
            }
            first = next(r for r in app.router.routes if r.matches(scope)[0] == Match.FULL)
            assert first is route, f"{method} {route.path} is taken by {first.path}"  # type: ignore[attr-defined]


def test_the_busiest_routes_are_matched_first(app: FastAPI) -> None:
    paths = [getattr(route, "path", "") for route in app.router.routes]
    poll = "/api/v1/namespaces/{namespace}/task-queues/{task_queue}/workflow-tasks/poll"
    assert paths.index(poll) < paths.index("/openapi.json")
