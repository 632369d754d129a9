"""Namespace API: RegisterNamespace, DescribeNamespace, ListNamespaces, UpdateNamespace and
DeleteNamespace, including their validation errors."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func
from sqlmodel import col, select

from app.db.tables import CurrentExecutionRow, ExecutionRow, HistoryEventRow, TaskRow
from tests.conftest import assert_error, start_body

NAMESPACES = "/api/v1/namespaces"

# The spec's RegisterNamespace example request, verbatim.
SPEC_EXAMPLE: dict[str, Any] = {
    "namespace": "order-processing",
    "description": "Namespace for order processing workflows",
    "owner_email": "team-orders@company.com",
    "workflow_execution_retention_period": "2592000s",
    "data": {
        "environment": "production",
        "team": "orders",
        "cost_center": "engineering",
    },
    "is_global_namespace": False,
    "history_archival_config": {
        "state": "ENABLED",
        "uri": "s3://temporal-archival/order-processing/history",
    },
    "visibility_archival_config": {
        "state": "ENABLED",
        "uri": "s3://temporal-archival/order-processing/visibility",
    },
}


def ns_body(name: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"namespace": name, "workflow_execution_retention_period": "259200s"}
    body.update(overrides)
    return body


async def register(client: httpx.AsyncClient, name: str, **overrides: Any) -> dict[str, Any]:
    response = await client.post(NAMESPACES, json=ns_body(name, **overrides))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_bad_field(response: httpx.Response, field: str) -> dict[str, Any]:
    """400 INVALID_ARGUMENT whose details name ``field`` (or a path inside it)."""
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    fields = [d.get("field", "") for d in error["details"]]
    assert any(f == field or f.startswith(field + ".") for f in fields), (field, error)
    for detail in error["details"]:
        assert detail["type"] == "BadRequest", detail
        assert detail["description"], detail
    return error


# --- RegisterNamespace / DescribeNamespace -------------------------------------------


async def test_register_spec_example_then_describe_returns_every_field(
    client: httpx.AsyncClient,
) -> None:
    registered = await client.post(NAMESPACES, json=SPEC_EXAMPLE)
    assert registered.status_code == 200, registered.text

    described = await client.get(f"{NAMESPACES}/order-processing")
    assert described.status_code == 200, described.text
    body = described.json()

    info = body["namespace_info"]
    assert info["name"] == "order-processing"
    assert info["state"] == "REGISTERED"
    assert info["description"] == "Namespace for order processing workflows"
    assert info["owner_email"] == "team-orders@company.com"
    assert info["data"] == {
        "environment": "production",
        "team": "orders",
        "cost_center": "engineering",
    }
    assert str(uuid.UUID(info["id"])) == info["id"]

    config = body["config"]
    assert config["workflow_execution_retention_ttl"] == "2592000s"
    assert config["history_archival_state"] == "ENABLED"
    assert config["history_archival_uri"] == "s3://temporal-archival/order-processing/history"
    assert config["visibility_archival_state"] == "ENABLED"
    assert config["visibility_archival_uri"] == (
        "s3://temporal-archival/order-processing/visibility"
    )

    replication = body["replication_config"]
    assert replication["active_cluster_name"] == "active"
    assert replication["clusters"] == [{"cluster_name": "active"}]

    assert body["failover_version"] == 0
    assert body["is_global_namespace"] is False

    # RegisterNamespace answers with the same description.
    assert registered.json() == body


async def test_register_twice_gives_distinct_ids(client: httpx.AsyncClient) -> None:
    first = await register(client, "ns-a")
    second = await register(client, "ns-b")
    assert first["namespace_info"]["id"] != second["namespace_info"]["id"]


async def test_register_defaults(client: httpx.AsyncClient) -> None:
    body = await register(client, "plain")
    assert body["namespace_info"]["description"] == ""
    assert body["namespace_info"]["owner_email"] == ""
    assert body["namespace_info"]["data"] == {}
    assert body["config"]["workflow_execution_retention_ttl"] == "259200s"
    assert body["config"]["history_archival_state"] == "DISABLED"
    assert body["config"]["history_archival_uri"] == ""
    assert body["config"]["visibility_archival_state"] == "DISABLED"
    assert body["config"]["visibility_archival_uri"] == ""
    assert body["replication_config"]["active_cluster_name"] == "active"
    assert body["is_global_namespace"] is False


async def test_register_global_namespace_with_24h_retention(client: httpx.AsyncClient) -> None:
    body = await register(
        client,
        "global-ns",
        is_global_namespace=True,
        workflow_execution_retention_period="86400s",
        clusters=[{"cluster_name": "active"}],
        active_cluster_name="active",
    )
    assert body["is_global_namespace"] is True
    assert body["config"]["workflow_execution_retention_ttl"] == "86400s"
    described = await client.get(f"{NAMESPACES}/global-ns")
    assert described.json()["is_global_namespace"] is True


async def test_register_accepts_full_proto_archival_state(client: httpx.AsyncClient) -> None:
    body = await register(
        client,
        "proto-enum",
        history_archival_config={"state": "ARCHIVAL_STATE_ENABLED", "uri": "file:///tmp/h"},
        visibility_archival_config={"state": "ARCHIVAL_STATE_DISABLED"},
    )
    assert body["config"]["history_archival_state"] == "ENABLED"
    assert body["config"]["history_archival_uri"] == "file:///tmp/h"
    assert body["config"]["visibility_archival_state"] == "DISABLED"


async def test_default_namespace_exists_from_the_start(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{NAMESPACES}/default")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["namespace_info"]["name"] == "default"
    assert body["namespace_info"]["state"] == "REGISTERED"
    listed = await client.get(NAMESPACES)
    assert listed.status_code == 200, listed.text
    assert [n["namespace_info"]["name"] for n in listed.json()["namespaces"]] == ["default"]


async def test_register_duplicate_is_already_exists(client: httpx.AsyncClient) -> None:
    await register(client, "dup")
    again = await client.post(NAMESPACES, json=ns_body("dup", description="other"))
    error = assert_error(again, 409, "ALREADY_EXISTS")
    assert "dup" in error["message"]
    # The first registration is untouched.
    described = await client.get(f"{NAMESPACES}/dup")
    assert described.json()["namespace_info"]["description"] == ""


async def test_register_default_again_is_already_exists(client: httpx.AsyncClient) -> None:
    response = await client.post(NAMESPACES, json=ns_body("default"))
    assert_error(response, 409, "ALREADY_EXISTS")


async def test_names_are_case_sensitive(client: httpx.AsyncClient) -> None:
    await register(client, "Orders")
    await register(client, "orders")
    upper = await client.get(f"{NAMESPACES}/Orders")
    lower = await client.get(f"{NAMESPACES}/orders")
    assert upper.json()["namespace_info"]["name"] == "Orders"
    assert lower.json()["namespace_info"]["name"] == "orders"


async def test_describe_unknown_is_namespace_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{NAMESPACES}/no-such-namespace")
    error = assert_error(response, 404, "NAMESPACE_NOT_FOUND")
    assert error["details"][0]["namespace"] == "no-such-namespace"
    assert "no-such-namespace" in error["message"]


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("has space", id="space"),
        pytest.param(" leading-space", id="leading-space"),
        pytest.param("-leading-dash", id="leading-dash"),
        pytest.param("slash/inside", id="slash"),
        pytest.param("a" * 1001, id="1001-chars"),
    ],
)
async def test_register_bad_name(client: httpx.AsyncClient, name: str) -> None:
    response = await client.post(NAMESPACES, json=ns_body(name))
    assert_bad_field(response, "namespace")


async def test_register_name_of_1000_chars_is_accepted(client: httpx.AsyncClient) -> None:
    name = "n" * 1000
    body = await register(client, name)
    assert body["namespace_info"]["name"] == name


async def test_register_name_missing(client: httpx.AsyncClient) -> None:
    response = await client.post(NAMESPACES, json={"workflow_execution_retention_period": "86400s"})
    assert_bad_field(response, "namespace")


async def test_register_retention_missing(client: httpx.AsyncClient) -> None:
    response = await client.post(NAMESPACES, json={"namespace": "no-retention"})
    assert_bad_field(response, "workflow_execution_retention_period")
    assert_error(await client.get(f"{NAMESPACES}/no-retention"), 404, "NAMESPACE_NOT_FOUND")


@pytest.mark.parametrize(
    "retention",
    [
        pytest.param("30m", id="minutes-unit"),
        pytest.param("1800s", id="below-1h"),
        pytest.param("3599.5s", id="just-below-1h"),
        pytest.param("-86400s", id="negative"),
        pytest.param("abc", id="garbage"),
        pytest.param("", id="empty"),
        pytest.param(86400, id="number"),
        pytest.param(None, id="null"),
        pytest.param("3200000000s", id="over-100-years"),
        pytest.param("99999999999999s", id="beyond-timedelta"),
    ],
)
async def test_register_bad_retention(client: httpx.AsyncClient, retention: Any) -> None:
    response = await client.post(
        NAMESPACES, json=ns_body("bad-retention", workflow_execution_retention_period=retention)
    )
    assert_bad_field(response, "workflow_execution_retention_period")
    assert_error(await client.get(f"{NAMESPACES}/bad-retention"), 404, "NAMESPACE_NOT_FOUND")


async def test_register_retention_of_exactly_1h_is_accepted(client: httpx.AsyncClient) -> None:
    body = await register(client, "one-hour", workflow_execution_retention_period="3600s")
    assert body["config"]["workflow_execution_retention_ttl"] == "3600s"


async def test_register_global_namespace_needs_24h_retention(client: httpx.AsyncClient) -> None:
    response = await client.post(
        NAMESPACES,
        json=ns_body(
            "global-short",
            is_global_namespace=True,
            workflow_execution_retention_period="7200s",
        ),
    )
    error = assert_bad_field(response, "workflow_execution_retention_period")
    assert "24h" in error["message"] or "86400s" in error["message"]


@pytest.mark.parametrize("kind", ["history_archival_config", "visibility_archival_config"])
async def test_register_archival_enabled_without_uri(client: httpx.AsyncClient, kind: str) -> None:
    response = await client.post(NAMESPACES, json=ns_body("arch", **{kind: {"state": "ENABLED"}}))
    assert_bad_field(response, f"{kind}.uri")


@pytest.mark.parametrize("kind", ["history_archival_config", "visibility_archival_config"])
async def test_register_archival_unsupported_scheme(client: httpx.AsyncClient, kind: str) -> None:
    response = await client.post(
        NAMESPACES,
        json=ns_body("arch", **{kind: {"state": "ENABLED", "uri": "ftp://example.com/archive"}}),
    )
    error = assert_bad_field(response, f"{kind}.uri")
    assert "ftp" in error["message"]


async def test_register_archival_unknown_state(client: httpx.AsyncClient) -> None:
    response = await client.post(
        NAMESPACES,
        json=ns_body("arch", history_archival_config={"state": "SOMETIMES", "uri": "s3://b/p"}),
    )
    assert_bad_field(response, "history_archival_config.state")


async def test_register_unknown_cluster(client: httpx.AsyncClient) -> None:
    response = await client.post(
        NAMESPACES,
        json=ns_body("clustered", clusters=[{"cluster_name": "elsewhere"}]),
    )
    error = assert_bad_field(response, "clusters")
    assert "elsewhere" in error["message"]


async def test_register_active_cluster_not_in_clusters(client: httpx.AsyncClient) -> None:
    response = await client.post(
        NAMESPACES,
        json=ns_body("clustered", active_cluster_name="elsewhere"),
    )
    assert_bad_field(response, "active_cluster_name")


async def test_register_unknown_field(client: httpx.AsyncClient) -> None:
    response = await client.post(NAMESPACES, json=ns_body("extra", retention_days=3))
    error = assert_bad_field(response, "retention_days")
    assert error["details"][0]["description"] == "unknown field"


async def test_register_unknown_nested_field(client: httpx.AsyncClient) -> None:
    response = await client.post(
        NAMESPACES,
        json=ns_body("extra", history_archival_config={"state": "DISABLED", "bucket": "b"}),
    )
    assert_bad_field(response, "history_archival_config.bucket")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("namespace", 42, id="namespace-number"),
        pytest.param("namespace", ["a"], id="namespace-list"),
        pytest.param("description", {"text": "x"}, id="description-object"),
        pytest.param("owner_email", 7, id="owner-email-number"),
        pytest.param("data", ["a", "b"], id="data-list"),
        pytest.param("data", {"count": 3}, id="data-value-number"),
        pytest.param("is_global_namespace", "maybe", id="is-global-string"),
        pytest.param("clusters", "active", id="clusters-string"),
        pytest.param("clusters", [{"name": "active"}], id="clusters-wrong-key"),
        pytest.param("history_archival_config", "ENABLED", id="archival-string"),
    ],
)
async def test_register_wrong_types(client: httpx.AsyncClient, field: str, value: Any) -> None:
    response = await client.post(NAMESPACES, json=ns_body("typed", **{field: value}))
    assert_bad_field(response, field)


async def test_register_body_not_an_object(client: httpx.AsyncClient) -> None:
    response = await client.post(NAMESPACES, json=["order-processing"])
    assert_error(response, 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("description", "desc\u0000", id="description"),
        pytest.param("owner_email", "a\u0000@b.c", id="owner-email"),
        pytest.param("data", {"k": "v\u0000"}, id="data-value"),
        pytest.param("data", {"k\u0000": "v"}, id="data-key"),
    ],
)
async def test_register_nul_character_is_not_a_500(
    client: httpx.AsyncClient, field: str, value: Any
) -> None:
    """A NUL is valid JSON but not storable in a PostgreSQL text column: it is either
    stored faithfully or refused as INVALID_ARGUMENT naming the field, never a 500."""
    response = await client.post(NAMESPACES, json=ns_body("nul", **{field: value}))
    if response.status_code == 200:
        described = await client.get(f"{NAMESPACES}/nul")
        assert described.json()["namespace_info"][field] == value
    else:
        assert_bad_field(response, field)


# --- ListNamespaces ------------------------------------------------------------------


async def test_list_pages_visit_every_namespace_once_in_name_order(
    client: httpx.AsyncClient,
) -> None:
    # Registered out of order; "default" is the fifth.
    for name in ("delta", "alpha", "echo", "charlie"):
        await register(client, name)
    expected = sorted(["alpha", "charlie", "default", "delta", "echo"])

    seen: list[str] = []
    page_lengths: list[int] = []
    token = ""
    for _ in range(10):
        params: dict[str, Any] = {"page_size": 2}
        if token:
            params["next_page_token"] = token
        response = await client.get(NAMESPACES, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        names = [n["namespace_info"]["name"] for n in body["namespaces"]]
        page_lengths.append(len(names))
        seen.extend(names)
        token = body["next_page_token"]
        if not token:
            break
    assert seen == expected
    assert page_lengths == [2, 2, 1]
    assert token == ""


async def test_list_exact_multiple_of_page_size_ends_cleanly(
    client: httpx.AsyncClient,
) -> None:
    await register(client, "zulu")  # with "default": two namespaces
    first = await client.get(NAMESPACES, params={"page_size": 2})
    assert first.status_code == 200, first.text
    body = first.json()
    assert [n["namespace_info"]["name"] for n in body["namespaces"]] == ["default", "zulu"]
    if body["next_page_token"]:
        # A token is allowed here, but then the next page must be empty and final.
        rest = await client.get(
            NAMESPACES, params={"page_size": 2, "next_page_token": body["next_page_token"]}
        )
        assert rest.status_code == 200, rest.text
        assert rest.json() == {"namespaces": [], "next_page_token": ""}


async def test_list_default_page_size_returns_all(client: httpx.AsyncClient) -> None:
    for i in range(5):
        await register(client, f"ns-{i}")
    response = await client.get(NAMESPACES)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [n["namespace_info"]["name"] for n in body["namespaces"]] == [
        "default",
        "ns-0",
        "ns-1",
        "ns-2",
        "ns-3",
        "ns-4",
    ]
    assert body["next_page_token"] == ""
    # Each entry is a full DescribeNamespace response.
    for entry in body["namespaces"]:
        assert set(entry) >= {
            "namespace_info",
            "config",
            "replication_config",
            "failover_version",
            "is_global_namespace",
        }


async def _first_token(client: httpx.AsyncClient) -> str:
    for name in ("p1", "p2", "p3"):
        await register(client, name)
    response = await client.get(NAMESPACES, params={"page_size": 1})
    assert response.status_code == 200, response.text
    token: str = response.json()["next_page_token"]
    assert token
    return token


def _flip(token: str, index: int) -> str:
    replacement = "B" if token[index] == "A" else "A"
    return token[:index] + replacement + token[index + 1 :]


@pytest.mark.parametrize("where", ["mac", "middle", "end-1"])
async def test_list_tampered_token_is_invalid_argument(
    client: httpx.AsyncClient, where: str
) -> None:
    token = await _first_token(client)
    index = {"mac": 3, "middle": len(token) // 2, "end-1": len(token) - 2}[where]
    tampered = _flip(token, index)
    assert tampered != token
    response = await client.get(NAMESPACES, params={"page_size": 1, "next_page_token": tampered})
    assert_bad_field(response, "next_page_token")


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(base64.urlsafe_b64encode(b"garbage" * 8).decode(), id="b64-garbage"),
        pytest.param(
            base64.urlsafe_b64encode(b'{"k":"namespaces","after":"p1"}').decode(),
            id="b64-unsigned-json",
        ),
        pytest.param("not a token!!", id="not-base64"),
        pytest.param("abc", id="short"),
        pytest.param("\u00e9t\u00e9", id="non-ascii"),
        pytest.param("====", id="only-padding"),
    ],
)
async def test_list_garbage_token_is_invalid_argument(
    client: httpx.AsyncClient, token: str
) -> None:
    response = await client.get(NAMESPACES, params={"next_page_token": token})
    assert_bad_field(response, "next_page_token")


async def test_list_token_of_another_request_is_invalid_argument(
    client: httpx.AsyncClient,
) -> None:
    started = await client.post(f"{NAMESPACES}/default/workflows", json=start_body())
    assert started.status_code == 200, started.text
    history = await client.get(
        f"{NAMESPACES}/default/workflows/wf-1/history", params={"maximum_page_size": 1}
    )
    assert history.status_code == 200, history.text
    history_token = history.json()["next_page_token"]
    assert history_token
    response = await client.get(NAMESPACES, params={"next_page_token": history_token})
    assert_bad_field(response, "next_page_token")


@pytest.mark.parametrize("page_size", [-1, 1001, 5000])
async def test_list_page_size_out_of_range(client: httpx.AsyncClient, page_size: int) -> None:
    response = await client.get(NAMESPACES, params={"page_size": page_size})
    assert_bad_field(response, "page_size")


async def test_list_page_size_not_a_number(client: httpx.AsyncClient) -> None:
    response = await client.get(NAMESPACES, params={"page_size": "ten"})
    assert_bad_field(response, "page_size")


async def test_list_page_size_1000_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.get(NAMESPACES, params={"page_size": 1000})
    assert response.status_code == 200, response.text


# --- UpdateNamespace -----------------------------------------------------------------


def update_url(name: str) -> str:
    return f"{NAMESPACES}/{name}/update"


async def test_update_description_and_owner_email(client: httpx.AsyncClient) -> None:
    await client.post(NAMESPACES, json=SPEC_EXAMPLE)
    response = await client.post(
        update_url("order-processing"),
        json={"update_info": {"description": "Orders, v2", "owner_email": "new-owner@company.com"}},
    )
    assert response.status_code == 200, response.text
    assert response.json()["namespace_info"]["description"] == "Orders, v2"
    assert response.json()["namespace_info"]["owner_email"] == "new-owner@company.com"

    body = (await client.get(f"{NAMESPACES}/order-processing")).json()
    assert body["namespace_info"]["description"] == "Orders, v2"
    assert body["namespace_info"]["owner_email"] == "new-owner@company.com"
    # Nothing else changed.
    assert body["namespace_info"]["data"] == SPEC_EXAMPLE["data"]
    assert body["config"]["workflow_execution_retention_ttl"] == "2592000s"
    assert body["config"]["history_archival_state"] == "ENABLED"
    assert body["namespace_info"]["state"] == "REGISTERED"
    assert body == response.json()


async def test_update_data_is_merged_not_replaced(client: httpx.AsyncClient) -> None:
    await client.post(NAMESPACES, json=SPEC_EXAMPLE)
    response = await client.post(
        update_url("order-processing"),
        json={"update_info": {"data": {"team": "fulfilment", "region": "eu-west-1"}}},
    )
    assert response.status_code == 200, response.text
    expected = {
        "environment": "production",
        "team": "fulfilment",
        "cost_center": "engineering",
        "region": "eu-west-1",
    }
    assert response.json()["namespace_info"]["data"] == expected
    described = await client.get(f"{NAMESPACES}/order-processing")
    assert described.json()["namespace_info"]["data"] == expected


async def test_update_with_empty_body_changes_nothing(client: httpx.AsyncClient) -> None:
    before = (await client.post(NAMESPACES, json=SPEC_EXAMPLE)).json()
    response = await client.post(update_url("order-processing"), json={})
    assert response.status_code == 200, response.text
    assert response.json() == before


async def test_update_retention(client: httpx.AsyncClient) -> None:
    await register(client, "ret")
    response = await client.post(
        update_url("ret"), json={"config": {"workflow_execution_retention_ttl": "604800s"}}
    )
    assert response.status_code == 200, response.text
    assert response.json()["config"]["workflow_execution_retention_ttl"] == "604800s"
    described = await client.get(f"{NAMESPACES}/ret")
    assert described.json()["config"]["workflow_execution_retention_ttl"] == "604800s"


@pytest.mark.parametrize("retention", ["1800s", "-3600s", "abc", "2h", 7200])
async def test_update_retention_out_of_bounds(client: httpx.AsyncClient, retention: Any) -> None:
    await register(client, "ret")
    response = await client.post(
        update_url("ret"), json={"config": {"workflow_execution_retention_ttl": retention}}
    )
    assert_bad_field(response, "config.workflow_execution_retention_ttl")
    described = await client.get(f"{NAMESPACES}/ret")
    assert described.json()["config"]["workflow_execution_retention_ttl"] == "259200s"


async def test_update_global_namespace_retention_needs_24h(client: httpx.AsyncClient) -> None:
    await register(client, "global-ns", is_global_namespace=True)
    response = await client.post(
        update_url("global-ns"), json={"config": {"workflow_execution_retention_ttl": "7200s"}}
    )
    assert_bad_field(response, "config.workflow_execution_retention_ttl")


async def test_update_archival(client: httpx.AsyncClient) -> None:
    await register(client, "arch")
    enabled = await client.post(
        update_url("arch"),
        json={"config": {"history_archival_state": "ENABLED", "history_archival_uri": "gs://b/h"}},
    )
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["config"]["history_archival_state"] == "ENABLED"
    assert enabled.json()["config"]["history_archival_uri"] == "gs://b/h"

    no_uri = await client.post(
        update_url("arch"), json={"config": {"visibility_archival_state": "ENABLED"}}
    )
    error = assert_error(no_uri, 400, "INVALID_ARGUMENT")
    assert "visibility_archival" in error["details"][0]["field"]

    bad_scheme = await client.post(
        update_url("arch"), json={"config": {"history_archival_uri": "ftp://x/y"}}
    )
    error = assert_error(bad_scheme, 400, "INVALID_ARGUMENT")
    assert "history_archival" in error["details"][0]["field"]
    described = await client.get(f"{NAMESPACES}/arch")
    assert described.json()["config"]["history_archival_uri"] == "gs://b/h"


async def test_update_state_deprecated_blocks_new_workflows(client: httpx.AsyncClient) -> None:
    await register(client, "old")
    before = await client.post(f"{NAMESPACES}/old/workflows", json=start_body("wf-before"))
    assert before.status_code == 200, before.text

    response = await client.post(update_url("old"), json={"update_info": {"state": "DEPRECATED"}})
    assert response.status_code == 200, response.text
    assert response.json()["namespace_info"]["state"] == "DEPRECATED"
    described = await client.get(f"{NAMESPACES}/old")
    assert described.status_code == 200, described.text
    assert described.json()["namespace_info"]["state"] == "DEPRECATED"

    started = await client.post(f"{NAMESPACES}/old/workflows", json=start_body("wf-after"))
    error = assert_error(started, 400, "FAILED_PRECONDITION")
    assert "DEPRECATED" in error["message"]
    assert_error(
        await client.get(f"{NAMESPACES}/old/workflows/wf-after"),
        404,
        "WORKFLOW_EXECUTION_NOT_FOUND",
    )
    # Existing workflows stay readable.
    existing = await client.get(f"{NAMESPACES}/old/workflows/wf-before")
    assert existing.status_code == 200, existing.text


async def test_update_state_back_to_registered_allows_workflows(
    client: httpx.AsyncClient,
) -> None:
    await register(client, "revived")
    await client.post(
        update_url("revived"), json={"update_info": {"state": "NAMESPACE_STATE_DEPRECATED"}}
    )
    blocked = await client.post(f"{NAMESPACES}/revived/workflows", json=start_body())
    assert_error(blocked, 400, "FAILED_PRECONDITION")
    revived = await client.post(
        update_url("revived"), json={"update_info": {"state": "REGISTERED"}}
    )
    assert revived.status_code == 200, revived.text
    started = await client.post(f"{NAMESPACES}/revived/workflows", json=start_body())
    assert started.status_code == 200, started.text


async def test_update_state_deleted_is_refused(client: httpx.AsyncClient) -> None:
    await register(client, "keep")
    response = await client.post(update_url("keep"), json={"update_info": {"state": "DELETED"}})
    assert_bad_field(response, "update_info.state")
    described = await client.get(f"{NAMESPACES}/keep")
    assert described.json()["namespace_info"]["state"] == "REGISTERED"


async def test_update_unknown_state(client: httpx.AsyncClient) -> None:
    await register(client, "keep")
    response = await client.post(update_url("keep"), json={"update_info": {"state": "RETIRED"}})
    assert_bad_field(response, "update_info.state")


async def test_update_unknown_namespace_is_not_found(client: httpx.AsyncClient) -> None:
    response = await client.post(update_url("ghost"), json={"update_info": {"description": "boo"}})
    error = assert_error(response, 404, "NAMESPACE_NOT_FOUND")
    assert error["details"][0]["namespace"] == "ghost"


async def test_update_body_namespace_mismatch(client: httpx.AsyncClient) -> None:
    await register(client, "one")
    await register(client, "two")
    response = await client.post(
        update_url("one"),
        json={"namespace": "two", "update_info": {"description": "changed"}},
    )
    assert_bad_field(response, "namespace")
    for name in ("one", "two"):
        described = await client.get(f"{NAMESPACES}/{name}")
        assert described.json()["namespace_info"]["description"] == ""


async def test_update_body_namespace_matching_is_accepted(client: httpx.AsyncClient) -> None:
    await register(client, "one")
    response = await client.post(
        update_url("one"), json={"namespace": "one", "update_info": {"description": "ok"}}
    )
    assert response.status_code == 200, response.text
    assert response.json()["namespace_info"]["description"] == "ok"


async def test_update_unknown_field(client: httpx.AsyncClient) -> None:
    await register(client, "one")
    response = await client.post(update_url("one"), json={"update_info": {"colour": "blue"}})
    assert_bad_field(response, "update_info.colour")


async def test_update_unknown_cluster(client: httpx.AsyncClient) -> None:
    await register(client, "one")
    response = await client.post(
        update_url("one"),
        json={"replication_config": {"clusters": [{"cluster_name": "elsewhere"}]}},
    )
    assert_bad_field(response, "clusters")


# --- DeleteNamespace -----------------------------------------------------------------


async def _rows_in(app: FastAPI, namespace_id: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    async with app.state.ctx.db.read() as session:
        for table in (ExecutionRow, CurrentExecutionRow, HistoryEventRow, TaskRow):
            query = (
                select(func.count())
                .select_from(table)
                .where(col(table.namespace_id) == namespace_id)
            )
            counts[table.__name__] = (await session.execute(query)).scalar_one()
    return counts


async def test_delete_namespace_removes_it_and_its_workflows(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    registered = await register(client, "doomed")
    old_id = registered["namespace_info"]["id"]
    for workflow_id in ("wf-a", "wf-b"):
        started = await client.post(f"{NAMESPACES}/doomed/workflows", json=start_body(workflow_id))
        assert started.status_code == 200, started.text
    assert (await _rows_in(app, old_id))["ExecutionRow"] == 2

    deleted = await client.delete(f"{NAMESPACES}/doomed")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"deleted_namespace": "doomed", "deleted_executions": 2}

    assert_error(await client.get(f"{NAMESPACES}/doomed"), 404, "NAMESPACE_NOT_FOUND")
    assert_error(
        await client.get(f"{NAMESPACES}/doomed/workflows/wf-a"), 404, "NAMESPACE_NOT_FOUND"
    )
    listed = await client.get(NAMESPACES)
    assert "doomed" not in [n["namespace_info"]["name"] for n in listed.json()["namespaces"]]
    assert await _rows_in(app, old_id) == {
        "ExecutionRow": 0,
        "CurrentExecutionRow": 0,
        "HistoryEventRow": 0,
        "TaskRow": 0,
    }

    again = await register(client, "doomed")
    assert again["namespace_info"]["state"] == "REGISTERED"
    assert again["namespace_info"]["id"] != old_id
    for workflow_id in ("wf-a", "wf-b"):
        assert_error(
            await client.get(f"{NAMESPACES}/doomed/workflows/{workflow_id}"),
            404,
            "WORKFLOW_EXECUTION_NOT_FOUND",
        )
    # The old id is free again in the new namespace.
    restarted = await client.post(f"{NAMESPACES}/doomed/workflows", json=start_body("wf-a"))
    assert restarted.status_code == 200, restarted.text


async def test_delete_leaves_other_namespaces_alone(client: httpx.AsyncClient) -> None:
    await register(client, "doomed")
    await client.post(f"{NAMESPACES}/doomed/workflows", json=start_body("shared-id"))
    kept = await client.post(f"{NAMESPACES}/default/workflows", json=start_body("shared-id"))
    assert kept.status_code == 200, kept.text

    deleted = await client.delete(f"{NAMESPACES}/doomed")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["deleted_executions"] == 1

    still_there = await client.get(f"{NAMESPACES}/default/workflows/shared-id")
    assert still_there.status_code == 200, still_there.text
    assert still_there.json()["execution_info"]["execution"]["run_id"] == kept.json()["run_id"]


async def test_delete_empty_namespace(client: httpx.AsyncClient) -> None:
    await register(client, "empty")
    deleted = await client.delete(f"{NAMESPACES}/empty")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"deleted_namespace": "empty", "deleted_executions": 0}


async def test_delete_unknown_namespace_is_not_found(client: httpx.AsyncClient) -> None:
    response = await client.delete(f"{NAMESPACES}/ghost")
    error = assert_error(response, 404, "NAMESPACE_NOT_FOUND")
    assert error["details"][0]["namespace"] == "ghost"


async def test_delete_twice_is_not_found(client: httpx.AsyncClient) -> None:
    await register(client, "once")
    assert (await client.delete(f"{NAMESPACES}/once")).status_code == 200
    assert_error(await client.delete(f"{NAMESPACES}/once"), 404, "NAMESPACE_NOT_FOUND")
