"""The ``Temporal-API-Version`` request header: v1 (or nothing) is served, v1beta1 is past
its end of support (2024-12-31) unless the server is told to keep serving it, anything
else is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from app.clock import ManualClock
from app.main import create_app
from app.settings import Settings
from tests.conftest import assert_error, start_body

HEADER = "Temporal-API-Version"


@pytest.fixture
async def beta_client(settings: Settings, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    """A client over an app that still serves v1beta1; otherwise configured as the shared
    ``settings`` fixture configures every test app (same database, loops as conftest has them)."""
    beta_settings = settings.model_copy(update={"serve_v1beta1": True})
    assert beta_settings.database_url == settings.database_url
    application: FastAPI = create_app(beta_settings, clock=clock)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield http


async def test_no_header_is_served_as_v1(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/namespaces/default")
    assert response.status_code == 200, response.text
    assert response.headers["temporal-api-version"] == "v1"
    assert "deprecation" not in response.headers
    assert "sunset" not in response.headers


@pytest.mark.parametrize("value", ["v1", " v1 ", ""])
async def test_v1_is_served(client: httpx.AsyncClient, value: str) -> None:
    response = await client.get("/api/v1/namespaces/default", headers={HEADER: value})
    assert response.status_code == 200, response.text
    assert response.headers["temporal-api-version"] == "v1"
    assert "deprecation" not in response.headers


async def test_v1_is_served_on_writes(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/namespaces/default/workflows", json=start_body(), headers={HEADER: "v1"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["temporal-api-version"] == "v1"


async def test_errors_in_a_served_version_carry_the_version_header(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/namespaces/ghost", headers={HEADER: "v1"})
    assert_error(response, 404, "NAMESPACE_NOT_FOUND")
    assert response.headers["temporal-api-version"] == "v1"


async def test_v1beta1_is_past_its_end_of_support(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/namespaces/default", headers={HEADER: "v1beta1"})
    error = assert_error(response, 400, "FAILED_PRECONDITION")
    assert "v1" in error["message"].replace("v1beta1", "")
    assert "2024-12-31" in error["message"]
    detail = error["details"][0]
    assert detail["requested"] == "v1beta1"
    assert detail["supported"] == ["v1"]
    assert response.headers["temporal-api-version"] == "v1"
    assert response.headers["content-type"].startswith("application/json")


async def test_v1beta1_refusal_does_not_run_the_request(client: httpx.AsyncClient) -> None:
    refused = await client.post(
        "/api/v1/namespaces/default/workflows", json=start_body(), headers={HEADER: "v1beta1"}
    )
    assert_error(refused, 400, "FAILED_PRECONDITION")
    missing = await client.get("/api/v1/namespaces/default/workflows/wf-1")
    assert_error(missing, 404, "WORKFLOW_EXECUTION_NOT_FOUND")


async def test_v1beta1_served_when_enabled_with_deprecation_headers(
    beta_client: httpx.AsyncClient,
) -> None:
    response = await beta_client.get("/api/v1/namespaces/default", headers={HEADER: "v1beta1"})
    assert response.status_code == 200, response.text
    assert response.json()["namespace_info"]["name"] == "default"
    assert response.headers["temporal-api-version"] == "v1beta1"
    assert response.headers["deprecation"] == "true"
    sunset = response.headers["sunset"]
    assert "31 Dec 2024" in sunset and sunset.endswith("GMT")

    started = await beta_client.post(
        "/api/v1/namespaces/default/workflows", json=start_body(), headers={HEADER: "v1beta1"}
    )
    assert started.status_code == 200, started.text
    assert started.headers["deprecation"] == "true"
    assert "sunset" in started.headers


async def test_v1beta1_errors_also_carry_deprecation_headers(
    beta_client: httpx.AsyncClient,
) -> None:
    response = await beta_client.get("/api/v1/namespaces/ghost", headers={HEADER: "v1beta1"})
    assert_error(response, 404, "NAMESPACE_NOT_FOUND")
    assert response.headers["temporal-api-version"] == "v1beta1"
    assert response.headers["deprecation"] == "true"


async def test_v1_on_a_server_that_serves_v1beta1_has_no_deprecation(
    beta_client: httpx.AsyncClient,
) -> None:
    for headers in ({}, {HEADER: "v1"}):
        response = await beta_client.get("/api/v1/namespaces/default", headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["temporal-api-version"] == "v1"
        assert "deprecation" not in response.headers
        assert "sunset" not in response.headers


@pytest.mark.parametrize("value", ["v2", "garbage", "V1", "v1.0", "v1beta2", "x" * 500])
async def test_unknown_version_is_invalid_argument(client: httpx.AsyncClient, value: str) -> None:
    response = await client.get("/api/v1/namespaces/default", headers={HEADER: value})
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert "v1" in error["message"]
    assert error["details"][0]["field"] == HEADER
    assert response.headers["temporal-api-version"] == "v1"
    assert len(response.text) < 1000


@pytest.mark.parametrize("value", ["v2", "garbage"])
async def test_unknown_version_refused_even_when_v1beta1_is_served(
    beta_client: httpx.AsyncClient, value: str
) -> None:
    response = await beta_client.get("/api/v1/namespaces/default", headers={HEADER: value})
    assert_error(response, 400, "INVALID_ARGUMENT")


async def test_header_name_is_case_insensitive(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v1/namespaces/default", headers={"TEMPORAL-API-VERSION": "v2"}
    )
    assert_error(response, 400, "INVALID_ARGUMENT")


async def test_version_is_checked_before_routing(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/no-such-route", headers={HEADER: "v2"})
    assert_error(response, 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize("value", ["v1", "v1beta1", "v2", "garbage"])
async def test_healthz_is_unaffected_by_the_header(client: httpx.AsyncClient, value: str) -> None:
    response = await client.get("/healthz", headers={HEADER: value})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"
    assert "temporal-api-version" not in response.headers
