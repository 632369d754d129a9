"""The auth attack table: one row per attack, each answered with its status and the
spec's error envelope (the code, a message naming what was wrong, no traceback, never the
credential echoed). Rows cover malformed JWTs, claims of the wrong type, scopes that are
empty, API keys wider than their issuer, and the attacks that already held (expired, alg
none, key confusion, tampering, foreign namespaces and task tokens, revoked keys, worker
credentials). A fuzz of malformed tokens follows: every one is a 401."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from jose import jwt

from app.clock import ManualClock
from app.main import create_app
from app.settings import Settings
from tests.api.test_auth import (
    NOW,
    PUBLIC_KEY,
    SECRET,
    _hs256_by_hand,
    _rsa_pair,
    b64url,
    hmac_by_hand,
    token,
)
from tests.conftest import IN_PROCESS, assert_error, start_body

API = "/api/v1/namespaces"
QUEUE = "attack-queue"
ISSUER = "https://auth.company.com"
AUDIENCE = "temporal.company.com"


def unsigned(header: Any, payload: Any = None, signature: str = "c2ln") -> str:
    """A token with any header and payload at all, and a signature that cannot verify."""
    return (
        f"{b64url(header)}.{b64url(payload if payload is not None else {'sub': 'x'})}.{signature}"
    )


def good_claims() -> dict[str, Any]:
    now = NOW  # the gateway's clock's time
    return {
        "sub": "tester",
        "iat": now,
        "exp": now + 600,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "permissions": ["temporal:*"],
        "namespace": "default",
    }


def claims_without(*names: str) -> str:
    """A token signed with the right secret, some registered claims left out."""
    body = good_claims()
    for name in names:
        body.pop(name)
    return str(jwt.encode(body, SECRET, algorithm="HS256"))


def hmac_signed(header: Any, claims: Any) -> str:
    """Any header and payload, signed with the right secret."""
    return hmac_by_hand(SECRET.encode(), header, claims)


def tampered() -> str:
    """A valid token whose payload was swapped for a wider one, signature kept."""
    header, _, signature = token(["temporal:workflow:read"]).split(".")
    wider = {"sub": "x", "permissions": ["temporal:*"], "namespace": "*", "exp": 2**31}
    return f"{header}.{b64url(wider)}.{signature}"


@dataclass
class World:
    """A gateway with authentication on, namespaces nsa and nsb, and what rows need."""

    client: httpx.AsyncClient

    async def call(
        self, method: str, url: str, credential: str | None, body: Any = None
    ) -> httpx.Response:
        # Bytes: a fuzzed credential may hold what is not ASCII (the server reads latin-1).
        headers = (
            {"Authorization": f"Bearer {credential}".encode()} if credential is not None else {}
        )
        return await self.client.request(method, url, json=body, headers=headers)

    async def admin(self, method: str, url: str, body: Any = None) -> httpx.Response:
        response = await self.call(method, url, token(namespace="*"), body)
        assert response.status_code == 200, response.text
        return response

    async def revoked_key(self) -> str:
        issued = await self.admin(
            "POST",
            "/api/v1/api-keys",
            {"name": "gone", "permissions": ["temporal:*"], "namespaces": ["default"]},
        )
        await self.admin("DELETE", f"/api/v1/api-keys/{issued.json()['id']}")
        return str(issued.json()["key"])

    async def task_token(self, namespace: str) -> str:
        """A live workflow task token issued in `namespace`."""
        await self.admin(
            "POST", f"{API}/{namespace}/workflows", start_body("attacked", task_queue=QUEUE)
        )
        polled = await self.admin(
            "POST",
            f"{API}/{namespace}/task-queues/{QUEUE}/workflow-tasks/poll",
            {"identity": "attacker", "wait_timeout": "1s"},  # the task is there: no wait
        )
        return str(polled.json()["task_token"])


@pytest.fixture
async def world(database_url: str, tmp_path: Path, clock: ManualClock) -> AsyncIterator[World]:
    public_key = tmp_path / "public.pem"
    public_key.write_text(PUBLIC_KEY)
    settings = Settings(
        database_url=database_url,
        run_background_loops=False,
        jwt_secret=SECRET,
        jwt_public_key_file=str(public_key),
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
        **IN_PROCESS,
    )
    app: FastAPI = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            here = World(client)
            for name in ("nsa", "nsb"):
                body = {"namespace": name, "workflow_execution_retention_period": "86400s"}
                await here.admin("POST", API, body)
            yield here


Credential = str | None | Callable[[World], Awaitable[str]]
Body = Any | Callable[[World], Awaitable[Any]]


@dataclass(frozen=True)
class Attack:
    credential: Credential
    status: int
    code: str
    mentions: str  # what the message must name (case-insensitive)
    method: str = "GET"
    url: str = f"{API}/default/workflows"
    body: Body = None


def api_key_request(**fields: Any) -> dict[str, Any]:
    """CreateApiKey by a caller holding only temporal:cluster:api-keys in nsa."""
    body = {"name": "wider", "permissions": ["temporal:cluster:api-keys"], "namespaces": ["nsa"]}
    return {**body, **fields}


NSA_KEY_ADMIN = token(["temporal:cluster:api-keys"], namespace="nsa")
WORKER = token(["temporal:worker:*"], namespace="default")


async def _nsa_task_token(world: World) -> dict[str, Any]:
    return {"task_token": await world.task_token("nsa"), "commands": []}


async def _nsa_signal_to_nsb(world: World) -> dict[str, Any]:
    """A task of nsa answered with a signal to a workflow of nsb."""
    attributes = {
        "namespace": "nsb",
        "execution": {"workflow_id": "attacked"},
        "signal_name": "from-nsa",
    }
    signal = {
        "command_type": "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION",
        "signal_external_workflow_execution_command_attributes": attributes,
    }
    return {"task_token": await world.task_token("nsa"), "commands": [signal]}


def _forged_task_token() -> dict[str, Any]:
    return {"task_token": b64url(bytes(16) + b'{"k":"workflow_task","ns":"x"}'), "commands": []}


# JSON nested past the depth Python's parser recurses to (it raises RecursionError).
DEEP = b"[" * 3000 + b"]" * 3000


def alg_none() -> str:
    """The classic: no signature at all."""
    return unsigned({"alg": "none", "typ": "JWT"}, {"sub": "x", "permissions": ["temporal:*"]}, "")


def unauth(credential: Credential, mentions: str) -> Attack:
    return Attack(credential, 401, "UNAUTHENTICATED", mentions)


def denied(credential: Credential, mentions: str, **request: Any) -> Attack:
    return Attack(credential, 403, "PERMISSION_DENIED", mentions, **request)


def issue(fields: dict[str, Any], mentions: str, credential: str = NSA_KEY_ADMIN) -> Attack:
    return denied(credential, mentions, method="POST", url="/api/v1/api-keys", body=fields)


ATTACKS: dict[str, Attack] = {
    # 3. malformed headers: the algorithm's case, type, absence; odd kid; not a JWT at all
    "alg-hs256": unauth(hmac_signed({"alg": "hs256", "typ": "JWT"}, good_claims()), "algorithm"),
    "alg-Hs256": unauth(hmac_signed({"alg": "Hs256", "typ": "JWT"}, good_claims()), "algorithm"),
    "alg-rs256": unauth(unsigned({"alg": "rs256", "typ": "JWT"}), "algorithm"),
    "alg-es256": unauth(unsigned({"alg": "es256", "typ": "JWT"}), "algorithm"),
    "alg-none": unauth(alg_none(), "algorithm"),
    "alg-number": unauth(unsigned({"alg": 256}), "algorithm"),
    "alg-null": unauth(unsigned({"alg": None}), "algorithm"),
    "alg-missing": unauth(unsigned({"typ": "JWT"}), "algorithm"),
    "header-a-list": unauth(unsigned(["HS256"]), "malformed"),
    "header-not-json": unauth(f"{b64url(b'{alg:')}.{b64url({'sub': 'x'})}.c2ln", "malformed"),
    "kid-an-object": unauth(unsigned({"alg": "RS256", "kid": {"x": 1}}), "kid"),
    "not-a-jwt": unauth("not-a-jwt", "malformed"),
    "header-nested-too-deep": unauth(unsigned(DEEP), "malformed"),
    "payload-nested-too-deep": unauth(hmac_signed({"alg": "HS256", "typ": "JWT"}, DEEP), "payload"),
    "missing": unauth(None, "missing"),
    # 4. claims of the wrong type, times that do not hold, a required audience absent
    "permissions-a-number": unauth(token(permissions=5), "'permissions'"),
    "permissions-an-object": unauth(token(permissions={"temporal:*": True}), "'permissions'"),
    "permissions-list-of-numbers": unauth(token(permissions=[1, 2]), "'permissions'"),
    "namespace-a-number": unauth(token(namespace=7), "'namespace'"),
    "namespace-an-object": unauth(token(namespace={"default": True}), "'namespace'"),
    "namespace-list-with-null": unauth(token(namespace=[None]), "'namespace'"),
    "task-queues-a-number": unauth(token(task_queues=3), "'task_queues'"),
    "exp-a-string": unauth(token(exp=str(NOW + 600)), "'exp'"),
    "exp-a-boolean": unauth(token(exp=True), "'exp'"),
    "exp-missing": unauth(claims_without("exp"), "'exp'"),
    "nbf-a-string": unauth(token(nbf="0"), "'nbf'"),
    "iat-in-the-future": unauth(token(iat=NOW + 3600), "'iat'"),
    "aud-missing": unauth(claims_without("aud"), "'aud'"),
    "aud-a-number": unauth(token(aud=42), "'aud'"),
    "sub-a-number": unauth(token(sub=42), "'sub'"),
    # already held: time, signature, issuer, audience
    "expired": unauth(token(exp=NOW - 3600), "expired"),
    "nbf-in-the-future": unauth(token(nbf=NOW + 3600), "'nbf'"),
    "hs256-signed-with-the-public-key": unauth(_hs256_by_hand(PUBLIC_KEY.encode()), "signature"),
    "rs256-signed-by-another-key": unauth(
        token(key=_rsa_pair()[0], algorithm="RS256"), "signature"
    ),
    "tampered-payload": unauth(tampered(), "signature"),
    "wrong-secret": unauth(token(key="another-secret-that-is-also-long-enough"), "signature"),
    "wrong-issuer": unauth(token(iss="https://evil.example"), "'iss'"),
    "wrong-audience": unauth(token(aud="someone-else"), "'aud'"),
    "revoked-api-key": unauth(World.revoked_key, "revoked"),
    # 2. an empty or absent scope grants nothing
    "namespace-empty-list": denied(token(namespace=[]), "namespace 'default'"),
    "namespace-absent": denied(token(namespace=None), "namespace 'default'"),
    "task-queues-empty-list": denied(
        token(["temporal:worker:*"], task_queues=[]),
        "task queue 'q'",
        method="POST",
        url=f"{API}/default/task-queues/q/workflow-tasks/poll",
        body={"wait_timeout": "1s"},
    ),
    # already held: namespaces sealed, worker branch, task tokens bound to their namespace
    "foreign-namespace": denied(
        token(namespace="nsa"), "namespace 'nsb'", url=f"{API}/nsb/workflows"
    ),
    "worker-cannot-start": denied(
        WORKER,
        "temporal:workflow:start",
        method="POST",
        url=f"{API}/default/workflows",
        body=start_body("w"),
    ),
    "worker-cannot-terminate": denied(
        WORKER,
        "temporal:workflow:terminate",
        method="POST",
        url=f"{API}/default/workflows/w/terminate",
        body={},
    ),
    "foreign-task-token": denied(
        token(["temporal:worker:*"], namespace="nsb"),
        "another namespace",
        method="POST",
        url=f"{API}/nsb/workflow-tasks/complete",
        body=_nsa_task_token,
    ),
    "foreign-namespace-by-command": denied(
        token(["temporal:worker:*"], namespace="nsa"),
        "namespace 'nsb'",
        method="POST",
        url=f"{API}/nsa/workflow-tasks/complete",
        body=_nsa_signal_to_nsb,
    ),
    "register-foreign-namespace": denied(
        token(["temporal:namespace:*"], namespace="nsa"),
        "namespace 'nsz'",
        method="POST",
        url=API,
        body={"namespace": "nsz", "workflow_execution_retention_period": "86400s"},
    ),
    "register-worker-foreign-task-queue": denied(
        token(["temporal:worker:*"], task_queues=["q1"]),
        "task queue 'q2'",
        method="POST",
        url=f"{API}/default/workers",
        body={"task_queue": {"name": "q2"}, "identity": "w"},
    ),
    # 11. a forged task token names its kind
    "forged-task-token": Attack(
        token(["temporal:worker:*"], namespace="nsa"),
        400,
        "INVALID_ARGUMENT",
        "task_token is not a valid task token",
        method="POST",
        url=f"{API}/nsa/workflow-tasks/complete",
        body=_forged_task_token(),
    ),
    # 1. an API key no wider than its issuer, on every axis
    "api-key-all-permissions": issue(
        api_key_request(permissions=["temporal:*"]), "permission 'temporal:*'"
    ),
    "api-key-every-namespace": issue(
        {"name": "wider", "permissions": ["temporal:cluster:api-keys"]}, "every namespace"
    ),
    "api-key-star-namespace": issue(api_key_request(namespaces=["*"]), "every namespace"),
    "api-key-another-namespace": issue(api_key_request(namespaces=["nsb"]), "namespace 'nsb'"),
    "api-key-every-task-queue": issue(
        api_key_request(),
        "every task queue",
        credential=token(["temporal:cluster:api-keys"], namespace="nsa", task_queues=["q1"]),
    ),
    "api-key-another-task-queue": issue(
        api_key_request(task_queues=["q2"]),
        "task queue 'q2'",
        credential=token(["temporal:cluster:api-keys"], namespace="nsa", task_queues=["q1"]),
    ),
}


async def _resolve(value: Any, world: World) -> Any:
    return await value(world) if callable(value) else value


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
async def test_attack(world: World, attack: Attack) -> None:
    credential = await _resolve(attack.credential, world)
    body = await _resolve(attack.body, world)
    async with asyncio.timeout(30):  # a poll let through would wait on the manual clock
        response = await world.call(attack.method, attack.url, credential, body)
    error = assert_error(response, attack.status, attack.code)
    assert attack.mentions.lower() in error["message"].lower(), error
    assert "Traceback" not in response.text and "jose" not in response.text
    if attack.status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    if credential:
        for part in credential.split("."):
            assert len(part) < 8 or part not in response.text, "the credential was echoed"


# --- a fuzz of malformed tokens: every one is a 401, none a 500 ---


# Values python-jose and the claim checks meet where they expect something else.
ODD: list[Any] = [
    *(None, 0, -1, 1.5, True, 10**40, "", "\u0000", "é" * 50, [], {}, ["HS256"]),
    *("hs256", "Hs256", "rs256", "es256", "HS256 ", "PS256", "HS384", "none", "NONE"),
    {"alg": "HS256"},
]


def _malformed(seed: int, random_count: int) -> list[str]:
    """Each odd value in each place of a token, then random junk and cuts of a good one."""
    good = token()
    header, payload, signature = good.split(".")
    tokens: list[str] = []
    for value in ODD:
        tokens += [
            f"{b64url(value)}.{payload}.{signature}",  # a header that is no object
            hmac_signed({"alg": value, "typ": "JWT"}, good_claims()),  # signed with the secret
            unsigned({"alg": "RS256", "kid": value}),
            unsigned({"alg": "HS256", "crit": value}),
            f"{header}.{b64url(value)}.{signature}",  # a payload that is no object
            hmac_signed({"alg": "HS256", "typ": "JWT"}, value),  # ... with a good signature
        ]
    rng = random.Random(seed)
    not_utf8 = b64url(b"\xff\xfe")

    def junk() -> str:
        return "".join(rng.choice("abcXYZ0189-_=.+/!é\u0000 ") for _ in range(rng.randint(0, 40)))

    makers: list[Callable[[], str]] = [
        junk,
        lambda: ".".join(junk() for _ in range(rng.randint(1, 5))),
        lambda: f"{junk()}.{payload}.{signature}",
        lambda: f"{header}.{junk()}.{signature}",
        lambda: f"{header}.{payload}.{junk()}",
        lambda: f"{not_utf8}.{payload}.{signature}",
        lambda: good[: rng.randint(0, len(good) - 1)],
        lambda: good + rng.choice([".", "..", ".x", ".e30"]),
    ]
    return tokens + [rng.choice(makers)() for _ in range(random_count)]


async def test_malformed_tokens_are_401(world: World) -> None:
    tokens = _malformed(seed=20, random_count=200)
    assert len(tokens) > 300
    for credential in tokens:
        response = await world.call("GET", f"{API}/default/workflows", credential)
        assert response.status_code == 401, (credential, response.text)
        assert_error(response, 401, "UNAUTHENTICATED")
