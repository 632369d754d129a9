"""The OpenAPI document: the committed openapi.yaml is current, and every operation of
the API is documented with its summary, description and error envelope."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.cli import openapi_yaml

COMMITTED = Path(__file__).resolve().parents[1] / "openapi.yaml"
ERROR_SCHEMA = "#/components/schemas/ErrorResponse"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def _document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(openapi_yaml())
    return document


def _api_operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in _document()["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in item.items()
        if method in METHODS
    ]


OPERATIONS = _api_operations()


def test_committed_openapi_yaml_is_current() -> None:
    generated = openapi_yaml()
    committed = COMMITTED.read_text()
    if committed != generated:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                generated.splitlines(keepends=True),
                "openapi.yaml (committed)",
                "openapi.yaml (generated)",
                n=1,
            )
        )
        pytest.fail(
            "openapi.yaml is stale; regenerate it with `python -m app openapi > openapi.yaml`"
            f"\n{diff[:4000]}"
        )


def test_there_are_api_operations() -> None:
    assert len(OPERATIONS) >= 10, [f"{m} {p}" for m, p, _ in OPERATIONS]


@pytest.mark.parametrize(
    ("method", "path", "operation"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS]
)
def test_operation_is_documented(method: str, path: str, operation: dict[str, Any]) -> None:
    assert operation.get("summary", "").strip(), f"{method} {path} has no summary"
    assert operation.get("description", "").strip(), f"{method} {path} has no description"
    responses = operation.get("responses", {})
    for status in ("400", "500"):
        assert status in responses, f"{method} {path} does not declare {status}"
        schema = responses[status].get("content", {}).get("application/json", {}).get("schema")
        assert schema == {"$ref": ERROR_SCHEMA}, f"{method} {path} {status}: {schema}"


def test_bearer_security_scheme_is_declared() -> None:
    schemes = _document().get("components", {}).get("securitySchemes", {})
    assert any(
        s.get("type") == "http" and s.get("scheme", "").lower() == "bearer"
        for s in schemes.values()
    ), schemes
