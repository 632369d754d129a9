"""Temporal answers a search attribute's payload with its registered type in its
metadata (``type: Keyword``) wherever it shows one — describe, list, history — and the
SDKs read their typed search attributes from it. The gateway keeps payloads as they were
sent; the gRPC door adds the type as it answers (REST shows values, not payloads)."""

from __future__ import annotations

from collections.abc import Iterable

from temporalio.api.common.v1 import message_pb2 as common
from temporalio.api.history.v1 import message_pb2 as history

from app.services import search_attributes
from app.services.dependencies import Namespaced

# The events whose attributes carry search attributes.
EVENT_ATTRIBUTES = (
    "workflow_execution_started_event_attributes",
    "upsert_workflow_search_attributes_event_attributes",
    "start_child_workflow_execution_initiated_event_attributes",
    "workflow_execution_continued_as_new_event_attributes",
)


async def registered_types(ctx: Namespaced, namespace: str) -> dict[str, str]:
    registered = await search_attributes.list_registered(ctx, namespace)
    return {**registered["system_attributes"], **registered["custom_attributes"]}


def type_fields(attributes: common.SearchAttributes, types: dict[str, str]) -> None:
    for name, payload in attributes.indexed_fields.items():
        kind = types.get(name)
        if kind is not None and "type" not in payload.metadata:
            payload.metadata["type"] = kind.encode()


def type_events(events: Iterable[history.HistoryEvent], types: dict[str, str]) -> None:
    for event in events:
        which = event.WhichOneof("attributes")
        if which in EVENT_ATTRIBUTES:
            attributes = getattr(event, which)
            if attributes.HasField("search_attributes"):
                type_fields(attributes.search_attributes, types)
