from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from app.main import create_app
from app.settings import Settings
from tests.conftest import assert_error, start_body

URL = "/api/v1/namespaces/default/workflows"


async def _client_with_limit(database_url: str, limit: int) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=database_url, max_request_body_bytes=limit))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client


async def test_declared_oversize_body_is_refused(database_url: str) -> None:
    async for client in _client_with_limit(database_url, 1000):
        response = await client.post(URL, json={"workflow_id": "x" * 2000})
        error = assert_error(response, 400, "INVALID_ARGUMENT")
        assert error["details"][0]["field"] == "body"


async def test_streamed_oversize_body_is_refused(database_url: str) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"workflow_id": "' + b"x" * 600
        yield b"x" * 600 + b'"}'

    async for client in _client_with_limit(database_url, 1000):
        response = await client.post(URL, content=chunks())
        error = assert_error(response, 400, "INVALID_ARGUMENT")
        assert "larger than 1000 bytes" in error["message"]


async def test_body_under_the_limit_is_served(client: httpx.AsyncClient) -> None:
    response = await client.post(
        URL, json={"workflow_id": "small", "workflow_type": {"name": "W"}, "task_queue": "q"}
    )
    assert response.status_code == 200, response.text


async def test_nul_in_the_path_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/namespaces/default/workflows/wf%00x")
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert error["details"][0]["field"] == "path"


async def test_search_attributes_have_temporal_size_limits(client: httpx.AsyncClient) -> None:
    ns = "/api/v1/namespaces/default/workflows"
    big_value = {"CustomerId": {"data": "x" * 3000}}
    response = await client.post(
        ns, json=start_body("sa-1", search_attributes={"indexed_fields": big_value})
    )
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert "larger than 2048 bytes" in error["message"]
    many = {f"Attr{n}": {"data": "y" * 2000} for n in range(25)}
    response = await client.post(
        ns, json=start_body("sa-2", search_attributes={"indexed_fields": many})
    )
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert "40960 bytes in all" in error["message"]
    fits = {"CustomerId": {"data": "x" * 2000}}
    response = await client.post(
        ns, json=start_body("sa-3", search_attributes={"indexed_fields": fits})
    )
    assert response.status_code == 200, response.text
