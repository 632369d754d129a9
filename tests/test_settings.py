"""The settings as documented: each has a description, and each TEMPORAL_GATEWAY_* name
the documentation gives is a setting (a reader who copies a wrong one is only warned); and
the two ports, REST's and gRPC's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.setting_types import ENV_PREFIX
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [
    ROOT / "README.md",
    ROOT / "Dockerfile",
    *sorted((ROOT / "docs").rglob("*.md")),
    *sorted((ROOT / "examples").rglob("*.md")),
]


def test_every_setting_has_a_description() -> None:
    assert [name for name, field in Settings.model_fields.items() if not field.description] == []


def test_every_variable_the_documents_name_is_a_setting() -> None:
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    named = {
        (document.name, name)
        for document in DOCUMENTS
        # A name ending in "_" is a family ("TEMPORAL_GATEWAY_RATE_LIMIT_*").
        for name in re.findall(rf"{ENV_PREFIX}[A-Z0-9_]*[A-Z0-9]\b", document.read_text())
    }
    assert len(named) > 20  # the README's table was read
    assert sorted(pair for pair in named if pair[1] not in known) == []


def test_rest_is_on_7243_and_grpc_on_7233_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Temporal's own ports: its SDKs and CLI dial gRPC on 7233, its HTTP API is on 7243.
    (tests/conftest.py turns gRPC off for the tests; here the defaults are read bare.)"""
    monkeypatch.delenv("TEMPORAL_GATEWAY_GRPC_PORT", raising=False)
    monkeypatch.delenv("TEMPORAL_GATEWAY_PORT", raising=False)
    settings = Settings()
    assert (settings.port, settings.grpc_port) == (7243, 7233)


def test_the_grpc_port_comes_from_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_GATEWAY_GRPC_PORT", "17233")
    assert Settings().grpc_port == 17233


@pytest.mark.parametrize(("port", "grpc_port"), [(7243, 0), (0, 0), (0, 7233), (8000, 8001)])
def test_ports_that_can_be_served_together(port: int, grpc_port: int) -> None:
    settings = Settings(port=port, grpc_port=grpc_port)
    assert (settings.port, settings.grpc_port) == (port, grpc_port)


def test_one_port_for_rest_and_grpc_is_a_setting_error() -> None:
    with pytest.raises(ValidationError, match="are both 7233: give them different ports"):
        Settings(port=7233, grpc_port=7233)


def test_in_process_test_apps_serve_no_grpc(settings: Settings) -> None:
    assert settings.grpc_port == 0
