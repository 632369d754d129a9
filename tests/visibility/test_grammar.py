"""The list filter parser: what each construct parses to, precedence, and errors that
name the position of the problem. Trees compare without positions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.errors import ApiError, ErrorCode
from app.visibility.grammar import (
    MAX_DEPTH,
    MAX_PREDICATES,
    And,
    Between,
    Comparison,
    Contains,
    Expr,
    InList,
    IsNull,
    Name,
    Not,
    Or,
    OrderItem,
    Query,
    QueryError,
    StartsWith,
    Value,
    parse,
    render,
)


def n(name: str) -> Name:
    return Name(name)


def s(text: str) -> Value:
    return Value(text, "string")


def num(number: float) -> Value:
    return Value(number, "number")


def eq(name: str, value: Value) -> Comparison:
    return Comparison(n(name), "=", value)


A = eq("A", num(1))
B = eq("B", num(2))
C = eq("C", num(3))


def where(expr: Expr) -> Query:
    return Query(where=expr)


PARSES: list[tuple[str, Query]] = [
    ("", Query()),
    ("   \n\t ", Query()),
    ("WorkflowId = 'wf-1'", where(eq("WorkflowId", s("wf-1")))),
    ('WorkflowId = "wf-1"', where(eq("WorkflowId", s("wf-1")))),
    ("WorkflowId='wf-1'", where(eq("WorkflowId", s("wf-1")))),
    ("WorkflowId != 'x'", where(Comparison(n("WorkflowId"), "!=", s("x")))),
    ("WorkflowId <> 'x'", where(Comparison(n("WorkflowId"), "!=", s("x")))),
    ("HistoryLength > 5", where(Comparison(n("HistoryLength"), ">", num(5)))),
    ("HistoryLength >= -5", where(Comparison(n("HistoryLength"), ">=", num(-5)))),
    ("HistoryLength < 1.5", where(Comparison(n("HistoryLength"), "<", num(1.5)))),
    ("HistoryLength <= 2e3", where(Comparison(n("HistoryLength"), "<=", num(2000.0)))),
    ("X = .5", where(eq("X", num(0.5)))),
    ("X = TRUE", where(eq("X", Value(True, "bool")))),
    ("X = false", where(eq("X", Value(False, "bool")))),
    ("X = 'it''s'", where(eq("X", s("it's")))),
    ('X = "say ""hi"""', where(eq("X", s('say "hi"')))),
    ("X = 'a\\b'", where(eq("X", s("a\\b")))),
    ("X = 'naïve ☃'", where(eq("X", s("naïve ☃")))),
    ("X = ''", where(eq("X", s("")))),
    ("`My Attr` = 1", where(eq("My Attr", num(1)))),
    ("`order` = 1", where(eq("order", num(1)))),
    ("`a``b` = 1", where(eq("a`b", num(1)))),
    ("X IN ('a')", where(InList(n("X"), (s("a"),)))),
    ("X in ('a', 'b', 3)", where(InList(n("X"), (s("a"), s("b"), num(3))))),
    ("X NOT IN ('a','b')", where(InList(n("X"), (s("a"), s("b")), negated=True))),
    ("X BETWEEN 1 AND 5", where(Between(n("X"), num(1), num(5)))),
    ("X not between 'a' and 'b'", where(Between(n("X"), s("a"), s("b"), negated=True))),
    ("X STARTS_WITH 'pre'", where(StartsWith(n("X"), s("pre")))),
    ("X NOT STARTS_WITH 'pre'", where(StartsWith(n("X"), s("pre"), negated=True))),
    ("X CONTAINS 'mid'", where(Contains(n("X"), s("mid")))),
    ("X not contains 'mid'", where(Contains(n("X"), s("mid"), negated=True))),
    ("X IS NULL", where(IsNull(n("X")))),
    ("X is not null", where(IsNull(n("X"), negated=True))),
    # Precedence: NOT > AND > OR.
    ("A = 1 AND B = 2 OR C = 3", where(Or((And((A, B)), C)))),
    ("A = 1 OR B = 2 AND C = 3", where(Or((A, And((B, C)))))),
    ("NOT A = 1 AND B = 2", where(And((Not(A), B)))),
    ("NOT A = 1 OR B = 2", where(Or((Not(A), B)))),
    ("A = 1 OR NOT B = 2 AND C = 3", where(Or((A, And((Not(B), C)))))),
    ("NOT (A = 1 OR B = 2)", where(Not(Or((A, B))))),
    ("(A = 1 OR B = 2) AND C = 3", where(And((Or((A, B)), C)))),
    ("A = 1 AND B = 2 AND C = 3", where(And((A, B, C)))),
    ("A = 1 OR B = 2 OR C = 3", where(Or((A, B, C)))),
    ("NOT NOT A = 1", where(Not(Not(A)))),
    ("((A = 1))", where(A)),
    ("a = 1 aNd b = 2", where(And((eq("a", num(1)), eq("b", num(2)))))),
    # Clauses.
    ("ORDER BY StartTime", Query(order_by=(OrderItem(n("StartTime")),))),
    (
        "order by StartTime desc, WorkflowId ASC, RunId",
        Query(
            order_by=(
                OrderItem(n("StartTime"), descending=True),
                OrderItem(n("WorkflowId")),
                OrderItem(n("RunId")),
            )
        ),
    ),
    (
        "A = 1 ORDER BY `B`",
        Query(where=A, order_by=(OrderItem(n("B")),)),
    ),
    ("GROUP BY ExecutionStatus", Query(group_by=n("ExecutionStatus"))),
    (
        "A = 1 group by ExecutionStatus ORDER BY X DESC",
        Query(where=A, group_by=n("ExecutionStatus"), order_by=(OrderItem(n("X"), True),)),
    ),
]


@pytest.mark.parametrize(("text", "expected"), PARSES, ids=[t or "<empty>" for t, _ in PARSES])
def test_parses(text: str, expected: Query) -> None:
    parsed = parse(text)
    assert parsed == expected
    assert parse(render(parsed)) == parsed


def test_positions_are_one_based_columns() -> None:
    query = parse("ExecutionStatus = 'Running' AND `Custom` IN (1, 2)")
    assert isinstance(query.where, And)
    first, second = query.where.operands
    assert isinstance(first, Comparison) and isinstance(second, InList)
    assert first.attribute.position == 1
    assert first.position == 17
    assert first.value.position == 19
    assert second.attribute.position == 33
    assert second.position == 42
    assert [v.position for v in second.values] == [46, 49]


ERRORS: list[tuple[str, int, str]] = [
    ("WorkflowId = ", 14, "expected a value"),
    ("WorkflowId = wf1", 14, "did you forget to quote"),
    ("WorkflowId = NULL", 14, "IS NULL"),
    ("WorkflowId", 11, "expected an operator"),
    ("WorkflowId 'x'", 12, "expected an operator"),
    ("WorkflowId == 'x'", 13, "expected a value"),
    ("WorkflowId = 'unterminated", 14, "unterminated string"),
    ("`unterminated = 1", 1, "unterminated attribute name"),
    ("`` = 1", 1, "empty attribute name"),
    ("'x' = WorkflowId", 1, "expected a search attribute name"),
    ("= 1", 1, "expected a search attribute name"),
    ("AND = 1", 1, "keyword AND"),
    ("A = 1 AND", 10, "expected a search attribute name"),
    ("A = 1 OR OR B = 2", 10, "keyword OR"),
    ("A = 1 B = 2", 7, "expected AND, OR"),
    ("(A = 1", 7, "expected ')'"),
    ("A = 1)", 6, "expected AND, OR"),
    ("()", 2, "expected a search attribute name"),
    ("A IN ()", 7, "expected a value"),
    ("A IN ('a',)", 11, "expected a value"),
    ("A IN 'a'", 6, "expected '('"),
    ("A BETWEEN 1 OR 2", 13, "expected AND"),
    ("A BETWEEN 1", 12, "expected AND"),
    ("A IS 1", 6, "expected NULL or NOT NULL"),
    ("A NOT = 1", 7, "after NOT"),
    ("A LIKE 'x%'", 3, "LIKE is not supported"),
    ("lower(A) = 'x'", 6, "functions are not supported"),
    ("A = 1 LIMIT 10", 7, "LIMIT is not supported"),
    ("A = 1 ; DROP TABLE executions", 7, "unexpected character ';'"),
    ("A = 1 # comment", 7, "unexpected character '#'"),
    ("A = 'x\x00'", 7, "invalid character U+0000"),
    ("A = 'x\ud800'", 7, "invalid character U+D800"),
    ("ORDER BY", 9, "expected a search attribute name"),
    ("ORDER StartTime", 1, "keyword ORDER"),
    ("ORDER BY A B", 12, "expected ',' or end of query"),
    ("ORDER BY A, ", 13, "expected a search attribute name"),
    ("ORDER BY A GROUP BY B", 12, "expected ',' or end of query"),
    ("GROUP BY A, B", 11, "exactly one attribute"),
    ("GROUP BY A ORDER A", 18, "expected BY"),
    ("A = 99999999999999999999999999999999999999999", 5, "number out of range"),
    (
        "A = 1 AND " + "B = 2 AND " * MAX_PREDICATES + "C = 3",
        11 + 10 * (MAX_PREDICATES - 1),
        "conditions",
    ),
    ("(" * (MAX_DEPTH + 1) + "A = 1" + ")" * (MAX_DEPTH + 1), MAX_DEPTH + 1, "nested"),
    ("NOT " * (MAX_DEPTH + 1) + "A = 1", 4 * MAX_DEPTH + 1, "nested"),
]


@pytest.mark.parametrize(("text", "position", "message"), ERRORS, ids=[e[0][:40] for e in ERRORS])
def test_errors_name_the_position(text: str, position: int, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse(text)
    error = caught.value
    assert error.position == position, error.message
    assert error.message.startswith(f"syntax error at position {position}: "), error.message
    assert message in error.message


def test_query_error_is_an_invalid_argument_api_error() -> None:
    with pytest.raises(ApiError) as caught:
        parse("WorkflowId = ")
    assert caught.value.code == ErrorCode.INVALID_ARGUMENT
    assert caught.value.status == 400
    assert caught.value.details == [
        {
            "type": "BadRequest",
            "field": "query",
            "description": "syntax error at position 14: expected a value, found end of query",
        }
    ]


def test_limits_are_not_hit_by_reasonable_queries() -> None:
    nested = "(" * MAX_DEPTH + "A = 1" + ")" * MAX_DEPTH
    assert parse(nested) == where(A)
    chain = " OR ".join(f"A = {i}" for i in range(MAX_PREDICATES))
    assert isinstance(parse(chain).where, Or)


def test_overlong_query_is_rejected() -> None:
    with pytest.raises(QueryError, match="longer than"):
        parse("A = '" + "x" * 40_000 + "'")


# --- Properties ------------------------------------------------------------------------

_names = st.one_of(
    st.sampled_from(["WorkflowId", "HistoryLength", "Custom_1", "x"]),
    st.text(min_size=1, max_size=8).filter(lambda t: "\x00" not in t),
).map(Name)
_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12
)
_values = st.one_of(
    _text.map(lambda t: Value(t, "string")),
    st.integers(-(10**20), 10**20).map(lambda i: Value(i, "number")),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: Value(f, "number")),
    st.booleans().map(lambda b: Value(b, "bool")),
)
_predicates = st.one_of(
    st.builds(Comparison, _names, st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), _values),
    st.builds(InList, _names, st.lists(_values, min_size=1, max_size=4).map(tuple), st.booleans()),
    st.builds(Between, _names, _values, _values, st.booleans()),
    st.builds(StartsWith, _names, _values, st.booleans()),
    st.builds(Contains, _names, _values, st.booleans()),
    st.builds(IsNull, _names, st.booleans()),
)
_exprs = st.recursive(
    _predicates,
    lambda inner: st.one_of(
        inner.map(Not),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
    ),
    max_leaves=8,
)
_queries = st.builds(
    Query,
    st.none() | _exprs,
    st.none() | _names,
    st.lists(st.builds(OrderItem, _names, st.booleans()), max_size=3).map(tuple),
)


@given(_queries)
def test_render_parse_round_trip(query: Query) -> None:
    assert parse(render(query)) == query


@given(st.text(max_size=80))
def test_random_text_raises_only_query_errors(text: str) -> None:
    try:
        parse(text)
    except QueryError as error:
        assert error.position is not None
        assert f"at position {error.position}: " in error.message
