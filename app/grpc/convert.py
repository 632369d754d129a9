"""Between protobuf messages and the gateway's JSON shape (Temporal's proto-JSON with the
original field names; enum values without their type prefix, as the REST API writes
them). Payload bytes are base64 text in the JSON shape and raw bytes in protobuf, the
same bytes either way: nothing is re-encoded."""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from temporalio.api.common.v1 import message_pb2 as common

from app.errors import bad_request
from app.payloads import EncodedPayload, EncodedPayloads

M = TypeVar("M", bound=Message)
_AS_TEXT = {"google.protobuf.Timestamp", "google.protobuf.Duration"}


@cache
def _enum_prefix(enum: Any) -> str:
    """``EVENT_TYPE_`` for EventType: every value's name starts with it."""
    unspecified = next((v.name for v in enum.values if v.number == 0), "")
    return unspecified.removesuffix("UNSPECIFIED")


def _enum(enum: Any, value: Any) -> Any:
    if not isinstance(value, str) or value in enum.values_by_name:
        return value
    prefixed = _enum_prefix(enum) + value
    return prefixed if prefixed in enum.values_by_name else None


def _single(field: Any, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        if field.message_type.full_name in _AS_TEXT or not isinstance(value, dict):
            return value
        return _normalized(value, field.message_type)
    if field.type == FieldDescriptor.TYPE_ENUM:
        return _enum(field.enum_type, value)
    return value


def _normalized(data: dict[str, Any], descriptor: Any) -> dict[str, Any]:
    """``data`` with what the protobuf JSON parser would refuse taken out or completed:
    keys the message does not have and None values dropped, enum names prefixed."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        field = descriptor.fields_by_name.get(key)
        if field is None or value is None:
            continue
        entry = field.message_type
        if entry is not None and entry.GetOptions().map_entry:
            item = entry.fields_by_name["value"]
            out[key] = {k: _single(item, v) for k, v in value.items()}
        elif field.is_repeated:
            out[key] = [_single(field, v) for v in value if v is not None]
        else:
            converted = _single(field, value)
            if converted is not None:
                out[key] = converted
    return out


def from_json(data: dict[str, Any], message: M) -> M:
    """Fill ``message`` from the gateway's JSON shape of it."""
    json_format.ParseDict(_normalized(data, message.DESCRIPTOR), message)
    return message


def to_json(message: Message) -> dict[str, Any]:
    """The gateway's JSON shape of ``message`` (enum values keep their full names, which
    the request models accept)."""
    data: dict[str, Any] = json_format.MessageToDict(
        message, preserving_proto_field_name=True, use_integers_for_enums=False
    )
    return data


def payload_json(payload: common.Payload) -> dict[str, Any]:
    """A payload in the stored shape, always with both its keys: protobuf's JSON leaves
    out empty ones (a ``binary/null`` payload has no data), and REST shows every
    non-plain payload as ``{"metadata": {k: base64}, "data": base64}``."""
    shaped = to_json(payload)
    shaped.setdefault("metadata", {})
    shaped.setdefault("data", "")
    return shaped


def payloads_in(payloads: common.Payloads) -> EncodedPayloads | None:
    """A request's Payloads as the services take them: verbatim, or None when empty."""
    if not payloads.payloads:
        return None
    return EncodedPayloads([payload_json(p) for p in payloads.payloads])


def payload_map_in(fields: Any) -> dict[str, Any] | None:
    """A memo's, header's or search attributes' map, each value verbatim."""
    if not fields:
        return None
    return {"fields": {key: {"data": EncodedPayload(payload_json(p))} for key, p in fields.items()}}


def seconds_in(duration: Duration) -> str | None:
    """A set duration in the request models' text form; None when unset or zero."""
    if not duration.seconds and not duration.nanos:
        return None
    return f"{duration.seconds + duration.nanos / 1e9:.9f}".rstrip("0").rstrip(".") + "s"


def token_in(token: bytes) -> str:
    """A request's page token as the services take it, text. The tokens the gateway
    issues are ASCII; any other bytes are refused as a forged token is (INVALID_ARGUMENT),
    not left to fail decoding as INTERNAL, which the SDKs retry."""
    try:
        return token.decode("ascii")
    except UnicodeDecodeError:
        raise bad_request("next_page_token", "next_page_token is not a valid page token") from None
