"""app/route_index.py: a request goes to the routes its path's shape fits, and the answer
is always the one FastAPI's full matching gives: the earlier of two fitting routes, 405
for a known path with another method, 404, the redirect of a trailing slash, paths that
span segments."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app import route_index


def _app(indexed: bool) -> FastAPI:
    app = FastAPI()

    @app.get("/items/count")
    async def count() -> str:
        return "count"

    @app.get("/items/{item_id}")
    async def item(item_id: str) -> str:
        return f"item {item_id}"

    @app.post("/items/{item_id}/tags/{tag}")
    async def tag(item_id: str, tag: str) -> str:
        return f"tag {item_id} {tag}"

    @app.get("/files/{rest:path}")
    async def files(rest: str) -> str:
        return f"file {rest}"

    @app.get("/v{version}.json")
    async def versioned(version: int) -> str:
        return f"version {version}"

    if indexed:
        route_index.install(app.router)
    return app


REQUESTS = [
    ("GET", "/items/count"),
    ("GET", "/items/42"),
    ("POST", "/items/42"),
    ("POST", "/items/42/tags/red"),
    ("GET", "/items/42/tags/red"),
    ("GET", "/items/42/"),
    ("GET", "/items//tags/red"),
    ("GET", "/files/a/b/c.txt"),
    ("GET", "/v2.json"),
    ("GET", "/nowhere"),
    ("GET", "/"),
]


@pytest.mark.parametrize(("method", "path"), REQUESTS)
async def test_the_index_answers_as_the_full_matching_does(method: str, path: str) -> None:
    answers = []
    for indexed in (False, True):
        transport = httpx.ASGITransport(app=_app(indexed))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.request(method, path, follow_redirects=False)
        answers.append((response.status_code, response.text, response.headers.get("location")))
    assert answers[1] == answers[0]


@pytest.mark.parametrize("path", ["/api/items/count", "/api/items/42", "/apiitems/42", "/api"])
async def test_under_a_root_path_too(path: str) -> None:
    answers = []
    for indexed in (False, True):
        transport = httpx.ASGITransport(app=_app(indexed), root_path="/api")
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get(path, follow_redirects=False)
        answers.append((response.status_code, response.text))
    assert answers[1] == answers[0]


async def test_routes_changed_later_are_indexed_again() -> None:
    app = _app(indexed=True)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/items/1")).json() == "item 1"

        @app.get("/items/{n}")
        async def first(n: str) -> str:
            return f"first {n}"

        app.router.routes.insert(0, app.router.routes.pop())  # now ahead of the other
        assert (await client.get("/items/1")).json() == "first 1"
