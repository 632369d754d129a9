"""Property-based API tests: schemathesis generates requests from the committed openapi.yaml
(valid and invalid ones) for every operation except the long polls, sends them to the ASGI
app inside its lifespan, and checks that no response is a 5xx and that every response
matches the schema the document declares for its status code.

Each operation is its own test with a fresh database; the examples of one operation share
it. Unsupported methods (schemathesis probes e.g. TRACE on every path) must answer the
documented 501 UNIMPLEMENTED envelope, which is not counted as a server error.

Needs schemathesis (a dev dependency); the module is skipped when it is not installed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio.from_thread import start_blocking_portal
from fastapi import FastAPI
from hypothesis import HealthCheck, settings

schemathesis = pytest.importorskip(
    "schemathesis",
    minversion="4.32",
    reason="schemathesis is not installed (dev dependency: pip install 'schemathesis>=4.32,<5')",
)

from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402

from app.main import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402
from tests.conftest import ROOMY_LIMITS  # noqa: E402

OPENAPI = Path(__file__).resolve().parents[1] / "openapi.yaml"
BASE_URL = "http://gateway"
MAX_EXAMPLES = 15
# Operations that may wait up to 50 s for a task, an event or a run's outcome.
LONG_POLLS = r"/(workflow-tasks|activity-tasks)/poll$|/history$|/result$"
CHECKS = [not_a_server_error, response_schema_conformance]

# An explicit configuration, so a schemathesis.toml lying around is not picked up, and a
# fixed seed so that a run is reproducible.
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20240601,
        "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_path(OPENAPI, config=CONFIG).exclude(path_regex=LONG_POLLS)


Send = Callable[..., httpx.Response]


@asynccontextmanager
async def _serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client


@pytest.fixture
def gateway(database_url: str) -> Iterator[Send]:
    """The app inside its lifespan, on an event loop in a thread of its own (the test is
    synchronous, as Hypothesis needs): the lifespan and every request run on that loop, as
    the app's database engine requires. Yields a blocking `request(**kwargs)`."""
    app = create_app(
        Settings(database_url=database_url, run_background_loops=False, **ROOMY_LIMITS)
    )
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(_serving(app)) as client,
    ):
        yield lambda **kwargs: portal.call(partial(client.request, **kwargs))


def _send(send: Send, case: Any) -> httpx.Response:
    """Send a case through httpx as schemathesis would through requests."""
    kwargs = case.as_transport_kwargs(base_url=BASE_URL)
    request: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": dict(kwargs.get("headers") or {}),
        # requests leaves out query parameters whose value is None; so does this.
        "params": {k: v for k, v in (kwargs.get("params") or {}).items() if v is not None},
    }
    if kwargs.get("json") is not None:
        request["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        request["content" if isinstance(data, (bytes, str)) else "data"] = data
    if kwargs.get("files"):
        request["files"] = kwargs["files"]
    cookies = kwargs.get("cookies")
    if cookies:
        request["headers"]["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return send(**request)


@pytest.mark.slow
@schema.parametrize()  # type: ignore[untyped-decorator]
# The fixture's app and database are shared by the examples of one operation, on purpose.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
def test_api_conforms_to_openapi(case: Any, gateway: Send) -> None:
    response = _send(gateway, case)
    if case.method.upper() != case.operation.method.upper():
        # A method the path does not serve: the documented UNIMPLEMENTED error.
        assert response.status_code == 501, (case.method, case.formatted_path, response.text)
        assert response.json()["error"]["code"] == "UNIMPLEMENTED", response.text
        return
    case.validate_response(response, checks=CHECKS)
