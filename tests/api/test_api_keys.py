"""API keys issued by the gateway: shown once, stored hashed, scoped, expiring, revocable."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from app.clock import ManualClock
from app.db.tables import ApiKeyRow
from app.main import create_app
from app.settings import Settings
from tests.api.test_auth import SECRET, bearer, token
from tests.conftest import assert_error, start_body

NS = "/api/v1/namespaces/default"


@pytest.fixture
async def gateway(
    database_url: str, clock: ManualClock
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    settings = Settings(
        database_url=database_url,
        run_background_loops=False,
        jwt_secret=SECRET,
        jwt_issuer="https://auth.company.com",
        jwt_audience="temporal.company.com",
    )
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client, app


async def _issue(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/api-keys", headers=bearer(token()), json=body)
    assert response.status_code == 200, response.text
    issued: dict[str, Any] = response.json()
    return issued


async def test_issue_use_list_and_revoke(gateway: tuple[httpx.AsyncClient, FastAPI]) -> None:
    client, app = gateway
    issued = await _issue(
        client, name="ci", permissions=["temporal:workflow:*"], namespaces=["default"]
    )
    key = issued["key"]
    assert key.startswith("tgk_")
    started = await client.post(f"{NS}/workflows", json=start_body("k"), headers=bearer(key))
    assert started.status_code == 200, started.text
    async with app.state.ctx.db.read() as session:
        stored = (await session.execute(select(ApiKeyRow))).scalars().one()
    assert key.split("_", 2)[2] not in stored.secret_hash  # only a hash is kept
    listed = (await client.get("/api/v1/api-keys", headers=bearer(token()))).json()
    assert "key" not in listed["api_keys"][0]
    revoked = await client.delete(f"/api/v1/api-keys/{issued['id']}", headers=bearer(token()))
    assert revoked.status_code == 200
    after = await client.get(f"{NS}/workflows", headers=bearer(key))
    assert_error(after, 401, "UNAUTHENTICATED")
    assert key not in after.text


async def test_scope_expiry_and_forgery(
    gateway: tuple[httpx.AsyncClient, FastAPI], clock: ManualClock
) -> None:
    client, _ = gateway
    worker = (
        await _issue(
            client, name="w", permissions=["temporal:worker:*"], namespaces=["default"], ttl="3600s"
        )
    )["key"]
    assert_error(
        await client.post(f"{NS}/workflows", json=start_body("x"), headers=bearer(worker)),
        403,
        "PERMISSION_DENIED",
    )
    assert_error(
        await client.get("/api/v1/namespaces/other/workflows", headers=bearer(worker)),
        403,
        "PERMISSION_DENIED",
    )
    forged = worker[:-3] + ("aaa" if not worker.endswith("aaa") else "bbb")
    assert_error(
        await client.get(f"{NS}/workflows", headers=bearer(forged)), 401, "UNAUTHENTICATED"
    )
    clock.advance(3601)
    poll = await client.post(
        f"{NS}/task-queues/q/workflow-tasks/poll",
        json={"wait_timeout": "1s"},
        headers=bearer(worker),
    )
    assert_error(poll, 401, "UNAUTHENTICATED")


async def test_only_cluster_admins_manage_keys(gateway: tuple[httpx.AsyncClient, FastAPI]) -> None:
    client, _ = gateway
    response = await client.post(
        "/api/v1/api-keys",
        headers=bearer(token(["temporal:workflow:*", "temporal:namespace:*"])),
        json={"name": "x", "permissions": ["temporal:*"]},
    )
    assert_error(response, 403, "PERMISSION_DENIED")
    allowed = await client.get("/api/v1/api-keys", headers=bearer(token(["temporal:cluster:*"])))
    assert allowed.status_code == 200
