"""The layers of docs/architecture.md, checked on the source: a door (app/routers, and
app/grpc when it exists) parses, authorises, calls one service function and shapes the
reply, so it imports neither app.engine nor app.db; the engine is pure (no services,
routers, doors, database or app context); the database layer knows nothing above it.

Every import counts, wherever it is written: at the top, inside a function, under
TYPE_CHECKING, relative (`from ..db import tables`) or through the package
(`from app import db`)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"

DOORS = ("app/routers", "app/grpc")
DOOR_FORBIDDEN = ("app.engine", "app.db")
ENGINE_FORBIDDEN = ("app.services", "app.routers", "app.db", "app.context", "app.grpc")
DB_FORBIDDEN = ("app.services", "app.routers", "app.grpc")

# Routers not yet converted to thin doors (issue #21 item 6), each still importing
# app.engine or app.db, as "app/routers/<name>.py". Take a file off this list when its use
# cases have moved into services; the test fails while a listed file no longer breaks the
# rule, so the list only shrinks (and nothing new may join it). Empty since the gRPC door
# landed: every router is a thin door.
PENDING: set[str] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(source: str, module: str, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """(line, module name) of every import in ``source``, the source of ``module``. A
    ``from X import a`` yields X and X.a (a may be a submodule: ``from app import db``)."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                parts = [*base, *(node.module.split(".") if node.module else [])]
                origin = ".".join(parts)
            else:
                origin = node.module or ""
            yield node.lineno, origin
            for alias in node.names:
                if alias.name != "*":
                    yield node.lineno, f"{origin}.{alias.name}"


def within(name: str, packages: tuple[str, ...]) -> str | None:
    """The forbidden package ``name`` is (or is inside), if any."""
    for package in packages:
        if name == package or name.startswith(package + "."):
            return package
    return None


def sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def violations(path: Path, forbidden: tuple[str, ...]) -> list[str]:
    found: dict[tuple[int, str], None] = {}
    names = imported(path.read_text(), module_name(path), path.name == "__init__.py")
    for line, name in names:
        package = within(name, forbidden)
        if package is not None:
            found[(line, package)] = None
    relative = path.relative_to(ROOT).as_posix()
    return [f"{relative}:{line} imports {package}" for line, package in found]


def door_files() -> list[Path]:
    return [path for folder in DOORS if (ROOT / folder).is_dir() for path in sources(folder)]


def test_doors_import_neither_the_engine_nor_the_database() -> None:
    doors = door_files()
    assert any(path.parent.name == "routers" for path in doors), "no routers found"
    broken = [
        line
        for path in doors
        if path.relative_to(ROOT).as_posix() not in PENDING
        for line in violations(path, DOOR_FORBIDDEN)
    ]
    assert not broken, "a door must call a service instead:\n" + "\n".join(broken)


def test_pending_routers_still_break_the_rule() -> None:
    converted = [
        pending
        for pending in sorted(PENDING)
        if not (ROOT / pending).is_file() or not violations(ROOT / pending, DOOR_FORBIDDEN)
    ]
    assert not converted, (
        "gone, or importing neither app.engine nor app.db any more; take them off PENDING "
        f"in tests/test_layers.py: {converted}"
    )


def test_the_engine_is_pure() -> None:
    engine = sources("app/engine")
    assert engine, "no engine modules found"
    broken = [line for path in engine for line in violations(path, ENGINE_FORBIDDEN)]
    assert not broken, "app/engine must stay pure:\n" + "\n".join(broken)


def test_the_database_layer_knows_nothing_above_it() -> None:
    db = sources("app/db")
    assert db, "no database modules found"
    broken = [line for path in db for line in violations(path, DB_FORBIDDEN)]
    assert not broken, "app/db must not import the layers above it:\n" + "\n".join(broken)


@pytest.mark.parametrize(
    ("source", "module", "is_package", "forbidden"),
    [
        ("import app.db.tables", "app.routers.x", False, "app.db"),
        ("import app.engine as engine", "app.routers.x", False, "app.engine"),
        ("from app.db.database import UnitOfWork", "app.routers.x", False, "app.db"),
        ("from app import db", "app.routers.x", False, "app.db"),
        ("from app import engine, errors", "app.routers.x", False, "app.engine"),
        ("from ..db import tables", "app.routers.x", False, "app.db"),
        ("from .. import engine", "app.routers.x", False, "app.engine"),
        ("from ...engine.state import MutableState", "app.grpc.rpcs.x", False, "app.engine"),
        ("from ...engine import state", "app.grpc.rpcs", True, "app.engine"),
        ("def f():\n    from app.db import tables\n", "app.routers.x", False, "app.db"),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import app.db\n",
            "app.routers.x",
            False,
            "app.db",
        ),
    ],
)
def test_every_form_of_import_is_seen(
    source: str, module: str, is_package: bool, forbidden: str
) -> None:
    names = [name for _, name in imported(source, module, is_package)]
    assert any(within(name, DOOR_FORBIDDEN) == forbidden for name in names), names


@pytest.mark.parametrize(
    "source",
    [
        "from app import __version__",
        "import app.dbx",
        "from app.services import database",
        "from app.routers.docs import errors",
        "from . import docs",
        "from .engine_names import x",
    ],
)
def test_imports_that_are_not_the_engine_nor_the_database(source: str) -> None:
    names = [name for _, name in imported(source, "app.routers.x")]
    assert not any(within(name, DOOR_FORBIDDEN) for name in names), names
