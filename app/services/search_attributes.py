"""Search attributes: the system ones every run has, custom ones registered per namespace
with a type, type-checking of values, and the typed rows list queries filter on.
Attributes that were never registered are stored and returned but not queryable."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.database import UnitOfWork
from app.db.statements import Statement
from app.db.tables import NamespaceRow, SearchAttributeValueRow, table_of
from app.engine.search_attributes import (
    PREDEFINED,
    RESERVED,
    SYSTEM,
    TYPES,
    check,
    effective_types,
    typed,
)
from app.errors import ApiError, ErrorCode, bad_request
from app.payloads import decode_payload
from app.services import namespaces
from app.services.dependencies import Namespaced

MAX_CUSTOM = 100


def type_name(value: str) -> str:
    """Accept Temporal's spellings: Keyword, KEYWORD, INDEXED_VALUE_TYPE_KEYWORD."""
    name = value.strip().upper().removeprefix("INDEXED_VALUE_TYPE_").replace("_", "")
    for known in TYPES:
        if known.upper() == name:
            return known
    raise bad_request(
        "search_attributes",
        f"unknown search attribute type {value!r}; expected one of {', '.join(TYPES)}",
    )


def add(ns: NamespaceRow, attributes: dict[str, str]) -> None:
    types = dict(ns.search_attribute_types)
    for name, kind in attributes.items():
        if not name or len(name) > 255 or not name.replace("_", "").isalnum():
            raise bad_request("search_attributes", f"invalid search attribute name {name!r}")
        if name in SYSTEM or name in PREDEFINED:
            raise bad_request("search_attributes", f"{name!r} is a system search attribute")
        if name in RESERVED or name.startswith("Temporal"):
            raise bad_request("search_attributes", f"{name!r} is a reserved name")
        wanted = type_name(kind)
        if name in types and types[name] != wanted:
            raise ApiError(
                ErrorCode.ALREADY_EXISTS,
                f"Search attribute {name!r} already exists as {types[name]}.",
                [{"type": "SearchAttributeAlreadyExists", "name": name}],
            )
        types[name] = wanted
    if len(types) > MAX_CUSTOM:
        raise bad_request("search_attributes", f"at most {MAX_CUSTOM} custom search attributes")
    ns.search_attribute_types = types


def remove(ns: NamespaceRow, names: list[str], missing_ok: bool = False) -> None:
    types = dict(ns.search_attribute_types)
    for name in names:
        if name not in types:
            if missing_ok:
                continue
            raise ApiError(
                ErrorCode.NOT_FOUND,
                f"Search attribute {name!r} is not registered.",
                [{"type": "NotFound", "resource": "search_attribute", "name": name}],
            )
        del types[name]
    ns.search_attribute_types = types


def check_or_raise(types: dict[str, str], fields: dict[str, Any] | None) -> None:
    problem = check(types, (fields or {}).get("indexed_fields", {}), "search_attributes")
    if problem:
        raise bad_request(problem.split(":", 1)[0], problem)


_VALUES = table_of(SearchAttributeValueRow)
# A row holds its value in the column of its type; the others are null.
_VALUE_COLUMNS = tuple(c.key for c in _VALUES.c if c.key.endswith("_value"))
# Built once and run on the writer's connection: through the ORM (a get, a delete and an
# add per value) every start with search attributes also paid a savepoint of its own.
_RUN_KEY = (
    (_VALUES.c.namespace_id == bindparam("namespace_id"))
    & (_VALUES.c.workflow_id == bindparam("workflow_id"))
    & (_VALUES.c.run_id == bindparam("run_id"))
)
_DELETE_VALUES = Statement(delete(_VALUES).where(_RUN_KEY))
_INSERT_VALUE = Statement(insert(_VALUES))


async def index(
    session: AsyncSession,
    namespace_id: str,
    workflow_id: str,
    run_id: str,
    search_attributes: dict[str, Any],
) -> None:
    """Rewrite the run's typed value rows from its search attributes."""
    types = effective_types(await namespaces.search_attribute_types_of(session, namespace_id))
    run = {"namespace_id": namespace_id, "workflow_id": workflow_id, "run_id": run_id}
    await _DELETE_VALUES.run(session, run)
    rows = []
    for name, payload in search_attributes.get("indexed_fields", {}).items():
        kind = types.get(name)
        if kind is None:
            continue
        for column, value in typed(kind, decode_payload(payload)) or []:
            values = dict.fromkeys(_VALUE_COLUMNS)
            values[column] = value
            rows.append({**run, "name": name, "value_type": kind, **values})
    await _INSERT_VALUE.run_many(session, rows)


# The operations both doors call (REST routes, gRPC RPCs), each in its own transaction.


async def list_registered(ctx: Namespaced, namespace: str) -> dict[str, dict[str, str]]:
    """The namespace's custom search attributes and the system ones, name -> type."""
    ns = await ctx.namespaces.get(ctx.db, namespace)
    return {
        "custom_attributes": dict(ns.search_attribute_types),
        "system_attributes": {**SYSTEM, **PREDEFINED},  # Temporal lists both as system's
    }


async def register(ctx: Namespaced, namespace: str, attributes: dict[str, str]) -> None:
    async def work(uow: UnitOfWork) -> None:
        ns = await namespaces.get_by_name(uow.session, namespace)
        add(ns, attributes)
        uow.session.add(ns)

    await ctx.db.run(work)
    ctx.namespaces.changed()


async def unregister(
    ctx: Namespaced, namespace: str, names: list[str], missing_ok: bool = False
) -> None:
    """Values already stored stay in the runs. A name not registered is NOT_FOUND (the
    REST API's contract), or skipped with ``missing_ok`` (Temporal's OperatorService)."""

    async def work(uow: UnitOfWork) -> None:
        ns = await namespaces.get_by_name(uow.session, namespace)
        remove(ns, names, missing_ok)
        uow.session.add(ns)

    await ctx.db.run(work)
    ctx.namespaces.changed()
