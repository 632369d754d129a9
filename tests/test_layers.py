"""The layers of docs/architecture.md, checked on the source: a door (app/routers, and
app/grpc when it exists) parses, authorises, calls one service function and shapes the
reply, so it imports neither app.engine nor app.db; a service takes what it reads (plain
values, or the protocols of app/services/dependencies.py) and imports nothing above it:
not the app context, the doors, their admission or the app; the engine is pure (no
services, routers, doors, database or app context); the database layer knows nothing
above it. The app context (app/context.py) is the composition root, above the services:
it builds what they are given, so it imports them.

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
SERVICE_FORBIDDEN = (
    "app.context",
    "app.routers",
    "app.grpc",
    "app.permissions",
    "app.main",
    "app.server",
    "app.cli",
)

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


def test_services_import_nothing_above_them() -> None:
    services = sources("app/services")
    assert services, "no service modules found"
    broken = [line for path in services for line in violations(path, SERVICE_FORBIDDEN)]
    assert not broken, (
        "a service takes what it reads (plain values, or a Protocol of "
        "app/services/dependencies.py that AppContext satisfies), never the layers above "
        "it:\n" + "\n".join(broken)
    )


def test_the_composition_root_is_above_the_services() -> None:
    """app/context.py builds what the services are given (AppContext satisfies their
    protocols), so it imports them: it is in none of the layers checked here, and a
    service importing it is the direction refused."""
    root = APP / "context.py"
    checked = [*door_files(), *sources("app/engine"), *sources("app/db"), *sources("app/services")]
    assert root not in checked
    names = [name for _, name in imported(root.read_text(), module_name(root))]
    assert any(within(name, ("app.services",)) for name in names), names


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
    ("source", "module", "forbidden"),
    [
        ("from app.context import AppContext", "app.services.x", "app.context"),
        ("from app import context", "app.services.x", "app.context"),
        ("from .. import context", "app.services.x", "app.context"),
        ("from ..context import AppContext", "app.services.x", "app.context"),
        ("import app.permissions", "app.services.x", "app.permissions"),
        ("from app.grpc.errors import to_status", "app.services.x", "app.grpc"),
        ("from ..routers import workflows", "app.services.x", "app.routers"),
        ("from app import main", "app.services.x", "app.main"),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app.context import X\n",
            "app.services.x",
            "app.context",
        ),
    ],
)
def test_every_form_of_import_above_a_service_is_seen(
    source: str, module: str, forbidden: str
) -> None:
    names = [name for _, name in imported(source, module)]
    assert any(within(name, SERVICE_FORBIDDEN) == forbidden for name in names), names


@pytest.mark.parametrize(
    "source",
    [
        "from app.services.dependencies import HasDb",
        "from . import dependencies",
        "from app.clock import Clock",
        "import app.contextual",
        "from app.settings import Settings",
    ],
)
def test_imports_a_service_may_make(source: str) -> None:
    names = [name for _, name in imported(source, "app.services.x")]
    assert not any(within(name, SERVICE_FORBIDDEN) for name in names), names


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
