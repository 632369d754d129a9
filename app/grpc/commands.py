"""A workflow task's completion from protobuf into the shapes the service and the engine
take: the command dicts the REST worker sends (proto-JSON with the original field names,
enum values by name, durations as ``"1.5s"``), with every payload wrapped as it came
(``EncodedPayload(s)``) so that the engine stores its bytes unchanged."""

from __future__ import annotations

import base64
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.command.v1 import message_pb2 as command_messages
from temporalio.api.common.v1 import message_pb2 as common
from temporalio.api.enums.v1 import query_pb2
from temporalio.api.failure.v1 import message_pb2 as failure_messages
from temporalio.api.query.v1 import message_pb2 as query_messages

from app.grpc.convert import payload_json, seconds_in, to_json
from app.payloads import EncodedPayload, EncodedPayloads

_PAYLOADS = "temporal.api.common.v1.Payloads"
_PAYLOAD = "temporal.api.common.v1.Payload"
_FAILURE = "temporal.api.failure.v1.Failure"
_DURATION = "google.protobuf.Duration"
# Payload maps: {"fields": {key: {"data": payload}}}, as the engine reads memos, headers
# and search attributes (SearchAttributes names its map indexed_fields).
_PAYLOAD_MAPS = {
    "temporal.api.common.v1.Memo": "fields",
    "temporal.api.common.v1.Header": "fields",
    "temporal.api.common.v1.SearchAttributes": "indexed_fields",
}
_INTEGERS = {
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED64,
}


def stored_failure(failure: failure_messages.Failure) -> dict[str, Any]:
    """A Failure in the stored JSON shape, every payload as it came (for what is stored
    without going through the engine's ``encode_failure``: a query's failure)."""
    shaped = to_json(failure)
    _normalise_payloads(shaped, failure)
    return shaped


def failure_in(failure: failure_messages.Failure) -> dict[str, Any]:
    """A Failure as the engine's ``encode_failure`` takes it: the stored JSON shape,
    with each level's application details wrapped verbatim (encode_failure stores those
    through encode_payloads; every other payload in it is already in the stored shape)."""
    shaped = stored_failure(failure)
    level: dict[str, Any] | None = shaped
    message: failure_messages.Failure | None = failure
    while level is not None and message is not None:
        info = level.get("application_failure_info")
        if isinstance(info, dict) and message.application_failure_info.details.payloads:
            info["details"] = EncodedPayloads(
                [payload_json(p) for p in message.application_failure_info.details.payloads]
            )
        has_cause = message.HasField("cause")
        level = level.get("cause") if has_cause else None
        message = message.cause if has_cause else None
    return shaped


def _normalise_payloads(shaped: Any, message: Message) -> None:
    """Every payload of ``shaped`` with both its keys (protobuf's JSON leaves out empty
    ones), as payload_json gives them."""
    for field, value in message.ListFields():
        target = shaped.get(field.name) if isinstance(shaped, dict) else None
        if target is None or field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            continue
        if field.message_type.full_name == _PAYLOAD:
            if field.is_repeated:
                shaped[field.name] = [payload_json(p) for p in value]
            else:
                shaped[field.name] = payload_json(value)
        elif field.is_repeated:
            for item, sub in zip(target, value, strict=False):
                _normalise_payloads(item, sub)
        else:
            _normalise_payloads(target, value)


def _value(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return message_in(value)
    if field.type == FieldDescriptor.TYPE_ENUM:
        enum = field.enum_type
        assert enum is not None
        known = enum.values_by_number.get(value)
        return known.name if known is not None else value
    if field.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64encode(value).decode()
    if field.type in _INTEGERS:
        return int(value)
    return value


def message_in(message: Message) -> Any:
    """One message as the engine takes it (see the module's docstring)."""
    name = message.DESCRIPTOR.full_name
    if name == _PAYLOADS:
        return EncodedPayloads([payload_json(p) for p in message.payloads])  # type: ignore[attr-defined]
    if name == _PAYLOAD:
        return EncodedPayload(payload_json(message))  # type: ignore[arg-type]
    if name == _DURATION:
        return seconds_in(message) or "0s"  # type: ignore[arg-type]
    if name == _FAILURE:
        return failure_in(message)  # type: ignore[arg-type]
    if name in _PAYLOAD_MAPS:
        fields = getattr(message, _PAYLOAD_MAPS[name])
        return {
            "fields": {key: {"data": EncodedPayload(payload_json(p))} for key, p in fields.items()}
        }
    shaped: dict[str, Any] = {}
    for field, value in message.ListFields():
        entry = field.message_type
        if entry is not None and entry.GetOptions().map_entry:
            item = entry.fields_by_name["value"]
            shaped[field.name] = {key: _value(item, v) for key, v in value.items()}
        elif field.is_repeated:
            shaped[field.name] = [_value(field, v) for v in value]
        else:
            shaped[field.name] = _value(field, value)
    return shaped


def commands_in(commands: Any) -> list[dict[str, Any]]:
    """A completion's commands as the REST worker sends them. A command the gateway does
    not serve keeps its type name, so that the service refuses it by name."""
    converted = []
    for command in commands:
        assert isinstance(command, command_messages.Command)
        shaped = message_in(command)
        shaped.pop("user_metadata", None)  # a UI summary: not stored by the gateway
        converted.append(shaped)
    return converted


def query_results_in(results: Any) -> dict[str, Any] | None:
    """The answers to the queries that rode on the task, as the service takes them."""
    if not results:
        return None
    answered: dict[str, Any] = {}
    for query_id, result in results.items():
        assert isinstance(result, query_messages.WorkflowQueryResult)
        answered[query_id] = {
            "result_type": result_type_name(result.result_type),
            "answer": payloads_or_none(result.answer) if result.HasField("answer") else None,
            "error_message": result.error_message,
            "failure": stored_failure(result.failure) if result.HasField("failure") else None,
        }
    return answered


def result_type_name(value: int) -> str:
    name = query_pb2.QueryResultType.Name(value)  # type: ignore[arg-type]
    return str(name).removeprefix("QUERY_RESULT_TYPE_")


def payloads_or_none(payloads: common.Payloads) -> EncodedPayloads | None:
    """Payloads verbatim; None when the message holds none."""
    if not payloads.payloads:
        return None
    return EncodedPayloads([payload_json(p) for p in payloads.payloads])
