"""Payloads are stored whole, in Temporal's shape (metadata + data, bytes as base64), so
that other encodings can later pass through byte for byte. The REST API reads and writes
them as plain JSON values (encoding ``json/plain``)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from app import json_codec

JSON_PLAIN = "json/plain"
_JSON_PLAIN_B64 = base64.b64encode(JSON_PLAIN.encode()).decode()

Payload = dict[str, Any]


@dataclass(frozen=True)
class EncodedPayload:
    """A payload that arrived already encoded (over gRPC): stored as it came, its bytes
    and metadata untouched, whatever its encoding (a codec's ciphertext included)."""

    payload: Payload


@dataclass(frozen=True)
class EncodedPayloads:
    """A Payloads list that arrived already encoded; see EncodedPayload."""

    payloads: list[Payload]


def encode_payload(value: Any) -> Payload:
    if isinstance(value, EncodedPayload):
        return value.payload
    data = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    return {"metadata": {"encoding": _JSON_PLAIN_B64}, "data": base64.b64encode(data).decode()}


def encode_payloads(value: Any) -> dict[str, list[Payload]]:
    if isinstance(value, EncodedPayloads):
        return {"payloads": value.payloads}
    return {"payloads": [encode_payload(value)]}


def encode_payload_map(values: dict[str, Any]) -> dict[str, Payload]:
    return {key: encode_payload(value) for key, value in values.items()}


def _json_plain_value(payload: Payload, exact: bool = True) -> tuple[bool, Any]:
    """``exact``: the payload carries no metadata beyond its encoding, so that showing
    it as its bare value loses nothing."""
    metadata = payload.get("metadata") or {}
    if metadata.get("encoding") != _JSON_PLAIN_B64 or (exact and len(metadata) != 1):
        return False, None
    try:
        data = base64.b64decode(payload.get("data", ""))
        value = json.loads(data)
    except (binascii.Error, ValueError, RecursionError):
        return False, None
    # A value nesting deeper than a request may (stored before the limit) is answered as
    # its payload, base64 and all: a reply must never be too deep to write.
    limit = json_codec.MAX_NESTING
    if json_codec.may_nest_deeper_than(data, limit) and json_codec.nests_deeper_than(value, limit):
        return False, None
    return True, value


def decode_payload(payload: Payload) -> Any:
    """The JSON value of a json/plain payload (other metadata beside its encoding, such
    as the SDKs' search-attribute ``type``, ignored); any other payload is returned whole."""
    ok, value = _json_plain_value(payload, exact=False)
    return value if ok else payload


def _is_payload(node: Any) -> bool:
    return (
        isinstance(node, dict)
        and set(node) <= {"metadata", "data"}
        and isinstance(node.get("metadata"), dict)
    )


def _is_payloads(node: Any) -> bool:
    return (
        isinstance(node, dict)
        and set(node) == {"payloads"}
        and isinstance(node["payloads"], list)
        and all(_is_payload(p) for p in node["payloads"])
    )


def render(node: Any) -> Any:
    """Turn stored attributes into their REST form: a Payloads list holding one json/plain
    payload becomes its value; a map entry payload becomes ``{"data": value}``. User data
    only ever sits base64-encoded inside payloads, so these shapes cannot be forged."""
    if isinstance(node, dict):
        # The key tests first: every history read renders every node of its events.
        if "payloads" in node and len(node) == 1 and _is_payloads(node):
            payloads = node["payloads"]
            if not payloads:
                return None
            if len(payloads) == 1:
                ok, value = _json_plain_value(payloads[0])
                if ok:
                    return value
            return node
        if "metadata" in node and len(node) <= 2 and _is_payload(node):
            ok, value = _json_plain_value(node)
            return {"data": value} if ok else node
        return {key: render(value) for key, value in node.items()}
    if isinstance(node, list):
        return [render(value) for value in node]
    return node


def payload_size(payload: Payload) -> int:
    return len(payload.get("data", "")) * 3 // 4
