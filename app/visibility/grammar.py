"""The list filter language: Temporal's SQL-like WHERE clause, parsed by hand (recursive
descent) into a small AST. Which attributes exist and which operators fit which types
is decided later, in ``app.visibility.compile``; this module only knows the syntax.

Syntax (keywords are case-insensitive, attribute names are case-sensitive)::

    query      := [expr] [GROUP BY name] [ORDER BY name [ASC|DESC] {, name [ASC|DESC]}]
    expr       := and_expr {OR and_expr}
    and_expr   := not_expr {AND not_expr}
    not_expr   := NOT not_expr | '(' expr ')' | predicate
    predicate  := name ('=' | '!=' | '<>' | '<' | '<=' | '>' | '>=') value
                | name [NOT] IN '(' value {, value} ')'
                | name [NOT] BETWEEN value AND value
                | name [NOT] STARTS_WITH value
                | name [NOT] CONTAINS value
                | name IS [NOT] NULL
    name       := identifier | `backquoted name`
    value      := 'string' | "string" | number | TRUE | FALSE

Strings double their own quote to contain it (``'it''s'``); a backslash is an ordinary
character. Numbers are integers or decimals with an optional exponent and a leading
``-``. Precedence: NOT binds tighter than AND, AND tighter than OR.

Every error is a :class:`QueryError` whose message carries the 1-based position (the
character column) of the problem, e.g. ``syntax error at position 17: expected a value``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal as TypingLiteral
from typing import cast

from app.errors import ApiError, ErrorCode

# Limits that keep a hostile query from exhausting the parser, the SQL compiler or the
# database's expression-depth and bound-parameter limits.
MAX_QUERY_LENGTH = 32_768
MAX_DEPTH = 20
MAX_PREDICATES = 256
MAX_VALUES = 1_000


class QueryError(ApiError):
    """A list query that cannot be parsed or compiled: INVALID_ARGUMENT (HTTP 400) on the
    ``query`` field. ``position`` is the 1-based column of the problem (None when the
    problem has no single place)."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(
            ErrorCode.INVALID_ARGUMENT,
            message,
            [{"type": "BadRequest", "field": "query", "description": message}],
        )
        self.position = position


def syntax_error(detail: str, position: int) -> QueryError:
    return QueryError(f"syntax error at position {position}: {detail}", position)


# --- AST -------------------------------------------------------------------------------
# Positions are 1-based columns into the query text; they take no part in equality, so
# tests compare trees by shape and values alone.

ValueKind = TypingLiteral["string", "number", "bool"]


@dataclass(frozen=True)
class Name:
    """A search attribute name as written (backquotes removed)."""

    name: str
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Value:
    """A literal: ``str`` for strings, ``int`` or ``float`` for numbers, ``bool``."""

    value: str | int | float | bool
    kind: ValueKind
    position: int = field(default=0, compare=False)

    def __str__(self) -> str:
        if self.kind == "string":
            assert isinstance(self.value, str)
            return "'" + self.value.replace("'", "''") + "'"
        if self.kind == "bool":
            return "true" if self.value else "false"
        return repr(self.value)


ComparisonOp = TypingLiteral["=", "!=", "<", "<=", ">", ">="]


@dataclass(frozen=True)
class Comparison:
    attribute: Name
    op: ComparisonOp
    value: Value
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class InList:
    attribute: Name
    values: tuple[Value, ...]
    negated: bool = False
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Between:
    attribute: Name
    low: Value
    high: Value
    negated: bool = False
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class StartsWith:
    attribute: Name
    prefix: Value
    negated: bool = False
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Contains:
    """Our extension: case-sensitive substring match on Keyword and Text."""

    attribute: Name
    substring: Value
    negated: bool = False
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class IsNull:
    attribute: Name
    negated: bool = False
    position: int = field(default=0, compare=False)


Predicate = Comparison | InList | Between | StartsWith | Contains | IsNull


@dataclass(frozen=True)
class Not:
    operand: Expr


@dataclass(frozen=True)
class And:
    """Two or more operands (a chain ``a AND b AND c`` is one node)."""

    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    """Two or more operands (a chain ``a OR b OR c`` is one node)."""

    operands: tuple[Expr, ...]


Expr = Predicate | Not | And | Or


@dataclass(frozen=True)
class OrderItem:
    attribute: Name
    descending: bool = False


@dataclass(frozen=True)
class Query:
    where: Expr | None = None
    group_by: Name | None = None
    order_by: tuple[OrderItem, ...] = ()


# --- Tokens ----------------------------------------------------------------------------

TokenKind = TypingLiteral["ident", "quoted_name", "string", "number", "op", "end"]


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str  # identifier / name / operator as written; decoded string contents
    position: int
    number: int | float | None = None

    def keyword(self) -> str | None:
        """The upper-cased word if this is a bare identifier (a possible keyword)."""
        return self.text.upper() if self.kind == "ident" else None


RESERVED = frozenset(
    {
        "AND",
        "OR",
        "NOT",
        "IN",
        "BETWEEN",
        "IS",
        "NULL",
        "STARTS_WITH",
        "CONTAINS",
        "LIKE",
        "ORDER",
        "GROUP",
        "BY",
        "ASC",
        "DESC",
        "TRUE",
        "FALSE",
        "LIMIT",
        "SELECT",
        "FROM",
        "WHERE",
    }
)

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_OPERATORS = ("<=", ">=", "<>", "!=", "=", "<", ">", "(", ")", ",")
_SPACE = " \t\r\n\f\v"


def _bad_character(ch: str) -> bool:
    code = ord(ch)
    return code == 0 or 0xD800 <= code <= 0xDFFF


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        pos = i + 1
        if ch in _SPACE:
            i += 1
        elif ch in "'\"`":
            body, i = _quoted(text, i)
            kind: TokenKind = "quoted_name" if ch == "`" else "string"
            if kind == "quoted_name" and not body:
                raise syntax_error("empty attribute name", pos)
            tokens.append(Token(kind, body, pos))
        elif match := _NUMBER.match(text, i):
            raw = match.group()
            number: int | float
            if any(c in raw for c in ".eE"):
                number = float(raw)
            elif len(raw) > 40:
                raise syntax_error("number out of range", pos)
            else:
                number = int(raw, 10)
            tokens.append(Token("number", raw, pos, number))
            i = match.end()
        elif match := _IDENT.match(text, i):
            tokens.append(Token("ident", match.group(), pos))
            i = match.end()
        else:
            for op in _OPERATORS:
                if text.startswith(op, i):
                    tokens.append(Token("op", op, pos))
                    i += len(op)
                    break
            else:
                if _bad_character(ch):
                    raise syntax_error(f"invalid character U+{ord(ch):04X}", pos)
                raise syntax_error(f"unexpected character {ch!r}", pos)
    tokens.append(Token("end", "", n + 1))
    return tokens


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The contents of the quoted token at ``start`` (its quote doubled inside stands for
    itself) and the index after it."""
    quote = text[start]
    parts: list[str] = []
    i = start + 1
    while True:
        end = text.find(quote, i)
        if end < 0:
            what = "attribute name" if quote == "`" else "string"
            raise syntax_error(f"unterminated {what}", start + 1)
        parts.append(text[i:end])
        if text.startswith(quote * 2, end):
            parts.append(quote)
            i = end + 2
        else:
            body = "".join(parts)
            for offset, ch in enumerate(body):
                if _bad_character(ch):
                    raise syntax_error(f"invalid character U+{ord(ch):04X}", start + 2 + offset)
            return body, end + 1


# --- Parser ----------------------------------------------------------------------------


def parse(text: str) -> Query:
    """Parse a list filter. An empty (or blank) query is ``Query()``: all executions."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"the query is longer than {MAX_QUERY_LENGTH} characters")
    return _Parser(tokenize(text)).query()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0
        self.predicates = 0
        self.values = 0

    # helpers

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        return self.token.keyword() in words

    def at_op(self, *ops: str) -> bool:
        return self.token.kind == "op" and self.token.text in ops

    def expect_keyword(self, word: str) -> Token:
        if not self.at_keyword(word):
            raise self.unexpected(f"expected {word}")
        return self.advance()

    def expect_op(self, op: str) -> Token:
        if not self.at_op(op):
            raise self.unexpected(f"expected {op!r}")
        return self.advance()

    def unexpected(self, expected: str) -> QueryError:
        token = self.token
        found = "end of query" if token.kind == "end" else repr(_spelling(token))
        return syntax_error(f"{expected}, found {found}", token.position)

    # grammar

    def query(self) -> Query:
        where: Expr | None = None
        if not self.at_clause() and self.token.kind != "end":
            where = self.or_expr()
        group_by: Name | None = None
        if self.at_keyword("GROUP"):
            self.advance()
            self.expect_keyword("BY")
            group_by = self.name()
            if self.at_op(","):
                raise syntax_error("GROUP BY takes exactly one attribute", self.token.position)
        order_by: list[OrderItem] = []
        if self.at_keyword("ORDER"):
            self.advance()
            self.expect_keyword("BY")
            order_by.append(self.order_item())
            while self.at_op(","):
                self.advance()
                order_by.append(self.order_item())
        if self.token.kind != "end":
            if self.at_keyword("LIMIT"):
                raise syntax_error("LIMIT is not supported", self.token.position)
            if order_by:
                raise self.unexpected("expected ',' or end of query")
            if group_by is not None:
                raise self.unexpected("expected ORDER BY or end of query")
            raise self.unexpected("expected AND, OR, GROUP BY, ORDER BY or end of query")
        return Query(where, group_by, tuple(order_by))

    def at_clause(self) -> bool:
        following = self.tokens[self.index + 1] if self.token.kind != "end" else self.token
        return self.at_keyword("ORDER", "GROUP") and following.keyword() == "BY"

    def order_item(self) -> OrderItem:
        attribute = self.name()
        descending = False
        if self.at_keyword("ASC", "DESC"):
            descending = self.advance().text.upper() == "DESC"
        return OrderItem(attribute, descending)

    def or_expr(self) -> Expr:
        operands = [self.and_expr()]
        while self.at_keyword("OR"):
            self.advance()
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_expr(self) -> Expr:
        operands = [self.not_expr()]
        while self.at_keyword("AND"):
            self.advance()
            operands.append(self.not_expr())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def not_expr(self) -> Expr:
        if self.at_keyword("NOT") or self.at_op("("):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise syntax_error(
                    f"the query is nested more than {MAX_DEPTH} levels deep",
                    self.token.position,
                )
            try:
                if self.advance().text == "(":
                    inner = self.or_expr()
                    self.expect_op(")")
                    return inner
                return Not(self.not_expr())
            finally:
                self.depth -= 1
        return self.predicate()

    def name(self) -> Name:
        token = self.token
        if token.kind == "quoted_name":
            self.advance()
            return Name(token.text, token.position)
        if token.kind == "ident" and token.text.upper() not in RESERVED:
            self.advance()
            return Name(token.text, token.position)
        if token.kind == "ident":
            raise syntax_error(
                f"expected a search attribute name, found keyword {token.text.upper()} "
                "(quote a name that is a keyword with backquotes)",
                token.position,
            )
        if token.kind in ("string", "number"):
            raise syntax_error(
                "expected a search attribute name, found a value (the attribute must "
                "be on the left of the operator)",
                token.position,
            )
        raise self.unexpected("expected a search attribute name")

    def predicate(self) -> Predicate:
        attribute = self.name()
        self.predicates += 1
        if self.predicates > MAX_PREDICATES:
            raise syntax_error(
                f"the query has more than {MAX_PREDICATES} conditions", attribute.position
            )
        token = self.token
        position = token.position
        if token.kind == "op" and token.text in ("=", "!=", "<>", "<", "<=", ">", ">="):
            self.advance()
            op = cast(ComparisonOp, "!=" if token.text == "<>" else token.text)
            return Comparison(attribute, op, self.value(), position)
        if self.at_keyword("IS"):
            self.advance()
            negated = False
            if self.at_keyword("NOT"):
                self.advance()
                negated = True
            if not self.at_keyword("NULL"):
                raise self.unexpected("expected NULL or NOT NULL after IS")
            self.advance()
            return IsNull(attribute, negated, position)
        negated = False
        if self.at_keyword("NOT"):
            self.advance()
            negated = True
        word = self.token.keyword()
        if word == "IN":
            self.advance()
            self.expect_op("(")
            values = [self.value()]
            while self.at_op(","):
                self.advance()
                values.append(self.value())
            self.expect_op(")")
            return InList(attribute, tuple(values), negated, position)
        if word == "BETWEEN":
            self.advance()
            low = self.value()
            self.expect_keyword("AND")
            return Between(attribute, low, self.value(), negated, position)
        if word == "STARTS_WITH":
            self.advance()
            return StartsWith(attribute, self.value(), negated, position)
        if word == "CONTAINS":
            self.advance()
            return Contains(attribute, self.value(), negated, position)
        if word == "LIKE":
            raise syntax_error(
                "LIKE is not supported; use STARTS_WITH or CONTAINS", self.token.position
            )
        if negated:
            raise self.unexpected("expected IN, BETWEEN, STARTS_WITH or CONTAINS after NOT")
        if self.at_op("("):
            raise syntax_error(
                f"functions are not supported ({attribute.name!r} is followed by '(')",
                self.token.position,
            )
        raise self.unexpected(
            f"expected an operator after {attribute.name!r} (=, !=, <, <=, >, >=, IN, "
            "NOT IN, BETWEEN, STARTS_WITH, CONTAINS, IS NULL)"
        )

    def value(self) -> Value:
        token = self.token
        self.values += 1
        if self.values > MAX_VALUES:
            raise syntax_error(f"the query has more than {MAX_VALUES} values", token.position)
        if token.kind == "string":
            self.advance()
            return Value(token.text, "string", token.position)
        if token.kind == "number":
            self.advance()
            assert token.number is not None
            return Value(token.number, "number", token.position)
        word = token.keyword()
        if word in ("TRUE", "FALSE"):
            self.advance()
            return Value(word == "TRUE", "bool", token.position)
        if word == "NULL":
            raise syntax_error(
                "expected a value, found NULL (use IS NULL or IS NOT NULL)", token.position
            )
        if token.kind in ("ident", "quoted_name") and word not in RESERVED:
            raise syntax_error(
                f"expected a value, found the name {token.text!r} (did you forget to quote "
                "it? strings go in single quotes)",
                token.position,
            )
        raise self.unexpected("expected a value")


def _spelling(token: Token) -> str:
    if token.kind == "string":
        return "'" + token.text.replace("'", "''") + "'"
    if token.kind == "quoted_name":
        return "`" + token.text + "`"
    return token.text


# --- Rendering -------------------------------------------------------------------------


def render(query: Query) -> str:
    """The query as text that parses back to an equal tree (used by the tests)."""
    parts: list[str] = []
    if query.where is not None:
        parts.append(render_expr(query.where))
    if query.group_by is not None:
        parts.append("GROUP BY " + _name(query.group_by))
    if query.order_by:
        items = [_name(i.attribute) + (" DESC" if i.descending else " ASC") for i in query.order_by]
        parts.append("ORDER BY " + ", ".join(items))
    return " ".join(parts)


def render_expr(expr: Expr) -> str:
    if isinstance(expr, And | Or):
        joiner = " AND " if isinstance(expr, And) else " OR "
        return "(" + joiner.join(render_expr(e) for e in expr.operands) + ")"
    if isinstance(expr, Not):
        return "NOT " + render_expr(expr.operand)
    name = _name(expr.attribute)
    not_ = "NOT " if getattr(expr, "negated", False) else ""
    if isinstance(expr, Comparison):
        return f"{name} {expr.op} {expr.value}"
    if isinstance(expr, InList):
        return f"{name} {not_}IN ({', '.join(str(v) for v in expr.values)})"
    if isinstance(expr, Between):
        return f"{name} {not_}BETWEEN {expr.low} AND {expr.high}"
    if isinstance(expr, StartsWith):
        return f"{name} {not_}STARTS_WITH {expr.prefix}"
    if isinstance(expr, Contains):
        return f"{name} {not_}CONTAINS {expr.substring}"
    return f"{name} IS {not_}NULL"


def _name(name: Name) -> str:
    if _IDENT.fullmatch(name.name) and name.name.upper() not in RESERVED:
        return name.name
    return "`" + name.name.replace("`", "``") + "`"
