"""API keys issued by the gateway: shown once, stored hashed, scoped, expiring, revocable."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from app.auth import ANONYMOUS
from app.clock import ManualClock
from app.db.tables import ApiKeyRow
from app.main import create_app
from app.services import api_keys
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


# --- a key is never wider than its issuer; a scoped issuer sees and revokes only its own ---


async def _register(client: httpx.AsyncClient, *names: str) -> None:
    for name in names:
        response = await client.post(
            "/api/v1/namespaces",
            headers=bearer(token(namespace="*")),
            json={"namespace": name, "workflow_execution_retention_period": "86400s"},
        )
        assert response.status_code == 200, response.text


ISSUER = ["temporal:cluster:api-keys", "temporal:workflow:*"]


@pytest.mark.parametrize(
    ("scope", "body", "too_wide"),
    [
        pytest.param({}, {"permissions": ["temporal:*"]}, "permission 'temporal:*'", id="all"),
        pytest.param(
            {},
            {"permissions": ["temporal:namespace:read"]},
            "permission 'temporal:namespace:read'",
            id="another-branch",
        ),
        pytest.param({}, {"namespaces": None}, "every namespace", id="unscoped-namespaces"),
        pytest.param({}, {"namespaces": ["nsa", "nsb"]}, "namespace 'nsb'", id="namespace"),
        pytest.param({}, {"namespaces": ["*"]}, "every namespace", id="star-namespace"),
        pytest.param(
            {"task_queues": ["q1"]}, {"task_queues": None}, "every task queue", id="unscoped-queues"
        ),
        pytest.param(
            {"task_queues": ["q1"]}, {"task_queues": ["q2"]}, "task queue 'q2'", id="queue"
        ),
    ],
)
async def test_a_key_is_never_wider_than_its_issuer(
    gateway: tuple[httpx.AsyncClient, FastAPI],
    scope: dict[str, Any],
    body: dict[str, Any],
    too_wide: str,
) -> None:
    client, app = gateway
    issuer = bearer(token(ISSUER, namespace="nsa", **scope))
    request = {"name": "k", "permissions": ["temporal:workflow:start"], "namespaces": ["nsa"]}
    request.update(scope)
    request.update(body)
    request = {k: v for k, v in request.items() if v is not None}  # None: the field is absent
    refused = await client.post("/api/v1/api-keys", headers=issuer, json=request)
    error = assert_error(refused, 403, "PERMISSION_DENIED")
    assert too_wide in error["message"], error
    async with app.state.ctx.db.read() as session:
        assert (await session.execute(select(ApiKeyRow))).first() is None


async def test_a_key_within_its_issuer_is_issued(
    gateway: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    client, _ = gateway
    await _register(client, "nsa", "nsb")
    issuer = bearer(token(ISSUER, namespace=["nsa", "nsb"], task_queues=["q1", "q2"]))
    for permissions, namespaces, queues in [
        (ISSUER, ["nsa", "nsb"], ["q1", "q2"]),  # the same as the issuer
        (["temporal:workflow:start"], ["nsb"], ["q1"]),  # narrower: a leaf of a branch
    ]:
        response = await client.post(
            "/api/v1/api-keys",
            headers=issuer,
            json={
                "name": "k",
                "permissions": permissions,
                "namespaces": namespaces,
                "task_queues": queues,
            },
        )
        assert response.status_code == 200, response.text
        issued = response.json()
        assert (issued["namespaces"], issued["task_queues"]) == (namespaces, queues)
    key = bearer(issued["key"])
    started = await client.post(
        "/api/v1/namespaces/nsb/workflows", json=start_body("w", task_queue="q1"), headers=key
    )
    assert started.status_code == 200, started.text
    other = await client.post(
        "/api/v1/namespaces/nsa/workflows", json=start_body("w", task_queue="q1"), headers=key
    )
    assert_error(other, 403, "PERMISSION_DENIED")


async def test_only_an_unscoped_issuer_issues_an_unscoped_key(
    gateway: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    client, _ = gateway
    await _register(client, "nsa")
    response = await client.post(
        "/api/v1/api-keys",
        headers=bearer(token(namespace="*")),
        json={"name": "admin", "permissions": ["temporal:workflow:*"]},
    )
    assert response.status_code == 200, response.text
    issued = response.json()
    assert issued["namespaces"] is None and issued["task_queues"] is None  # every one
    for ns in ("default", "nsa"):
        listed = await client.get(
            f"/api/v1/namespaces/{ns}/workflows", headers=bearer(issued["key"])
        )
        assert listed.status_code == 200, listed.text


@pytest.mark.parametrize("field", ["namespaces", "task_queues"])
async def test_an_empty_scope_is_invalid_argument(
    gateway: tuple[httpx.AsyncClient, FastAPI], field: str
) -> None:
    """[] would have meant every namespace (queue): the API refuses it rather than guess."""
    client, _ = gateway
    response = await client.post(
        "/api/v1/api-keys",
        headers=bearer(token(namespace="*")),
        json={"name": "k", "permissions": ["temporal:workflow:*"], field: []},
    )
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert field in error["message"], error


async def test_a_scoped_caller_lists_and_revokes_only_keys_within_its_scope(
    gateway: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    client, _ = gateway
    await _register(client, "nsa", "nsb")
    admin = bearer(token(namespace="*"))
    keys = {}
    for name, namespaces in [("a", ["nsa"]), ("b", ["nsb"]), ("ab", ["nsa", "nsb"])]:
        response = await client.post(
            "/api/v1/api-keys",
            headers=admin,
            json={"name": name, "permissions": ["temporal:workflow:*"], "namespaces": namespaces},
        )
        assert response.status_code == 200, response.text
        keys[name] = response.json()["id"]
    scoped = bearer(token(["temporal:cluster:api-keys", "temporal:workflow:*"], namespace="nsa"))
    listed = (await client.get("/api/v1/api-keys", headers=scoped)).json()["api_keys"]
    assert [k["name"] for k in listed] == ["a"]
    everything = (await client.get("/api/v1/api-keys", headers=admin)).json()["api_keys"]
    assert sorted(k["name"] for k in everything) == ["a", "ab", "b"]
    for name in ("b", "ab"):  # beyond nsa: as if it did not exist
        response = await client.delete(f"/api/v1/api-keys/{keys[name]}", headers=scoped)
        assert_error(response, 404, "NOT_FOUND")
    assert (await client.delete(f"/api/v1/api-keys/{keys['a']}", headers=scoped)).status_code == 200
    after = (await client.get("/api/v1/api-keys", headers=admin)).json()["api_keys"]
    assert sorted((k["name"], k["revoked"]) for k in after) == [
        ("a", True),
        ("ab", False),
        ("b", False),
    ]


async def test_keys_stored_with_an_empty_scope_keep_meaning_every_one(
    gateway: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    """Keys issued before the API refused []: their [] meant every namespace and queue."""
    client, app = gateway
    async with app.state.ctx.db.write() as uow:
        _, key = await api_keys.issue(
            uow.session,
            ANONYMOUS,
            "old",
            ["temporal:workflow:*"],
            None,
            None,
            None,
            datetime.now(UTC),
        )
        row = (await uow.session.execute(select(ApiKeyRow))).scalars().one()
        assert (row.namespaces, row.task_queues) == ([], [])
    listed = await client.get(f"{NS}/workflows", headers=bearer(key))
    assert listed.status_code == 200, listed.text
    described = (await client.get("/api/v1/api-keys", headers=bearer(token(namespace="*")))).json()
    assert described["api_keys"][0]["namespaces"] is None


async def test_a_zero_ttl_is_invalid_argument_and_a_short_one_expires(
    gateway: tuple[httpx.AsyncClient, FastAPI], clock: ManualClock
) -> None:
    """A ttl under a second used to be rounded to 0, which meant no expiry at all."""
    client, _ = gateway
    admin = bearer(token(namespace="*"))
    body = {"name": "k", "permissions": ["temporal:workflow:*"], "namespaces": ["default"]}
    zero = await client.post("/api/v1/api-keys", headers=admin, json={**body, "ttl": "0s"})
    error = assert_error(zero, 400, "INVALID_ARGUMENT")
    assert error["details"][0]["field"] == "ttl", error
    short = await client.post("/api/v1/api-keys", headers=admin, json={**body, "ttl": "0.5s"})
    assert short.status_code == 200, short.text
    issued = short.json()
    assert issued["expires_time"] == "2026-01-01T00:00:00.500000+00:00", issued
    key = bearer(issued["key"])
    assert (await client.get(f"{NS}/workflows", headers=key)).status_code == 200
    clock.advance(0.5)
    assert_error(await client.get(f"{NS}/workflows", headers=key), 401, "UNAUTHENTICATED")
