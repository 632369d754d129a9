"""Between protobuf messages and the gateway's JSON shape (Temporal's proto-JSON with the
original field names; enum values without their type prefix, as the REST API writes
them). Payload bytes are base64 text in the JSON shape and raw bytes in protobuf, the
same bytes either way: nothing is re-encoded."""

from __future__ import annotations

import base64
import binascii
import logging
import re
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.common.v1 import message_pb2 as common

from app.errors import bad_request
from app.payloads import EncodedPayload, EncodedPayloads

M = TypeVar("M", bound=Message)
log = logging.getLogger("app.grpc")
_TIMESTAMP = "google.protobuf.Timestamp"
_AS_TEXT = {_TIMESTAMP, "google.protobuf.Duration"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FRACTION = re.compile(r"\.(\d+)")
_ENUM = FieldDescriptor.TYPE_ENUM
_BYTES = FieldDescriptor.TYPE_BYTES
_INTEGERS = {
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED64,
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_FIXED32,
    FieldDescriptor.TYPE_SFIXED32,
}
_FLOATS = {FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT}


@cache
def _enum_numbers(enum: Any) -> dict[str, int]:
    """An enum's numbers by name, each name with and without its type prefix
    (``EVENT_TYPE_WORKFLOW_EXECUTION_STARTED`` and ``WORKFLOW_EXECUTION_STARTED``)."""
    unspecified = next((v.name for v in enum.values if v.number == 0), "")
    prefix = unspecified.removesuffix("UNSPECIFIED")
    numbers = {v.name.removeprefix(prefix): v.number for v in enum.values}
    numbers.update({v.name: v.number for v in enum.values})
    return numbers


def _scalar(field: Any, value: Any) -> Any:
    kind = field.type
    if kind == _ENUM:
        return _enum_numbers(field.enum_type).get(value, 0) if isinstance(value, str) else value
    if kind == _BYTES:
        return base64.b64decode(value)
    if kind in _INTEGERS and isinstance(value, str):
        return int(value)  # proto-JSON writes 64-bit integers as text
    if kind in _FLOATS:
        return float(value)
    return value


def _set_timestamp(message: Timestamp, text: str) -> None:
    """``message.FromJsonString(text)``, ten times cheaper (it parses with strptime; every
    event of every history read has a time) where the text has at most microseconds
    and a zone, as the gateway writes times; anything else goes to FromJsonString."""
    fraction = _FRACTION.search(text)
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        moment = None
    if moment is None or moment.tzinfo is None or (fraction and len(fraction[1]) > 6):
        message.FromJsonString(text)
        return
    since = moment - _EPOCH
    message.seconds = since.days * 86400 + since.seconds
    message.nanos = since.microseconds * 1000


def _fill_message(message: Message, value: Any) -> None:
    name = message.DESCRIPTOR.full_name
    if name == _TIMESTAMP and isinstance(value, str):
        _set_timestamp(message, value)  # type: ignore[arg-type]
    elif name in _AS_TEXT:
        message.FromJsonString(value)  # type: ignore[attr-defined]
    else:
        message.SetInParent()
        _fill(message, value)


def _fill(message: Message, data: dict[str, Any]) -> None:
    """Set ``message``'s fields from the JSON shape: keys it does not have and None
    values are skipped, and so is a value of the wrong shape (a REST worker's failure
    may hold one), which is logged: one bad field must not make a whole history
    unreadable. Direct assignment, about five times cheaper than json_format.ParseDict
    on the same data (docs/performance.md)."""
    fields = message.DESCRIPTOR.fields_by_name
    for key, value in data.items():
        field = fields.get(key)
        if field is None or value is None:
            continue
        try:
            _fill_field(message, field, key, value)
        except (TypeError, ValueError, AttributeError, binascii.Error):
            message.ClearField(key)
            log.warning(
                "%s.%s: a stored %s that protobuf cannot hold is left out",
                message.DESCRIPTOR.full_name,
                key,
                type(value).__name__,
            )


def _fill_field(message: Message, field: Any, key: str, value: Any) -> None:
    entry = field.message_type
    if entry is not None and entry.GetOptions().map_entry:
        target = getattr(message, key)
        item = entry.fields_by_name["value"]
        if item.message_type is not None:
            for k, v in value.items():
                _fill_message(target[k], v)
        else:
            for k, v in value.items():
                target[k] = _scalar(item, v)
    elif entry is not None:
        if field.is_repeated:
            target = getattr(message, key)
            for v in value:
                if v is not None:
                    _fill_message(target.add(), v)
        else:
            _fill_message(getattr(message, key), value)
    elif field.is_repeated:
        getattr(message, key).extend(_scalar(field, v) for v in value if v is not None)
    else:
        setattr(message, key, _scalar(field, value))


def from_json(data: dict[str, Any], message: M) -> M:
    """Fill ``message`` from the gateway's JSON shape of it (Temporal's proto-JSON with
    the original field names; enum values with or without their type prefix)."""
    _fill(message, data)
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


def refuse_unserved(request: Message, served: frozenset[str]) -> None:
    """INVALID_ARGUMENT naming the first field the caller set that the door does not
    serve (Nexus links, callbacks, worker versioning, user metadata, priority, ...): a
    request is carried out as asked or refused, never partly ignored. Empty messages,
    lists and zero values count as not set (the SDKs send an empty ``priority``)."""
    for field, value in request.ListFields():
        if field.name in served:
            continue
        empty = isinstance(value, Message) and value.ByteSize() == 0
        if not empty:
            raise bad_request(field.name, f"{field.name} is not supported by this server")
