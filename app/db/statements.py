"""Hot-path statements: built once, compiled once per dialect and parameter set, and run
on the session's own connection in the session's transaction.

On a SQLite file they run straight on the held sqlite3 connection the session is bound
to (Database's reads and writes, which ``use_connection`` marks). SQLAlchemy's
execution pipeline (a greenlet hop, the statement's cache key, an execution context, a
result object) cost 100-140 µs a statement on the bench's machine, against 3-6 µs for
sqlite3 itself, and the gateway runs several statements a request. Values still pass
through each column type's own bind and result processors, so what is stored and read
is what SQLAlchemy would store and read, and driver errors are wrapped as SQLAlchemy
wraps them (callers keep catching ``IntegrityError``). On PostgreSQL, and in sessions
not so marked (scans on aiosqlite's thread, an in-memory database), they run through
SQLAlchemy Core."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase

from app.db.inline_sqlite import InlineConnection

Params = Mapping[str, Any]
Row = tuple[Any, ...]
_Processor = Callable[[Any], Any] | None
_DRIVER = "statements.sqlite_connection"  # session.info key, set by use_connection


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # Per positional parameter: its name, the value it has when the caller gives none
    # (a literal in the statement) and its type's bind processor.
    binds: tuple[tuple[str, Any, _Processor], ...]
    # The result columns whose type processes what the driver returns, by position
    # (most columns are strings and integers, returned as they are).
    results: tuple[tuple[int, Callable[[Any], Any]], ...]

    def arguments(self, params: Params) -> list[Any]:
        values = []
        for name, fixed, process in self.binds:
            value = params.get(name, fixed)
            values.append(value if process is None else process(value))
        return values

    def row(self, values: Row) -> Row:
        if not self.results:
            return values
        processed = list(values)
        for position, process in self.results:
            processed[position] = process(processed[position])
        return tuple(processed)


class Statement:
    """A Core statement run on a session's connection. Inserts and updates compile for
    the keys of the parameters they are given, as SQLAlchemy does."""

    def __init__(self, clause: Select[Any] | UpdateBase) -> None:
        self.clause = clause
        self._compiled: dict[tuple[str, ...], _Compiled] = {}

    async def all(self, session: AsyncSession, params: Params) -> list[Row]:
        connection = _sqlite_connection(session)
        if connection is None:
            result = await (await session.connection()).execute(self.clause, dict(params))
            return [tuple(row) for row in result]
        compiled = self._compile(connection, params)
        cursor = _execute(connection, compiled, params)
        return [compiled.row(values) for values in cursor.fetchall()]

    async def first(self, session: AsyncSession, params: Params) -> Row | None:
        rows = await self.all(session, params)
        return rows[0] if rows else None

    async def scalar(self, session: AsyncSession, params: Params) -> Any:
        row = await self.first(session, params)
        return None if row is None else row[0]

    async def run(self, session: AsyncSession, params: Params) -> int:
        """Run a write; how many rows it changed."""
        connection = _sqlite_connection(session)
        if connection is None:
            result = await (await session.connection()).execute(self.clause, dict(params))
            changed: int = result.rowcount
            return changed
        return _execute(connection, self._compile(connection, params), params).rowcount

    async def run_many(self, session: AsyncSession, rows: Sequence[Params]) -> None:
        """Run a write once per parameter set (all with the same keys)."""
        if not rows:
            return
        connection = _sqlite_connection(session)
        if connection is None:
            await (await session.connection()).execute(self.clause, [dict(r) for r in rows])
            return
        compiled = self._compile(connection, rows[0])
        try:
            connection.raw.executemany(compiled.sql, [compiled.arguments(r) for r in rows])
        except sqlite3.Error as exc:
            raise _wrapped(compiled, rows[0], exc) from exc

    def _compile(self, connection: _SqliteConnection, params: Params) -> _Compiled:
        keys = tuple(params)
        compiled = self._compiled.get(keys)
        if compiled is None:
            compiled = self._compiled[keys] = _compile(self.clause, connection.dialect, keys)
        return compiled


@dataclass(frozen=True)
class _SqliteConnection:
    raw: sqlite3.Connection
    dialect: Dialect


def _sqlite_connection(session: AsyncSession) -> _SqliteConnection | None:
    """The sqlite3 connection the session is bound to, or None when statements must go
    through SQLAlchemy."""
    found: _SqliteConnection | None = session.info.get(_DRIVER)
    return found


def runs_straight(session: AsyncSession) -> bool:
    """Whether the session's statements run on its sqlite3 connection straight."""
    return _DRIVER in session.info


def use_connection(session: AsyncSession, connection: AsyncConnection) -> sqlite3.Connection:
    """Statements of ``session`` (bound to this inline SQLite connection) run on it; the
    sqlite3 connection."""
    raw = raw_connection(connection)
    session.info[_DRIVER] = _SqliteConnection(raw, connection.dialect)
    return raw


def raw_connection(connection: AsyncConnection) -> sqlite3.Connection:
    """The sqlite3 connection under an inline SQLite connection."""
    driver = connection.sync_connection.connection.driver_connection  # type: ignore[union-attr]
    assert isinstance(driver, InlineConnection)
    return driver.sqlite


def run_raw(connection: sqlite3.Connection, sql: str) -> None:
    """A statement without parameters (BEGIN, COMMIT), its errors wrapped as SQLAlchemy's."""
    try:
        connection.execute(sql)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, None, exc, sqlite3.Error) from exc


def _execute(connection: _SqliteConnection, compiled: _Compiled, params: Params) -> sqlite3.Cursor:
    try:
        return connection.raw.execute(compiled.sql, compiled.arguments(params))
    except sqlite3.Error as exc:
        raise _wrapped(compiled, params, exc) from exc


def _wrapped(compiled: _Compiled, params: Params, exc: sqlite3.Error) -> StatementError:
    return DBAPIError.instance(
        compiled.sql, dict(params), exc, sqlite3.Error, dialect=None, ismulti=False
    )


def _compile(
    clause: Select[Any] | UpdateBase, dialect: Dialect, keys: tuple[str, ...]
) -> _Compiled:
    compiler = clause.compile(dialect=dialect, column_keys=list(keys))
    assert isinstance(compiler, SQLCompiler)
    # Defaults computed in Python, or IN lists expanded per call, are not supported here:
    # hot-path statements are written to need neither.
    if compiler.insert_prefetch or compiler.update_prefetch or "POSTCOMPILE" in compiler.string:
        raise TypeError(f"statement needs SQLAlchemy's execution: {compiler.string}")
    binds = []
    for name in compiler.positiontup or ():
        bind = compiler.binds[name]
        fixed = None if name in keys else bind.effective_value
        binds.append((name, fixed, bind.type.dialect_impl(dialect).bind_processor(dialect)))
    columns = clause.selected_columns if isinstance(clause, Select) else ()
    processors = [
        column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
    ]
    results = tuple((n, process) for n, process in enumerate(processors) if process is not None)
    return _Compiled(compiler.string, tuple(binds), results)
