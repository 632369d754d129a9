"""app.payloads.render: which stored shapes become plain JSON values and which pass
through as they are."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from app.payloads import encode_payload, encode_payloads, render

BINARY = {"metadata": {"encoding": base64.b64encode(b"binary/plain").decode()}, "data": "AAE="}
PLAIN = encode_payload({"n": 1})
AS_ENTRY = {"data": {"n": 1}}

CASES: list[tuple[str, Any, Any]] = [
    ("one json/plain payload becomes its value", encode_payloads([1, "a"]), [1, "a"]),
    ("no payloads become null", {"payloads": []}, None),
    ("two payloads stay whole", {"payloads": [PLAIN, PLAIN]}, {"payloads": [PLAIN, PLAIN]}),
    ("another encoding stays whole", {"payloads": [BINARY]}, {"payloads": [BINARY]}),
    (
        "a map entry payload becomes {data}",
        {"fields": {"k": PLAIN}},
        {"fields": {"k": AS_ENTRY}},
    ),
    ("a map entry of another encoding stays whole", {"k": BINARY}, {"k": BINARY}),
    (
        "payloads beside another key are not a Payloads",
        {"payloads": [PLAIN], "other": PLAIN},
        {"payloads": [AS_ENTRY], "other": AS_ENTRY},
    ),
    (
        "metadata and data beside another key are not a payload",
        {"metadata": {"encoding": "x"}, "data": "y", "z": 1},
        {"metadata": {"encoding": "x"}, "data": "y", "z": 1},
    ),
    ("metadata that is not an object is not a payload", {"metadata": "m"}, {"metadata": "m"}),
    ("payloads that are not a list are not a Payloads", {"payloads": "p"}, {"payloads": "p"}),
    (
        "lists are rendered item by item",
        [encode_payloads(2), {"a": PLAIN}],
        [2, {"a": AS_ENTRY}],
    ),
    ("scalars pass through", "text", "text"),
    ("an empty object passes through", {}, {}),
]


@pytest.mark.parametrize(("stored", "rendered"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_render(stored: Any, rendered: Any) -> None:
    assert render(stored) == rendered
