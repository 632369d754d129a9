"""The documentation names only files that are in the repository: every path to a source
or document file in README.md, docs/, bench/README.md and examples/ resolves (from the
repository's root, the document's own folder, or app/ for the architecture's
``services/...`` shorthand), and nothing points outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = sorted(
    [
        ROOT / "README.md",
        ROOT / "bench" / "README.md",
        *(ROOT / "docs").glob("*.md"),
        *(ROOT / "examples").rglob("*.md"),
        *(ROOT / "examples").rglob("*.py"),
    ]
)
# A relative path to a file of the project's kinds: `app/body_limit.py`,
# `../shared/DESIGN.md`, `services/queries.py` (not URLs or absolute paths: the
# lookbehind refuses a path that continues one).
REFERENCE = re.compile(
    r"(?<![\w/.:-])((?:\.{1,2}/)*(?:[\w-]+/)*[\w.-]+\.(?:py|md|yaml|yml|toml|ini|sh|cfg))\b"
)


def _references(document: Path) -> list[str]:
    return sorted(set(REFERENCE.findall(document.read_text())))


# A bare name (`chains.py` in a list of app/engine's modules) names a file of the project.
PROJECT_FILES = {
    path.name
    for folder in ("app", "bench", "docs", "examples", "scripts", "tests")
    for path in (ROOT / folder).rglob("*")
    if "node_modules" not in path.parts  # installed packages are not the project's
}


def _resolves(reference: str, document: Path) -> bool:
    if "/" not in reference:
        return reference in PROJECT_FILES or (ROOT / reference).exists()
    for base in (ROOT, document.parent, ROOT / "app"):
        target = (base / reference).resolve()
        if target.is_relative_to(ROOT) and target.exists():
            return True
    return False


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_file_a_document_names_is_in_the_repository(document: Path) -> None:
    missing = [r for r in _references(document) if not _resolves(r, document)]
    assert not missing, f"{document.relative_to(ROOT)} names files not in the repository"


def test_the_check_finds_references() -> None:
    found = _references(ROOT / "README.md")
    assert "openapi.yaml" in found and "docs/architecture.md" in found, found
    assert not _resolves("app/body_limit.py", ROOT / "README.md")
    assert not _resolves("../shared/DESIGN.md", ROOT / "docs" / "architecture.md")
    assert not _resolves("body_limit.py", ROOT / "docs" / "architecture.md")
