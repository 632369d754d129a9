"""JSON text on the hot paths (request bodies, JSON columns, history sizes) through
orjson, which reads and writes it several times faster than the standard library (the
bench's end to end spent ~7 % of the server's CPU in ``json``), falling back to the
standard library wherever orjson would give a different value.

Request bodies are read strictly: JSON has no NaN or Infinity, no number too large for
a double and no lone UTF-16 surrogate, and the standard library accepts each of them
(a NaN was stored as null, a lone surrogate failed the write). Stored text reads back as
the value that was written, whichever library wrote it."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

# orjson reads an integer beyond 64 bits as a float; a request body with a run of 19
# digits might hold one, so it goes to the standard library, which keeps it exact.
_LONG_DIGITS = re.compile(rb"[0-9]{19}")


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
    ``json.JSONDecodeError`` (FastAPI answers it as invalid JSON)."""
    if _LONG_DIGITS.search(body) is None:
        try:
            return orjson.loads(body)  # strict already
        except orjson.JSONDecodeError as refused:
            raise _explained(body) or refused from None
    return _strict_standard(body)


def _strict_standard(body: bytes) -> Any:
    text = body.decode("utf-8", errors="surrogateescape")
    value = json.loads(text, parse_constant=_no_constant(text), parse_float=_finite(text))
    _refuse_lone_surrogates(value, text)
    return value


def _explained(body: bytes) -> json.JSONDecodeError | None:
    """The standard library's reason for a body orjson refused (it names the token:
    "NaN is not a JSON value", where orjson says "unexpected character"). Only the
    reason is taken: the body stays refused whatever the standard library makes of it."""
    try:
        _strict_standard(body)
    except json.JSONDecodeError as reason:
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
