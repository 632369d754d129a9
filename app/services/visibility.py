"""ListWorkflowExecutions, ScanWorkflowExecutions and CountWorkflowExecutions over the
executions table, filtered by the compiled list query (bound parameters only)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, func
from sqlmodel import col, select

from app.db.tables import RUN_COLUMNS, ExecutionRow, NamespaceRow, RunRecord
from app.engine.search_attributes import effective_types
from app.errors import bad_request
from app.payloads import render
from app.services.dependencies import HasClock, HasDb, HasNamespaces, HasSigner, Namespaced
from app.services.descriptions import Present, execution_info
from app.visibility.compile import compile_query, execution_status_name

MAX_PAGE_SIZE = 1000
LIST_TOKEN = "list"


class Paging(HasDb, HasClock, HasSigner, Protocol):
    """A page of a list or scan: its snapshot time and position under a signed token."""


class Listing(HasDb, HasClock, HasNamespaces, HasSigner, Protocol):
    """List or Scan by namespace name."""


def _page_size(requested: int) -> int:
    if requested < 0:
        raise bad_request("page_size", "page_size cannot be negative")
    return min(requested or MAX_PAGE_SIZE, MAX_PAGE_SIZE)


def _fingerprint(ns: NamespaceRow, query: str, scan: bool) -> str:
    text = f"{ns.id}\n{scan}\n{query}".encode()
    return hashlib.sha256(text).hexdigest()[:24]


async def list_workflows(
    ctx: Listing,
    namespace: str,
    query: str,
    page_size: int,
    next_page_token: str,
    *,
    scan: bool = False,
    present: Present = render,
) -> tuple[list[dict[str, Any]], str]:
    """List (or, with ``scan``, Scan) as both doors call it."""
    ns = await ctx.namespaces.get(ctx.db, namespace)
    return await list_executions(
        ctx, ns, query, page_size, next_page_token, scan=scan, present=present
    )


async def count_workflows(ctx: Namespaced, namespace: str, query: str) -> dict[str, Any]:
    ns = await ctx.namespaces.get(ctx.db, namespace)
    return await count_executions(ctx, ns, query)


async def list_executions(
    ctx: Paging,
    ns: NamespaceRow,
    query: str,
    page_size: int,
    next_page_token: str,
    *,
    scan: bool = False,
    present: Present = render,
) -> tuple[list[dict[str, Any]], str]:
    """One page. Pages are positions in a fixed order over the runs that had started when
    the first page was read, so runs started meanwhile neither shift nor repeat them."""
    size = _page_size(page_size)
    compiled = compile_query(query, effective_types(ns.search_attribute_types), ns.id)
    if compiled.group_by:
        raise bad_request("query", "GROUP BY is only supported by CountWorkflowExecutions")
    fingerprint = _fingerprint(ns, query, scan)
    offset, as_of = 0, ctx.clock.now()
    if next_page_token:
        position = ctx.signer.decode(LIST_TOKEN, next_page_token)
        if position.get("q") != fingerprint:
            raise bad_request("next_page_token", "next_page_token belongs to another query")
        offset, as_of = int(position["offset"]), datetime.fromisoformat(position["as_of"])
    snapshot: ColumnElement[bool] = col(ExecutionRow.start_time) <= as_of
    if ctx.db.is_sqlite:
        # Nearly every run passes this bound; saying so keeps SQLite's planner from
        # walking the start-time index for it instead of the query's own filters.
        snapshot = func.likely(snapshot)
    statement = select(*RUN_COLUMNS).where(col(ExecutionRow.namespace_id) == ns.id, snapshot)
    if compiled.where is not None:
        statement = statement.where(compiled.where)
    order: list[Any]
    if scan:
        order = [col(ExecutionRow.workflow_id), col(ExecutionRow.run_id)]
    else:
        order = [*compiled.order_by] or [col(ExecutionRow.start_time).desc()]
        order.append(col(ExecutionRow.run_id).desc())
    statement = statement.order_by(*order).offset(offset).limit(size + 1)
    async with ctx.db.read(scan=not compiled.one_workflow) as session:
        rows = [RunRecord(*row) for row in await session.execute(statement)]
    token = ""
    if len(rows) > size:
        rows = rows[:size]
        token = ctx.signer.encode(
            LIST_TOKEN, {"q": fingerprint, "offset": offset + size, "as_of": as_of.isoformat()}
        )
    return [execution_info(row, present) for row in rows], token


async def count_executions(ctx: HasDb, ns: NamespaceRow, query: str) -> dict[str, Any]:
    compiled = compile_query(query, effective_types(ns.search_attribute_types), ns.id)
    condition = [col(ExecutionRow.namespace_id) == ns.id]
    if compiled.where is not None:
        condition.append(compiled.where)
    async with ctx.db.read(scan=not compiled.one_workflow) as session:
        if compiled.group_by:
            statement = (
                select(col(ExecutionRow.status), func.count())
                .where(*condition)
                .group_by(col(ExecutionRow.status))
            )
            groups = [(status, int(n)) for status, n in (await session.execute(statement)).all()]
            return {
                "count": sum(n for _, n in groups),
                "groups": [
                    {"group_values": [execution_status_name(s)], "count": n}
                    for s, n in sorted(groups)
                ],
            }
        total = select(func.count()).select_from(ExecutionRow).where(*condition)
        return {"count": int((await session.execute(total)).scalar_one())}
