"""List filter -> SQLAlchemy expressions over ``executions``.

``compile_query(text, custom_types)`` parses the filter (``app.visibility.grammar``),
resolves each attribute to an executions column (system attributes) or to a correlated
subquery on ``search_attribute_values`` (custom attributes registered in the namespace),
checks the operator against the attribute's type, converts each value by that type and
binds it as a parameter. Values never become SQL text.

The caller adds ``ExecutionRow.namespace_id == ...``, the default order and paging.

Semantics, the same on SQLite and PostgreSQL:

* An attribute without a value (NULL column, no value row, or "" in the parent/root
  columns) satisfies no comparison, not even ``!=`` or ``NOT IN``; only ``IS NULL``.
  ``NOT`` is pushed down to the conditions (``NOT a = 1`` is ``a != 1``), so it keeps
  that rule too: it is SQL's three-valued logic, for custom attributes as for columns.
* KeywordList: ``=`` means "contains", ``IN`` "contains any of", ``!=``/``NOT IN`` the
  list exists and contains none of them.
* Text: ``=``/``!=`` are exact (whole-value) comparisons, not Temporal's full-text match.
* ``STARTS_WITH`` and ``CONTAINS`` are case-sensitive (SQL ``substr`` and
  ``instr``/``strpos``; no LIKE, so ``%`` and ``_`` are ordinary characters).
* Keyword ranges (<, BETWEEN) and ORDER BY on Keywords compare code points (bytes):
  ``COLLATE "C"`` on PostgreSQL, SQLite's default BINARY collation.
* ORDER BY puts missing values last ascending and first descending (PostgreSQL's
  default, made explicit for SQLite), e.g. ``CloseTime DESC`` lists running runs first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from typing import cast as cast_type

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    cast,
    exists,
    func,
    not_,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col

from app.db.tables import ExecutionRow, SearchAttributeValueRow
from app.visibility.grammar import (
    And,
    Between,
    Comparison,
    Contains,
    Expr,
    InList,
    Name,
    Not,
    Or,
    OrderItem,
    Predicate,
    QueryError,
    StartsWith,
    Value,
    parse,
)

__all__ = [
    "CUSTOM_TYPES",
    "EXECUTION_STATUS_NAMES",
    "SYSTEM_ATTRIBUTES",
    "CompiledQuery",
    "QueryError",
    "compile_query",
    "execution_status_name",
]


@dataclass(frozen=True)
class CompiledQuery:
    where: ColumnElement[bool] | None
    order_by: list[ColumnElement[Any]]
    group_by: str | None  # "ExecutionStatus" (group by ExecutionRow.status) or None
    # The filter requires one workflow id (WorkflowId = '…' among its top-level AND
    # terms): the primary key bounds the read to that id's runs, so it is no scan.
    one_workflow: bool = False


# --- Types and attributes ----------------------------------------------------------------

CUSTOM_TYPES = ("Keyword", "Text", "Int", "Double", "Bool", "Datetime", "KeywordList")

# Stored status -> the name queries use and Count groups report.
EXECUTION_STATUS_NAMES = {
    "RUNNING": "Running",
    "COMPLETED": "Completed",
    "FAILED": "Failed",
    "CANCELED": "Canceled",
    "TERMINATED": "Terminated",
    "CONTINUED_AS_NEW": "ContinuedAsNew",
    "TIMED_OUT": "TimedOut",
}
_STATUS_BY_NUMBER = dict(enumerate(EXECUTION_STATUS_NAMES, start=1))  # Temporal's enum
_STATUS_BY_SPELLING = {stored.replace("_", ""): stored for stored in EXECUTION_STATUS_NAMES}


def execution_status_name(stored: str) -> str:
    """'CONTINUED_AS_NEW' -> 'ContinuedAsNew' (unknown values are returned unchanged)."""
    return EXECUTION_STATUS_NAMES.get(stored, stored)


# How a system attribute's values are read: the search attribute type, refined for the
# attributes whose values need their own parsing or whose column needs care.
_STATUS = "ExecutionStatus"  # Keyword, values are status names
_DURATION = "Duration"  # Int (nanoseconds) in Temporal; stored as float seconds here
_OPTIONAL_KEYWORD = "OptionalKeyword"  # Keyword column holding "" when absent


@dataclass(frozen=True)
class _System:
    column: Any  # an InstrumentedAttribute of ExecutionRow
    kind: str  # Keyword, Int, Datetime, or one of the refinements above
    type_name: str  # the search attribute type reported to users


SYSTEM_ATTRIBUTES: dict[str, _System] = {
    "WorkflowId": _System(ExecutionRow.workflow_id, "Keyword", "Keyword"),
    "RunId": _System(ExecutionRow.run_id, "Keyword", "Keyword"),
    "WorkflowType": _System(ExecutionRow.workflow_type, "Keyword", "Keyword"),
    "ExecutionStatus": _System(ExecutionRow.status, _STATUS, "Keyword"),
    "StartTime": _System(ExecutionRow.start_time, "Datetime", "Datetime"),
    "CloseTime": _System(ExecutionRow.close_time, "Datetime", "Datetime"),
    "ExecutionTime": _System(ExecutionRow.execution_time, "Datetime", "Datetime"),
    "ExecutionDuration": _System(ExecutionRow.execution_duration_seconds, _DURATION, "Int"),
    "HistoryLength": _System(ExecutionRow.history_length, "Int", "Int"),
    "TaskQueue": _System(ExecutionRow.task_queue, "Keyword", "Keyword"),
    "ParentWorkflowId": _System(ExecutionRow.parent_workflow_id, _OPTIONAL_KEYWORD, "Keyword"),
    "ParentRunId": _System(ExecutionRow.parent_run_id, _OPTIONAL_KEYWORD, "Keyword"),
    "RootWorkflowId": _System(ExecutionRow.root_workflow_id, _OPTIONAL_KEYWORD, "Keyword"),
    "RootRunId": _System(ExecutionRow.root_run_id, _OPTIONAL_KEYWORD, "Keyword"),
    "FirstRunId": _System(ExecutionRow.first_execution_run_id, "Keyword", "Keyword"),
    # Every write of a run is one state transition, counted by its db_version.
    "StateTransitionCount": _System(ExecutionRow.db_version, "Int", "Int"),
    "HistorySizeBytes": _System(ExecutionRow.history_size_bytes, "Int", "Int"),
}

_NULLABLE_SYSTEM = {"CloseTime", "ExecutionDuration"}

# Operator families as written; "!=" "NOT IN" etc. are the same family, negated.
_COMPARE = {"=", "!=", "<", "<=", ">", ">="}
_ORDERED = _COMPARE | {"IN", "BETWEEN", "IS NULL"}
_ALLOWED: dict[str, frozenset[str]] = {
    "Keyword": frozenset(_ORDERED | {"STARTS_WITH", "CONTAINS"}),
    _OPTIONAL_KEYWORD: frozenset(_ORDERED | {"STARTS_WITH", "CONTAINS"}),
    "Text": frozenset({"=", "!=", "CONTAINS", "IS NULL"}),
    "KeywordList": frozenset({"=", "!=", "IN", "IS NULL"}),
    "Int": frozenset(_ORDERED),
    "Double": frozenset(_ORDERED),
    "Datetime": frozenset(_ORDERED),
    _DURATION: frozenset(_ORDERED),
    "Bool": frozenset({"=", "!=", "IS NULL"}),
    _STATUS: frozenset({"=", "!=", "IN", "IS NULL"}),
}
_VALUE_COLUMN = {
    "Keyword": SearchAttributeValueRow.keyword_value,
    "KeywordList": SearchAttributeValueRow.keyword_value,
    "Text": SearchAttributeValueRow.text_value,
    "Int": SearchAttributeValueRow.int_value,
    "Double": SearchAttributeValueRow.double_value,
    "Bool": SearchAttributeValueRow.bool_value,
    "Datetime": SearchAttributeValueRow.datetime_value,
}


def _custom_type(value: str) -> str | None:
    """Accept Temporal's spellings: Keyword, KEYWORD, INDEXED_VALUE_TYPE_KEYWORD_LIST."""
    wanted = value.strip().upper().removeprefix("INDEXED_VALUE_TYPE_").replace("_", "")
    return next((known for known in CUSTOM_TYPES if known.upper() == wanted), None)


@dataclass(frozen=True)
class _Attribute:
    name: str
    kind: str
    type_name: str
    system: _System | None

    def describe(self) -> str:
        return f"{self.name!r} (type {self.type_name})"


# --- Dialect-specific SQL ----------------------------------------------------------------


class _Bytewise(FunctionElement[str]):
    """A string compared and sorted by code point: ``x COLLATE "C"`` on PostgreSQL (whose
    database collation may be a locale), plain ``x`` on SQLite (BINARY already)."""

    type = String()
    inherit_cache = True


@compiles(_Bytewise)
def _bytewise_default(element: _Bytewise, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(_Bytewise, "postgresql")
def _bytewise_postgresql(element: _Bytewise, compiler: SQLCompiler, **kw: Any) -> str:
    return f'{compiler.process(element.clauses, **kw)} COLLATE "C"'


class _Position(FunctionElement[int]):
    """1-based position of a substring, 0 if absent: ``instr`` (SQLite) / ``strpos``."""

    type = Integer()
    inherit_cache = True


@compiles(_Position)
def _position_default(element: _Position, compiler: SQLCompiler, **kw: Any) -> str:
    return f"instr({compiler.process(element.clauses, **kw)})"


@compiles(_Position, "postgresql")
def _position_postgresql(element: _Position, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strpos({compiler.process(element.clauses, **kw)})"


# --- Entry point -------------------------------------------------------------------------


def compile_query(
    text: str, custom_types: dict[str, str], namespace_id: str | None = None
) -> CompiledQuery:
    """Compile a list filter. ``custom_types`` maps the namespace's custom search
    attributes to their types. Raises :class:`QueryError` (INVALID_ARGUMENT) on any
    syntax error, unknown attribute, unsupported operator or ill-typed value."""
    query = parse(text)
    compiler = _Compiler(custom_types, namespace_id)
    where = compiler.expr(query.where, False) if query.where is not None else None
    order_by = [compiler.order_item(item) for item in query.order_by]
    group_by: str | None = None
    if query.group_by is not None:
        attribute = compiler.attribute(query.group_by)
        if attribute.name != "ExecutionStatus":
            raise _invalid(
                f"GROUP BY is supported only on 'ExecutionStatus', not {attribute.name!r}",
                query.group_by.position,
            )
        group_by = attribute.name
    return CompiledQuery(where, order_by, group_by, _requires_one_workflow(query.where))


def _requires_one_workflow(where: Expr | None) -> bool:
    terms = where.operands if isinstance(where, And) else (where,)
    return any(
        isinstance(term, Comparison) and term.op == "=" and term.attribute.name == "WorkflowId"
        for term in terms
    )


def _invalid(detail: str, position: int) -> QueryError:
    return QueryError(f"invalid query at position {position}: {detail}", position)


# --- Compiler ----------------------------------------------------------------------------

# NOT pushed through a comparison: NOT (a < 1) is a >= 1 (both unknown when a is NULL).
_NEGATED_COMPARISON = {"=": "!=", "!=": "=", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}


class _Compiler:
    def __init__(self, custom_types: dict[str, str], namespace_id: str | None) -> None:
        self.custom_types = custom_types
        self.namespace_id = namespace_id

    def attribute(self, name: Name) -> _Attribute:
        system = SYSTEM_ATTRIBUTES.get(name.name)
        if system is not None:
            return _Attribute(name.name, system.kind, system.type_name, system)
        declared = self.custom_types.get(name.name)
        if declared is None:
            raise _invalid(f"unknown search attribute {name.name!r}", name.position)
        kind = _custom_type(declared)
        if kind is None:
            raise _invalid(
                f"search attribute {name.name!r} has an unsupported type {declared!r}",
                name.position,
            )
        return _Attribute(name.name, kind, kind, None)

    # where

    def expr(self, node: Expr, negate: bool) -> ColumnElement[bool]:
        if isinstance(node, Not):
            return self.expr(node.operand, not negate)
        if isinstance(node, And | Or):
            parts = [self.expr(operand, negate) for operand in node.operands]
            # De Morgan: under NOT, AND becomes OR and OR becomes AND.
            return and_(*parts) if isinstance(node, And) != negate else or_(*parts)
        return self.predicate(node, negate)

    def predicate(self, node: Predicate, negate: bool) -> ColumnElement[bool]:
        attribute = self.attribute(node.attribute)
        family, negated = _family(node)
        if family not in _ALLOWED[attribute.kind]:
            raise _invalid(
                f"operator {_written(node)} is not supported on {attribute.describe()}",
                node.position,
            )
        values = [_convert(attribute, value) for value in _values(node)]
        if family in _COMPARE:
            if negate:
                family = _NEGATED_COMPARISON[family]
        elif negate:
            negated = not negated
        if family == "!=":
            family, negated = "=", True
        if attribute.system is not None:
            return _column_condition(_system_expr(attribute), attribute, family, negated, values)
        return self.custom_condition(attribute, family, negated, values)

    def custom_condition(
        self, attribute: _Attribute, family: str, negated: bool, values: list[Any]
    ) -> ColumnElement[bool]:
        value = _custom_value(attribute)

        def has(condition: ColumnElement[bool]) -> ColumnElement[bool]:
            if self.namespace_id is not None:
                return _matching_runs(self.namespace_id, attribute.name, condition)
            return _exists(attribute.name, condition)

        if family == "IS NULL":
            present = has(value.is_not(None))
            return present if negated else not_(present)
        if attribute.kind == "KeywordList" and negated:
            # The list exists and none of its elements matches.
            match = _column_condition(value, attribute, family, False, values)
            return and_(has(value.is_not(None)), not_(has(match)))
        return has(_column_condition(value, attribute, family, negated, values))

    # order by

    def order_item(self, item: OrderItem) -> ColumnElement[Any]:
        attribute = self.attribute(item.attribute)
        if attribute.kind in ("Text", "KeywordList"):
            raise _invalid(f"cannot ORDER BY {attribute.describe()}", item.attribute.position)
        key: ColumnElement[Any]
        if attribute.system is not None:
            key = _system_expr(attribute)
            if attribute.kind in ("Keyword", _OPTIONAL_KEYWORD, _STATUS):
                key = _Bytewise(key)
        else:
            value: ColumnElement[Any] = _custom_value(attribute)
            if attribute.kind == "Keyword":
                value = _Bytewise(value)
            elif attribute.kind == "Bool":
                value = cast(value, Integer)
            key = (
                select(func.min(value))
                .where(*_correlation(attribute.name))
                .correlate(ExecutionRow)
                .scalar_subquery()
            )
        nullable = attribute.system is None or attribute.name in _NULLABLE_SYSTEM
        nullable = nullable or attribute.kind == _OPTIONAL_KEYWORD
        if item.descending:
            return key.desc().nulls_first() if nullable else key.desc()
        return key.asc().nulls_last() if nullable else key.asc()


def _system_expr(attribute: _Attribute) -> ColumnElement[Any]:
    assert attribute.system is not None
    column = _column(attribute.system.column)
    if attribute.kind == _OPTIONAL_KEYWORD:
        return func.nullif(column, "", type_=String())
    return column


def _custom_value(attribute: _Attribute) -> ColumnElement[Any]:
    return _column(_VALUE_COLUMN[attribute.kind])


def _column(attribute: Any) -> ColumnElement[Any]:
    """A model attribute (typed as its Python value by SQLModel) as the column it is."""
    column: Any = col(attribute)
    return cast_type(ColumnElement[Any], column)


def _correlation(name: str) -> list[ColumnElement[bool]]:
    row = SearchAttributeValueRow
    return [
        col(row.namespace_id) == col(ExecutionRow.namespace_id),
        col(row.workflow_id) == col(ExecutionRow.workflow_id),
        col(row.run_id) == col(ExecutionRow.run_id),
        col(row.name) == name,
    ]


def _matching_runs(
    namespace_id: str, name: str, condition: ColumnElement[bool]
) -> ColumnElement[bool]:
    """The runs with a matching value, as an uncorrelated row-value IN: both databases
    then start from the typed value index instead of probing it once per run (SQLite
    never turns a correlated EXISTS into a semi-join)."""
    row = SearchAttributeValueRow
    runs = select(col(row.namespace_id), col(row.workflow_id), col(row.run_id)).where(
        col(row.namespace_id) == namespace_id, col(row.name) == name, condition
    )
    keys = tuple_(
        col(ExecutionRow.namespace_id), col(ExecutionRow.workflow_id), col(ExecutionRow.run_id)
    )
    return keys.in_(runs)


def _exists(name: str, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(*_correlation(name), condition).correlate(ExecutionRow)


def _column_condition(
    expr: ColumnElement[Any],
    attribute: _Attribute,
    family: str,
    negated: bool,
    values: list[Any],
) -> ColumnElement[bool]:
    """``expr <family> values`` (negated: its SQL negation, unknown stays unknown)."""
    keyword = attribute.kind in ("Keyword", _OPTIONAL_KEYWORD, _STATUS)
    if family == "IS NULL":
        return expr.is_(None) if not negated else expr.is_not(None)
    if family == "=":
        equal: ColumnElement[bool] = expr != values[0] if negated else expr == values[0]
        return equal
    if family == "IN":
        return expr.not_in(values) if negated else expr.in_(values)
    if family == "STARTS_WITH":
        prefix: str = values[0]
        head = func.substr(expr, 1, len(prefix), type_=String())
        return head != prefix if negated else head == prefix
    if family == "CONTAINS":
        found = _Position(expr, values[0])
        return found == 0 if negated else found > 0
    ordered = _Bytewise(expr) if keyword else expr
    if family == "BETWEEN":
        between = ordered.between(values[0], values[1])
        return not_(between) if negated else between
    comparisons: dict[str, Callable[[ColumnElement[Any], Any], ColumnElement[bool]]] = {
        "<": lambda left, right: left < right,
        "<=": lambda left, right: left <= right,
        ">": lambda left, right: left > right,
        ">=": lambda left, right: left >= right,
    }
    return comparisons[family](ordered, values[0])


def _family(node: Predicate) -> tuple[str, bool]:
    """The operator family of a predicate and whether it is negated as written."""
    if isinstance(node, Comparison):
        return node.op, False
    if isinstance(node, InList):
        return "IN", node.negated
    if isinstance(node, Between):
        return "BETWEEN", node.negated
    if isinstance(node, StartsWith):
        return "STARTS_WITH", node.negated
    if isinstance(node, Contains):
        return "CONTAINS", node.negated
    return "IS NULL", node.negated


def _written(node: Predicate) -> str:
    family, negated = _family(node)
    if family == "IS NULL":
        return "IS NOT NULL" if negated else "IS NULL"
    return f"NOT {family}" if negated else family


def _values(node: Predicate) -> Sequence[Value]:
    if isinstance(node, Comparison):
        return (node.value,)
    if isinstance(node, InList):
        return node.values
    if isinstance(node, Between):
        return (node.low, node.high)
    if isinstance(node, StartsWith):
        return (node.prefix,)
    if isinstance(node, Contains):
        return (node.substring,)
    return ()


# --- Values ------------------------------------------------------------------------------

_INT64 = (-(2**63), 2**63 - 1)
_INTEGER_TEXT = re.compile(r"\s*[+-]?[0-9]+\s*")
_DECIMAL_TEXT = re.compile(r"\s*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _convert(attribute: _Attribute, value: Value) -> Any:
    converters: dict[str, Callable[[Value], Any]] = {
        "Keyword": _to_string,
        _OPTIONAL_KEYWORD: _to_string,
        "KeywordList": _to_string,
        "Text": _to_string,
        "Int": _to_int,
        "Double": _to_double,
        "Bool": _to_bool,
        "Datetime": _to_datetime,
        _STATUS: _to_status,
        _DURATION: _to_duration_seconds,
    }
    try:
        return converters[attribute.kind](value)
    except _BadValue as problem:
        raise _invalid(
            f"invalid value {value} for {attribute.describe()}: {problem}", value.position
        ) from None


class _BadValue(Exception):
    """What a value should have been; turned into a QueryError naming the attribute."""


def _to_string(value: Value) -> str:
    if not isinstance(value.value, str):
        raise _BadValue("expected a quoted string")
    return value.value


def _to_int(value: Value) -> int:
    raw = value.value
    if isinstance(raw, str) and _INTEGER_TEXT.fullmatch(raw):
        raw = int(raw.strip())
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise _BadValue("expected an integer")
    if not _INT64[0] <= raw <= _INT64[1]:
        raise _BadValue("out of the 64-bit integer range")
    return raw


def _to_double(value: Value) -> float:
    raw = value.value
    if isinstance(raw, str) and _DECIMAL_TEXT.fullmatch(raw):
        raw = float(raw.strip())
    if not isinstance(raw, int | float) or isinstance(raw, bool):
        raise _BadValue("expected a number")
    try:
        number = float(raw)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise _BadValue("out of range")
    return number


def _to_bool(value: Value) -> bool:
    raw = value.value
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    if not isinstance(raw, bool):
        raise _BadValue("expected true or false")
    return raw


def _to_datetime(value: Value) -> datetime:
    """RFC 3339 (a string without an offset is taken as UTC) or int64 Unix nanoseconds;
    kept to the microsecond."""
    raw = value.value
    try:
        if isinstance(raw, int) and not isinstance(raw, bool):
            if not _INT64[0] <= raw <= _INT64[1]:
                raise _BadValue("out of the 64-bit nanosecond range")
            return _EPOCH + timedelta(microseconds=raw // 1000)
        if isinstance(raw, str) and raw.strip():
            moment = datetime.fromisoformat(raw.strip())
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        pass
    raise _BadValue("expected an RFC 3339 timestamp such as '2024-01-31T12:00:00Z'")


def _to_status(value: Value) -> str:
    raw = value.value
    if isinstance(raw, int) and not isinstance(raw, bool) and raw in _STATUS_BY_NUMBER:
        return _STATUS_BY_NUMBER[raw]
    if isinstance(raw, str):
        spelled = raw.strip().upper().removeprefix("WORKFLOW_EXECUTION_STATUS_")
        stored = _STATUS_BY_SPELLING.get(spelled.replace("_", ""))
        if stored is not None:
            return stored
    raise _BadValue("expected one of " + ", ".join(EXECUTION_STATUS_NAMES.values()))


_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h|d)")
_CLOCK = re.compile(r"([0-9]+):([0-5][0-9]):([0-5][0-9](?:\.[0-9]+)?)")


def _to_duration_seconds(value: Value) -> float:
    """Integer nanoseconds (bare or quoted), a Go duration ('90s', '1h30m', '1.5h',
    also 'd' for days) or 'hh:mm:ss', as seconds."""
    raw = value.value
    if isinstance(raw, str) and _INTEGER_TEXT.fullmatch(raw):
        raw = int(raw.strip())
    if isinstance(raw, int) and not isinstance(raw, bool):
        if not _INT64[0] <= raw <= _INT64[1]:
            raise _BadValue("out of the 64-bit nanosecond range")
        return raw / 1e9
    if isinstance(raw, str):
        text = raw.strip()
        clock = _CLOCK.fullmatch(text)
        if clock:
            hours, minutes, seconds = clock.groups()
            return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        sign = -1.0 if text.startswith("-") else 1.0
        body = text[1:] if text.startswith(("+", "-")) else text
        if body == "0":
            return 0.0
        parts = list(_DURATION_PART.finditer(body))
        if parts and "".join(p.group() for p in parts) == body:
            total = sum(float(p.group(1)) * _DURATION_UNITS[p.group(2)] for p in parts)
            if math.isfinite(total) and total <= 2**63 / 1e9:
                return sign * total
    raise _BadValue("expected a duration such as '90s', '1h30m' or integer nanoseconds")
