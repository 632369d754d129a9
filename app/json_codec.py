"""JSON text on the hot paths (request bodies, JSON columns, history sizes) through
orjson, which reads and writes it several times faster than the standard library (the
bench's end to end spent ~7 % of the server's CPU in ``json``), falling back to the
standard library wherever orjson would give a different value.

Request bodies are read strictly: JSON has no NaN or Infinity, no number too large for
a double and no lone UTF-16 surrogate, and the standard library accepts each of them
(a NaN was stored as null, a lone surrogate failed the write), and they nest at most
``MAX_NESTING`` levels. Stored text reads back as the value that was written, whichever
library wrote it."""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

# orjson reads an integer beyond 64 bits as a float; a request body with a run of 19
# digits might hold one, so it goes to the standard library, which keeps it exact. The
# run is found with every digit made a 0: 15 times faster than a regular expression
# (25 against 400 us in a 29 KB completion, 0.4 against 2 us in a start).
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGITS = b"0" * 19

# How deep a request body may nest arrays and objects, the body itself being level 1. A
# reply puts a stored value a few levels down (a history event in a poll's answer) and
# the serialisers that write replies, pydantic-core and orjson, stop at 254 levels: a
# start nesting 255 deep was accepted, then its describe, history and every poll of its
# queue failed for ever. 100 leaves the replies ample room, is far beyond any real
# payload, and is where protobuf's C++ and Python parsers (Temporal's Python SDK) stop
# reading nested messages such as a failure's causes.
MAX_NESTING = 100


class TooDeep(ValueError):
    """A request body nesting arrays and objects more than ``MAX_NESTING`` levels deep."""

    def __init__(self) -> None:
        super().__init__(
            f"request body nests arrays and objects more than {MAX_NESTING} levels deep"
        )


def _orjson_depth() -> int | None:
    """How many levels orjson writes (254 in orjson 3), measured rather than assumed;
    None if it writes far more."""
    value: list[Any] = []
    for depth in range(1, 2_000):
        try:
            orjson.dumps(value)
        except orjson.JSONEncodeError:
            return depth - 1
        value = [value]
    return None


_ORJSON_DEPTH = _orjson_depth()


def nests_deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests arrays and objects more than ``limit`` levels deep (``[]``
    is one level). orjson answers it in C: wrapped in enough lists to bring it to
    orjson's own depth limit, a value within ``limit`` is written; that is ten times
    faster than a walk in Python (a 32 KB completion of 200 commands: 34 against
    320 us). A value orjson will not write (too deep, or an integer beyond 64 bits) is
    walked, level by level."""
    if _ORJSON_DEPTH is not None and limit < _ORJSON_DEPTH:
        wrapped = value
        for _ in range(_ORJSON_DEPTH - limit):
            wrapped = [wrapped]
        try:
            orjson.dumps(wrapped, option=orjson.OPT_NON_STR_KEYS)
            return False
        except orjson.JSONEncodeError:
            pass
    frontier = [value] if isinstance(value, dict | list) else []
    depth = 0
    while frontier:
        depth += 1
        if depth > limit:
            return True
        children = []
        for node in frontier:
            for child in node.values() if isinstance(node, dict) else node:
                if isinstance(child, dict | list):
                    children.append(child)
        frontier = children
    return False


def may_nest_deeper_than(text: bytes, limit: int) -> bool:
    """False when ``text`` has too few brackets to nest more than ``limit`` deep: two scans
    in C, which settle nearly every body (a start's has some ten) without a look at its
    value."""
    return text.count(b"[") + text.count(b"{") > limit


def loads(text: str | bytes) -> Any:
    """A value stored by ``dumps`` (or, before it, by the standard library)."""
    # Text that orjson wrote has no whitespace outside strings and holds only integers
    # it reads back exactly. Text with a space may be the standard library's (its
    # separators, or dumps' fallback, which starts with one): it reads that itself.
    if (" " in text) if isinstance(text, str) else (b" " in text):
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # a NaN, say, that the standard library wrote before


def dumps(value: Any) -> str:
    """Compact JSON text; keys that are not strings become strings, as with ``json``."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # an integer beyond 64 bits, or a value neither can write
        return " " + json.dumps(value, separators=(",", ":"))


def size(value: Any) -> int:
    """The length of ``value`` as compact UTF-8 JSON."""
    try:
        return len(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))
    except TypeError:
        return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def parse_request_body(body: bytes) -> Any:
    """A request body's value; anything that is not strict JSON raises
    ``json.JSONDecodeError`` (FastAPI answers it as invalid JSON), a body nesting more
    than ``MAX_NESTING`` levels raises ``TooDeep``."""
    if _LONG_DIGITS not in body.translate(_DIGITS_AS_ZERO):
        try:
            value = orjson.loads(body)  # strict already
        except orjson.JSONDecodeError as refused:
            raise _explained(body) or refused from None
        _refuse_too_deep(body, value)
        return value
    return _strict_standard(body)


def _refuse_too_deep(body: bytes, value: Any) -> None:
    if may_nest_deeper_than(body, MAX_NESTING) and nests_deeper_than(value, MAX_NESTING):
        raise TooDeep


def _strict_standard(body: bytes) -> Any:
    text = body.decode("utf-8", errors="surrogateescape")
    try:
        value = json.loads(text, parse_constant=_no_constant(text), parse_float=_finite(text))
    except RecursionError:  # some 1,000 levels: far beyond MAX_NESTING
        raise TooDeep from None
    _refuse_too_deep(body, value)  # before the walk below, which recurses
    _refuse_lone_surrogates(value, text)
    return value


def _explained(body: bytes) -> ValueError | None:
    """The standard library's reason for a body orjson refused (it names the token:
    "NaN is not a JSON value", where orjson says "unexpected character"; orjson stops
    at 1,024 levels, it at about 1,000). Only the reason is taken: the body stays refused
    whatever the standard library makes of it."""
    try:
        _strict_standard(body)
    except (json.JSONDecodeError, TooDeep) as reason:
        return reason
    except (RecursionError, ValueError):
        pass
    return None


def _no_constant(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise json.JSONDecodeError(f"{name} is not a JSON value", text, text.find(name))

    return refuse


def _finite(text: str) -> Any:
    def parse(literal: str) -> float:
        number = float(literal)
        if math.isinf(number):
            raise json.JSONDecodeError("number is too large", text, text.find(literal))
        return number

    return parse


def _refuse_lone_surrogates(value: Any, text: str) -> None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise json.JSONDecodeError("lone UTF-16 surrogate in a string", text, 0) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_lone_surrogates(key, text)
            _refuse_lone_surrogates(item, text)
    elif isinstance(value, list):
        for item in value:
            _refuse_lone_surrogates(item, text)
