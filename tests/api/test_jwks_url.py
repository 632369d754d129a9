"""Signing keys from a JWKS URL: fetched from a real HTTP server on loopback, kept for the
refresh interval, fetched early for an unknown `kid` (a key rotation), kept through an
outage of the issuer, and UNAVAILABLE while no key has ever been fetched."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from jose import jwk, jwt

from app.clock import ManualClock
from app.main import create_app
from app.settings import Settings
from tests.api.test_auth import PRIVATE_KEY, PUBLIC_KEY, bearer
from tests.conftest import ROOMY_LIMITS, assert_error

NS = "/api/v1/namespaces/default"


class Issuer:
    """A token issuer's key endpoint: the document it serves can change, or it can fail."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.failing = False
        self.fetches = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.fetches += 1
                if issuer.failing:
                    self.send_response(503)
                    self.end_headers()
                    return
                body = json.dumps({"keys": issuer.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"

    def publish(self, kid: str) -> None:
        public = jwk.construct(PUBLIC_KEY, algorithm="RS256").to_dict()
        self.keys = [{**public, "kid": kid, "use": "sig"}]


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    served = Issuer()
    thread = threading.Thread(target=served.server.serve_forever, daemon=True)
    thread.start()
    yield served
    served.server.shutdown()
    served.server.server_close()


@pytest.fixture
async def gateway(
    issuer: Issuer, database_url: str, clock: ManualClock
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=database_url,
        run_background_loops=False,
        jwt_jwks_url=issuer.url,
        jwt_jwks_refresh_seconds=300,
        jwt_algorithms=["RS256"],
        **ROOMY_LIMITS,
    )
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client


def signed(kid: str, clock: ManualClock) -> dict[str, str]:
    """A token minted at the gateway's clock's time, signed with the key named `kid`."""
    now = int(clock.now().timestamp())
    claims = {
        "sub": "svc",
        "permissions": ["temporal:*"],
        "namespace": "*",
        "iat": now,
        "exp": now + 600,
    }
    return bearer(jwt.encode(claims, PRIVATE_KEY, algorithm="RS256", headers={"kid": kid}))


async def test_keys_are_fetched_once_and_kept(
    gateway: httpx.AsyncClient, issuer: Issuer, clock: ManualClock
) -> None:
    issuer.publish("key-1")
    for _ in range(3):
        assert (
            await gateway.get(f"{NS}/workflows", headers=signed("key-1", clock))
        ).status_code == 200
    assert issuer.fetches == 1
    clock.advance(301)
    assert (await gateway.get(f"{NS}/workflows", headers=signed("key-1", clock))).status_code == 200
    assert issuer.fetches == 2


async def test_a_rotated_key_is_fetched_early_but_not_on_every_unknown_kid(
    gateway: httpx.AsyncClient, issuer: Issuer, clock: ManualClock
) -> None:
    issuer.publish("key-1")
    assert (await gateway.get(f"{NS}/workflows", headers=signed("key-1", clock))).status_code == 200
    issuer.publish("key-2")
    clock.advance(5)
    response = await gateway.get(f"{NS}/workflows", headers=signed("key-2", clock))
    assert_error(response, 401, "UNAUTHENTICATED")  # asked again too soon
    assert issuer.fetches == 1
    clock.advance(10)
    assert (await gateway.get(f"{NS}/workflows", headers=signed("key-2", clock))).status_code == 200
    assert issuer.fetches == 2
    old = await gateway.get(f"{NS}/workflows", headers=signed("key-1", clock))
    assert_error(old, 401, "UNAUTHENTICATED")


async def test_an_issuer_outage_keeps_the_fetched_keys(
    gateway: httpx.AsyncClient, issuer: Issuer, clock: ManualClock
) -> None:
    issuer.publish("key-1")
    assert (await gateway.get(f"{NS}/workflows", headers=signed("key-1", clock))).status_code == 200
    issuer.failing = True
    clock.advance(301)
    assert (await gateway.get(f"{NS}/workflows", headers=signed("key-1", clock))).status_code == 200
    assert issuer.fetches == 2


async def test_no_key_ever_fetched_is_unavailable_not_unauthenticated(
    gateway: httpx.AsyncClient, issuer: Issuer, clock: ManualClock
) -> None:
    issuer.failing = True
    response = await gateway.get(f"{NS}/workflows", headers=signed("key-1", clock))
    assert_error(response, 503, "UNAVAILABLE")
    assert_error(await gateway.get(f"{NS}/workflows"), 401, "UNAUTHENTICATED")
