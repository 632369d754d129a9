"""Authentication and authorization: Bearer JWTs, the spec's permission hierarchy on
every route, namespaces sealed from each other, and the worker branch."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from jose import jwt

from app.auth import Principal, mint, principal_from_claims
from app.clock import ManualClock
from app.main import create_app
from app.settings import Settings
from tests.conftest import assert_error, start_body

SECRET = "a-test-secret-that-is-long-enough-for-hs256!"
NS = "/api/v1/namespaces/default"
# The time of every gateway here: a ManualClock's start. Tokens are minted at it, not at
# the wall's time, which the gateway never reads.
NOW = int(ManualClock().now().timestamp())
LEEWAY = Settings().jwt_leeway_seconds


def _rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


PRIVATE_KEY, PUBLIC_KEY = _rsa_pair()


def token(
    permissions: list[str] | None = None,
    namespace: Any = "default",
    key: str = SECRET,
    algorithm: str = "HS256",
    **claims: Any,
) -> str:
    now = NOW
    body: dict[str, Any] = {
        "sub": "tester",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "iss": "https://auth.company.com",
        "aud": "temporal.company.com",
        "permissions": permissions if permissions is not None else ["temporal:*"],
    }
    if namespace is not None:
        body["namespace"] = namespace
    body.update(claims)
    return str(jwt.encode(body, key, algorithm=algorithm))


def b64url(value: Any) -> str:
    """A token segment: bytes as they are, anything else as JSON."""
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hmac_by_hand(key: bytes, header: Any, claims: Any) -> str:
    """HMAC-SHA256 over any header and payload, made by hand: python-jose refuses to sign
    with an RSA public key as the secret, or with an algorithm it does not know."""
    signing_input = f"{b64url(header)}.{b64url(claims)}"
    return (
        f"{signing_input}.{b64url(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())}"
    )


def _hs256_by_hand(key: bytes) -> str:
    """The classic HS/RS confusion: HMAC over the token with the RSA public key as the
    secret."""
    now = NOW
    claims = {
        "sub": "x",
        "permissions": ["temporal:*"],
        "iat": now,
        "exp": now + 600,
        "iss": "https://auth.company.com",
        "aud": "temporal.company.com",
    }
    return hmac_by_hand(key, {"alg": "HS256", "typ": "JWT"}, claims)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture
async def secured(
    database_url: str, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[httpx.AsyncClient]:
    public_key = tmp_path / "public.pem"
    public_key.write_text(PUBLIC_KEY)
    settings = Settings(
        database_url=database_url,
        run_background_loops=False,
        jwt_secret=SECRET,
        jwt_public_key_file=str(public_key),
        jwt_issuer="https://auth.company.com",
        jwt_audience="temporal.company.com",
    )
    app: FastAPI = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client


@pytest.mark.parametrize(
    "credential",
    [
        pytest.param(None, id="missing"),
        pytest.param("Basic dXNlcjpwYXNz", id="not-bearer"),
        pytest.param("Bearer not-a-jwt", id="garbage"),
        pytest.param("Bearer " + token(exp=NOW - 3600), id="expired"),
        pytest.param("Bearer " + token(nbf=NOW + 3600), id="not-yet-valid"),
        pytest.param("Bearer " + token(iss="https://evil.example"), id="wrong-issuer"),
        pytest.param("Bearer " + token(aud="someone-else"), id="wrong-audience"),
        pytest.param(
            "Bearer " + token(key="another-secret-that-is-also-long-enough"), id="wrong-secret"
        ),
        pytest.param("Bearer " + token()[:-4] + "AAAA", id="tampered-signature"),
        pytest.param("Bearer " + _hs256_by_hand(PUBLIC_KEY.encode()), id="hs256-with-rsa-key"),
        pytest.param(
            "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
            "eyJzdWIiOiJ4IiwicGVybWlzc2lvbnMiOlsidGVtcG9yYWw6KiJdfQ.",
            id="alg-none",
        ),
    ],
)
async def test_bad_credentials_are_401(secured: httpx.AsyncClient, credential: str | None) -> None:
    headers = {"Authorization": credential} if credential else {}
    response = await secured.get(f"{NS}/workflows", headers=headers)
    assert_error(response, 401, "UNAUTHENTICATED")
    assert response.headers["www-authenticate"].startswith("Bearer")
    if credential:
        assert credential.split()[-1] not in response.text


async def test_rs256_and_hs256_tokens_are_accepted(secured: httpx.AsyncClient) -> None:
    for value in (token(), token(key=PRIVATE_KEY, algorithm="RS256")):
        response = await secured.get(f"{NS}/workflows", headers=bearer(value))
        assert response.status_code == 200, response.text


async def test_exp_is_checked_against_the_gateways_clock(
    secured: httpx.AsyncClient, clock: ManualClock
) -> None:
    """A token still valid at the wall's time is expired once the gateway's clock passes
    its exp (and the leeway): the gateway reads its clock, never the wall."""
    start = clock.now().timestamp()
    expires = int(max(start, time.time())) + 600  # valid at the wall's time, as at the clock's
    value = bearer(token(iat=NOW, nbf=NOW, exp=expires))
    assert (await secured.get(f"{NS}/workflows", headers=value)).status_code == 200
    clock.advance(expires + LEEWAY - 1 - start)
    assert (await secured.get(f"{NS}/workflows", headers=value)).status_code == 200
    clock.advance(1)
    response = await secured.get(f"{NS}/workflows", headers=value)
    assert "'exp'" in assert_error(response, 401, "UNAUTHENTICATED")["message"]
    assert time.time() < expires  # the wall would still have taken it


async def test_nbf_is_checked_against_the_gateways_clock(
    secured: httpx.AsyncClient, clock: ManualClock
) -> None:
    """A token whose nbf is in the clock's future (though long past at the wall's time) is
    refused until the clock reaches nbf less the leeway."""
    value = bearer(token(iat=NOW, nbf=NOW + 3600, exp=NOW + 7200))
    response = await secured.get(f"{NS}/workflows", headers=value)
    assert "'nbf'" in assert_error(response, 401, "UNAUTHENTICATED")["message"]
    clock.advance(3600 - LEEWAY - 1)
    assert_error(await secured.get(f"{NS}/workflows", headers=value), 401, "UNAUTHENTICATED")
    clock.advance(1)
    assert (await secured.get(f"{NS}/workflows", headers=value)).status_code == 200


async def test_health_and_docs_need_no_token(secured: httpx.AsyncClient) -> None:
    assert (await secured.get("/healthz")).status_code == 200
    assert (await secured.get("/openapi.json")).status_code == 200


ROUTES: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("temporal:workflow:start", "POST", f"{NS}/workflows", start_body("perm")),
    ("temporal:workflow:read", "GET", f"{NS}/workflows/perm", None),
    ("temporal:workflow:list", "GET", f"{NS}/workflows", None),
    ("temporal:workflow:signal", "POST", f"{NS}/workflows/perm/signal", {"signal_name": "s"}),
    ("temporal:workflow:cancel", "POST", f"{NS}/workflows/perm/cancel", {}),
    ("temporal:workflow:terminate", "POST", f"{NS}/workflows/perm/terminate", {}),
    ("temporal:namespace:read", "GET", NS, None),
    ("temporal:namespace:update", "POST", f"{NS}/update", {"update_info": {}}),
    ("temporal:cluster:read", "GET", "/api/v1/cluster", None),
    ("temporal:cluster:read", "GET", "/api/v1/cluster/members", None),
    ("temporal:cluster:read", "GET", f"{NS}/task-queues/q", None),
    ("temporal:cluster:read", "GET", f"{NS}/task-queues/q/partitions", None),
    ("temporal:cluster:read", "GET", "/api/v1/shards/0", None),
    ("temporal:cluster:manage", "POST", "/api/v1/shards/0/close", {}),
    ("temporal:worker:register", "POST", f"{NS}/workers", {"task_queue": "q", "identity": "w"}),
    (
        "temporal:worker:poll",
        "POST",
        f"{NS}/task-queues/q/workflow-tasks/poll",
        {"wait_timeout": "0.001s"},
    ),
]


@pytest.mark.parametrize(
    ("needed", "method", "url", "body"),
    ROUTES,
    ids=[r[0] + " " + r[2].rsplit("/", 1)[-1] for r in ROUTES],
)
async def test_each_route_needs_its_permission(
    secured: httpx.AsyncClient, needed: str, method: str, url: str, body: dict[str, Any] | None
) -> None:
    admin = bearer(token())
    await secured.post(f"{NS}/workflows", json=start_body("perm"), headers=admin)
    others = [p for p, *_ in ROUTES if p != needed]
    refused = await secured.request(method, url, json=body, headers=bearer(token(others)))
    assert_error(refused, 403, "PERMISSION_DENIED")
    branch = needed.rsplit(":", 1)[0] + ":*"
    for granted in ([needed], [branch], ["temporal:*"]):
        if "poll" in url:
            continue  # a poll with a granted permission waits on the real clock
        allowed = await secured.request(method, url, json=body, headers=bearer(token(granted)))
        assert allowed.status_code != 403, (granted, allowed.text)


async def test_namespaces_are_sealed(secured: httpx.AsyncClient) -> None:
    admin = bearer(token(namespace="*"))
    await secured.post(
        "/api/v1/namespaces",
        headers=admin,
        json={"namespace": "other", "workflow_execution_retention_period": "86400s"},
    )
    only_default = bearer(token(namespace="default"))
    other = await secured.get("/api/v1/namespaces/other/workflows", headers=only_default)
    assert_error(other, 403, "PERMISSION_DENIED")
    assert (await secured.get(f"{NS}/workflows", headers=only_default)).status_code == 200
    both = bearer(token(namespace=["default", "other"]))
    assert (
        await secured.get("/api/v1/namespaces/other/workflows", headers=both)
    ).status_code == 200


async def test_worker_credential_cannot_start_terminate_or_list(
    secured: httpx.AsyncClient,
) -> None:
    worker = bearer(token(["temporal:worker:*"]))
    for method, url, body in [
        ("POST", f"{NS}/workflows", start_body("w")),
        ("POST", f"{NS}/workflows/w/terminate", {}),
        ("GET", f"{NS}/workflows", None),
    ]:
        response = await secured.request(method, url, json=body, headers=worker)
        assert_error(response, 403, "PERMISSION_DENIED")
    client = bearer(token(["temporal:workflow:*"]))
    poll = await secured.post(
        f"{NS}/task-queues/q/workflow-tasks/poll", json={"wait_timeout": "1s"}, headers=client
    )
    assert_error(poll, 403, "PERMISSION_DENIED")


async def test_worker_limited_to_task_queues(secured: httpx.AsyncClient) -> None:
    worker = bearer(token(["temporal:worker:*"], task_queues=["payments"]))
    other = await secured.post(
        f"{NS}/task-queues/shipping/workflow-tasks/poll",
        json={"wait_timeout": "1s"},
        headers=worker,
    )
    assert_error(other, 403, "PERMISSION_DENIED")
    # RegisterWorker names its queue in the body: the same limit holds there.
    for queue, status in (("payments", 200), ({"name": "payments"}, 200), ("shipping", 403)):
        registered = await secured.post(
            f"{NS}/workers", json={"task_queue": queue, "identity": "w"}, headers=worker
        )
        assert registered.status_code == status, registered.text
    assert "'shipping'" in registered.json()["error"]["message"]


def test_principal_hierarchy() -> None:
    principal = Principal("p", frozenset({"temporal:workflow:*", "temporal:namespace:read"}))
    assert principal.may("temporal:workflow:start")
    assert principal.may("temporal:namespace:read")
    assert not principal.may("temporal:namespace:update")
    assert not principal.may("temporal:worker:poll")
    assert not Principal("p", frozenset({"temporal:work*"})).may("temporal:worker:poll")


async def test_openapi_names_each_permission(secured: httpx.AsyncClient) -> None:
    document = (await secured.get("/openapi.json")).json()
    start = document["paths"]["/api/v1/namespaces/{namespace}/workflows"]["post"]
    assert "temporal:workflow:start" in start["description"]


async def test_jwks_picks_the_key_by_kid(database_url: str, tmp_path: Path) -> None:
    from jose import jwk

    public = jwk.construct(PUBLIC_KEY, algorithm="RS256").to_dict()
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**public, "kid": "key-1", "use": "sig"}]}))
    settings = Settings(
        database_url=database_url,
        run_background_loops=False,
        jwt_jwks_file=str(jwks),
        jwt_algorithms=["RS256"],
    )
    app = create_app(settings, clock=ManualClock())
    now = NOW
    claims = {
        "sub": "svc",
        "permissions": ["temporal:*"],
        "namespace": "default",
        "iat": now,
        "exp": now + 600,
    }
    good = jwt.encode(claims, PRIVATE_KEY, algorithm="RS256", headers={"kid": "key-1"})
    unknown = jwt.encode(claims, PRIVATE_KEY, algorithm="RS256", headers={"kid": "key-9"})
    hmac_token = jwt.encode(claims, SECRET, algorithm="HS256")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            assert (await client.get(f"{NS}/workflows", headers=bearer(good))).status_code == 200
            for bad in (unknown, hmac_token):
                response = await client.get(f"{NS}/workflows", headers=bearer(bad))
                assert_error(response, 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    ("claims", "absent_means_all", "namespaces", "task_queues"),
    [
        pytest.param({}, False, frozenset(), None, id="absent-grants-none"),
        pytest.param({}, True, None, None, id="absent-grants-all-when-told"),
        pytest.param({"namespace": []}, True, frozenset(), None, id="empty-grants-none"),
        pytest.param({"namespace": "*"}, False, None, None, id="star-grants-all"),
        pytest.param({"namespace": ["a", "*"]}, False, None, None, id="star-in-a-list"),
        pytest.param({"namespace": "a"}, True, frozenset({"a"}), None, id="one"),
        pytest.param({"namespace": ["a", "b"]}, False, frozenset({"a", "b"}), None, id="list"),
        pytest.param({"task_queues": []}, True, None, frozenset(), id="no-queue"),
        pytest.param({"task_queues": "q"}, True, None, frozenset({"q"}), id="one-queue"),
    ],
)
def test_scope_claims(
    claims: dict[str, Any],
    absent_means_all: bool,
    namespaces: frozenset[str] | None,
    task_queues: frozenset[str] | None,
) -> None:
    """An empty list grants nothing; only "*" or, when the setting says so, an absent
    namespace claim grants every namespace. An absent task_queues claim limits nothing."""
    settings = Settings(jwt_absent_namespace_means_all=absent_means_all)
    principal = principal_from_claims({"exp": 2e9, **claims}, settings, now=1e9)
    assert (principal.namespaces, principal.task_queues) == (namespaces, task_queues)


def test_permissions_claim_as_a_list_or_a_space_separated_string() -> None:
    for claim in (
        ["temporal:workflow:*", "temporal:namespace:read"],
        "temporal:workflow:* temporal:namespace:read",
    ):
        principal = principal_from_claims({"exp": 2e9, "permissions": claim}, Settings(), now=1e9)
        assert principal.permissions == {"temporal:workflow:*", "temporal:namespace:read"}


async def test_list_namespaces_shows_only_the_callers(secured: httpx.AsyncClient) -> None:
    admin = bearer(token(namespace="*"))
    for name in ("nsa", "nsb", "nsc"):
        registered = await secured.post(
            "/api/v1/namespaces",
            headers=admin,
            json={"namespace": name, "workflow_execution_retention_period": "86400s"},
        )
        assert registered.status_code == 200, registered.text

    async def names(headers: dict[str, str], page_size: int) -> list[str]:
        seen: list[str] = []
        page_token = ""
        while True:
            response = await secured.get(
                "/api/v1/namespaces",
                headers=headers,
                params={"page_size": page_size, "next_page_token": page_token},
            )
            assert response.status_code == 200, response.text
            body = response.json()
            seen += [n["namespace_info"]["name"] for n in body["namespaces"]]
            page_token = body["next_page_token"]
            if not page_token:
                return seen

    assert await names(admin, 1) == ["default", "nsa", "nsb", "nsc"]
    assert await names(bearer(token(namespace=["nsc", "nsa"])), 1) == ["nsa", "nsc"]
    assert await names(bearer(token(namespace="nsb")), 0) == ["nsb"]
    assert await names(bearer(token(namespace=[])), 0) == []
    assert await names(bearer(token(namespace=None)), 0) == []  # absent: none, by default


def test_minted_tokens_scope_as_documented() -> None:
    """`temporal-gateway token create`: --namespace NAME (repeated), '*' for every one,
    none for no namespace unless the server takes an absent claim for every one."""
    settings = Settings(jwt_secret=SECRET)
    for namespaces, expected in [
        (["default"], frozenset({"default"})),
        (["a", "b"], frozenset({"a", "b"})),
        (["*"], None),
        ([], frozenset()),
    ]:
        minted = mint(settings, "alice", ["temporal:*"], namespaces, 600, NOW)
        # The times are principal_from_claims's to check, at NOW: not jose's, at the wall's.
        unchecked = {"verify_exp": False, "verify_nbf": False, "verify_iat": False}
        claims = jwt.decode(minted, SECRET, algorithms=["HS256"], options=unchecked)
        principal = principal_from_claims(claims, settings, NOW)
        assert principal.namespaces == expected, namespaces
    told = Settings(jwt_secret=SECRET, jwt_absent_namespace_means_all=True)
    assert principal_from_claims(claims, told, NOW).namespaces is None


async def test_a_scoped_credential_registers_only_its_namespaces(
    secured: httpx.AsyncClient,
) -> None:
    scoped = bearer(token(["temporal:namespace:*"], namespace=["team-a"]))

    def body(name: str) -> dict[str, str]:
        return {"namespace": name, "workflow_execution_retention_period": "86400s"}

    own = await secured.post("/api/v1/namespaces", headers=scoped, json=body("team-a"))
    assert own.status_code == 200, own.text
    other = await secured.post("/api/v1/namespaces", headers=scoped, json=body("team-b"))
    assert "'team-b'" in assert_error(other, 403, "PERMISSION_DENIED")["message"]
    admin = bearer(token(namespace="*"))
    missing = await secured.get("/api/v1/namespaces/team-b", headers=admin)
    assert_error(missing, 404, "NAMESPACE_NOT_FOUND")
