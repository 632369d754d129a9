"""Search attribute types: which values fit which type, and the typed columns a value is
stored in. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.payloads import decode_payload, payload_size

# Temporal's defaults: limit.searchAttributesSizeOfValueLimit and ...TotalSizeLimit.
MAX_VALUE_BYTES = 2 * 1024
MAX_TOTAL_BYTES = 40 * 1024

TYPES = ("Keyword", "Text", "Int", "Double", "Bool", "Datetime", "KeywordList")
SYSTEM = {
    "WorkflowId": "Keyword",
    "RunId": "Keyword",
    "WorkflowType": "Keyword",
    "ExecutionStatus": "Keyword",
    "StartTime": "Datetime",
    "CloseTime": "Datetime",
    "ExecutionTime": "Datetime",
    "ExecutionDuration": "Int",
    "HistoryLength": "Int",
    "TaskQueue": "Keyword",
    "ParentWorkflowId": "Keyword",
    "ParentRunId": "Keyword",
    "RootWorkflowId": "Keyword",
    "RootRunId": "Keyword",
    "FirstRunId": "Keyword",
    "StateTransitionCount": "Int",
    "HistorySizeBytes": "Int",
}


# Temporal's predefined attributes: every namespace has them, typed, stored like custom ones.
PREDEFINED = {
    "TemporalChangeVersion": "KeywordList",
    "BinaryChecksums": "KeywordList",
    "BuildIds": "KeywordList",
    "BatcherNamespace": "Keyword",
    "BatcherUser": "Keyword",
    "TemporalScheduledStartTime": "Datetime",
    "TemporalScheduledById": "Keyword",
    "TemporalSchedulePaused": "Bool",
}
RESERVED = {"NamespaceId", "Memo", "MemoEncoding", "VisibilityTaskKey"}


def effective_types(registered: dict[str, str]) -> dict[str, str]:
    """The attribute types that apply in a namespace: predefined plus registered."""
    return {**PREDEFINED, **registered}


def typed(kind: str, value: Any) -> list[tuple[str, Any]] | None:
    """The (column, value) pairs a value of this type is stored as; None if it does not
    fit the type."""
    if kind in ("Keyword", "Text"):
        column = "keyword_value" if kind == "Keyword" else "text_value"
        return [(column, value)] if isinstance(value, str) else None
    if kind == "KeywordList":
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) for v in items):
            return None
        return [("keyword_value", v) for v in items]
    if kind == "Int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [("int_value", value)] if ok else None
    if kind == "Double":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [("double_value", float(value))] if ok else None
    if kind == "Bool":
        return [("bool_value", value)] if isinstance(value, bool) else None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return [("datetime_value", moment)] if moment.tzinfo else None
    return None


def check(types: dict[str, str], fields: dict[str, Any], field: str) -> str | None:
    """The first problem with these stored values (by registered type and by Temporal's
    size limits), or None."""
    total = 0
    for name, payload in fields.items():
        if name in SYSTEM:
            return f"{field}.{name}: {name!r} is a system search attribute and cannot be set"
        size = payload_size(payload)
        if size > MAX_VALUE_BYTES:
            return f"{field}.{name}: value is larger than {MAX_VALUE_BYTES} bytes"
        total += size + len(name)
        if total > MAX_TOTAL_BYTES:
            return f"{field}: search attributes are larger than {MAX_TOTAL_BYTES} bytes in all"
        kind = types.get(name)
        if kind is not None and typed(kind, decode_payload(payload)) is None:
            return f"{field}.{name}: value does not fit the attribute's type {kind}"
    return None
