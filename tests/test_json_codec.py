"""app.json_codec: what is stored reads back as the value written, whichever library
wrote it; request bodies are strict JSON."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from app import json_codec

BIG = 2**70 + 1  # not a double


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"a": 1, "b": [1.5, -0.0, 1e-7, None, True]}, id="plain"),
        pytest.param({"n": BIG, "m": -BIG}, id="beyond-64-bits"),
        pytest.param([BIG], id="lone-big-integer"),
        pytest.param(BIG, id="bare-big-integer"),
        pytest.param({"edge": [2**64 - 1, -(2**63)]}, id="64-bit-edges"),
        pytest.param({"text": 'a "quoted": value, with spaces', "é": "☃"}, id="strings"),
    ],
)
def test_what_dumps_writes_loads_reads_back(value: Any) -> None:
    assert json_codec.loads(json_codec.dumps(value)) == value
    assert json_codec.loads(json_codec.dumps(value).encode()) == value


def test_integers_beyond_64_bits_stay_integers() -> None:
    read = json_codec.loads(json_codec.dumps({"n": BIG}))
    assert read["n"] == BIG and isinstance(read["n"], int)


@pytest.mark.parametrize(
    "value",
    [{"n": BIG}, [BIG, 1], {"x": [1, 2], "y": "z"}, {"nan": math.inf}],
    ids=["big", "list", "nested", "infinity"],
)
def test_text_the_standard_library_wrote_before_reads_back(value: Any) -> None:
    text = json.dumps(value)  # SQLAlchemy's default serializer, with its spaces
    assert json_codec.loads(text) == value


def test_a_nan_the_standard_library_wrote_reads_back() -> None:
    assert math.isnan(json_codec.loads('{"x":NaN}')["x"])


def test_keys_that_are_not_strings_become_strings_as_with_json() -> None:
    keyed = {1: "a", None: "b", 2.5: "c"}
    assert json_codec.loads(json_codec.dumps(keyed)) == json.loads(json.dumps(keyed))


def test_a_value_neither_library_writes_raises_type_error() -> None:
    with pytest.raises(TypeError):
        json_codec.dumps({"x": object()})


def test_size_counts_compact_utf8() -> None:
    assert json_codec.size({"a": "é"}) == len('{"a":"é"}'.encode())
    assert json_codec.size({"a": BIG}) == len(f'{{"a":{BIG}}}')


@pytest.mark.parametrize(
    "body",
    [b"[NaN]", b"[Infinity]", b"[1e400]", b'["\\ud800"]', b"[12345678901234567890, NaN]"],
)
def test_request_bodies_refuse_what_json_does_not_have(body: bytes) -> None:
    with pytest.raises(json.JSONDecodeError):
        json_codec.parse_request_body(body)


def test_request_bodies_keep_big_integers_exact() -> None:
    assert json_codec.parse_request_body(b'{"n": %d}' % BIG) == {"n": BIG}


def test_the_reason_for_a_refused_body_names_the_token() -> None:
    with pytest.raises(json.JSONDecodeError, match="NaN is not a JSON value"):
        json_codec.parse_request_body(b'{"x": NaN}')


@pytest.mark.parametrize("depth", [json_codec.MAX_NESTING + 1, 990, 1025, 5000])
@pytest.mark.parametrize("leaf", [b"1", b"1" + b"0" * 20], ids=["orjson", "standard-library"])
def test_a_body_nested_too_deep_is_refused_not_crashed(depth: int, leaf: bytes) -> None:
    with pytest.raises(json_codec.TooDeep):
        json_codec.parse_request_body(b"[" * depth + leaf + b"]" * depth)


@pytest.mark.parametrize("leaf", [b"1", b"1" + b"0" * 20], ids=["orjson", "standard-library"])
def test_a_body_nested_to_the_limit_is_read(leaf: bytes) -> None:
    depth = json_codec.MAX_NESTING
    value = json_codec.parse_request_body(b"[" * depth + leaf + b"]" * depth)
    for _ in range(depth):
        (value,) = value
    assert value == int(leaf)


def _nested(depth: int, leaf: Any = 1) -> Any:
    """Arrays and objects in turn, ``depth`` levels."""
    for level in range(depth):
        leaf = {"k": leaf} if level % 2 else [leaf]
    return leaf


@pytest.mark.parametrize("depth", [0, 1, 99, 100, 101, 254, 255, 1500])
@pytest.mark.parametrize("leaf", [1, 2**70], ids=["small", "beyond-64-bits"])
def test_nesting_is_measured_exactly(depth: int, leaf: Any) -> None:
    value = _nested(depth, leaf)
    assert json_codec.nests_deeper_than(value, 100) == (depth > 100)
    assert json_codec.nests_deeper_than([value, 1, {}], 100) == (depth + 1 > 100)
