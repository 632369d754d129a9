"""The settings as documented: each has a description, and each TEMPORAL_GATEWAY_* name
the documentation gives is a setting (a reader who copies a wrong one is only warned)."""

from __future__ import annotations

import re
from pathlib import Path

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
