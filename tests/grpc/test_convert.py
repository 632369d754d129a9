"""convert.from_json fills a message from the gateway's JSON shape exactly as protobuf's
own JSON parser reads the same data written in proto-JSON (enum names with their
prefix); keys the message does not have and None values are skipped."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.history.v1 import message_pb2 as history
from temporalio.api.workflowservice.v1 import request_response_pb2 as wf

from app.grpc.convert import from_json


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


PAYLOADS = {
    "payloads": [
        {
            "metadata": {"encoding": b64(b"binary/plain"), "x": b64(b"\x00\xff")},
            "data": b64(b"\x01"),
        }
    ]
}
STARTED = {
    "event_id": 1,
    "event_time": "2026-12-07T10:00:00.123456Z",
    "event_type": "WORKFLOW_EXECUTION_STARTED",
    "task_id": "1",  # 64-bit integers arrive as text too
    "workflow_execution_started_event_attributes": {
        "workflow_type": {"name": "W"},
        "task_queue": {"name": "q", "kind": "NORMAL"},
        "input": PAYLOADS,
        "workflow_run_timeout": "1.5s",
        "attempt": 2,
        "memo": {"fields": {"k": PAYLOADS["payloads"][0]}},
        "retry_policy": {"backoff_coefficient": 2, "non_retryable_error_types": ["E"]},
        "not_a_field": {"ignored": True},
        "cron_schedule": None,
    },
}
FAILED = {
    "event_id": 7,
    "event_time": "2026-12-07T10:00:01Z",
    "event_type": "EVENT_TYPE_ACTIVITY_TASK_FAILED",
    "activity_task_failed_event_attributes": {
        "failure": {
            "message": "boom",
            "application_failure_info": {"type": "E", "non_retryable": True},
            "cause": {"message": "inner", "timeout_failure_info": {"timeout_type": "HEARTBEAT"}},
        },
        "retry_state": "MAXIMUM_ATTEMPTS_REACHED",
        "scheduled_event_id": 5,
    },
}


def _proto_json(data: Any, prefixes: dict[str, str]) -> Any:
    """The same data as protobuf's parser wants it: no unknown keys or None, enum names
    prefixed."""
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            if value is None or key == "not_a_field":
                continue
            if key in prefixes and not value.startswith(prefixes[key]):
                value = prefixes[key] + value
            out[key] = _proto_json(value, prefixes)
        return out
    if isinstance(data, list):
        return [_proto_json(v, prefixes) for v in data]
    return data


PREFIXES = {
    "event_type": "EVENT_TYPE_",
    "kind": "TASK_QUEUE_KIND_",
    "timeout_type": "TIMEOUT_TYPE_",
    "retry_state": "RETRY_STATE_",
}


@pytest.mark.parametrize("event", [STARTED, FAILED], ids=["started", "failed"])
def test_an_event_reads_as_protobufs_parser_reads_it(event: dict[str, Any]) -> None:
    expected = json_format.ParseDict(_proto_json(event, PREFIXES), history.HistoryEvent())
    assert from_json(event, history.HistoryEvent()) == expected


def test_an_empty_message_is_present_and_an_unknown_enum_name_is_zero() -> None:
    response = from_json(
        {
            "execution_config": {"task_queue": {"name": "q", "kind": "NO_SUCH_KIND"}},
            "workflow_execution_info": {},
        },
        wf.DescribeWorkflowExecutionResponse(),
    )
    assert response.HasField("workflow_execution_info")
    assert response.execution_config.task_queue.kind == 0


def test_a_value_of_the_wrong_shape_is_left_out_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A REST worker's failure is stored as it came; a field protobuf cannot hold must
    not make the history unreadable over gRPC."""
    event = {
        "event_id": 7,
        "event_time": "2026-12-07T10:00:01Z",
        "event_type": "ACTIVITY_TASK_FAILED",
        "activity_task_failed_event_attributes": {
            "failure": {"message": "boom", "stack_trace": 5, "cause": "not an object"},
            "scheduled_event_id": 5,
        },
    }
    shown = from_json(event, history.HistoryEvent())
    failure = shown.activity_task_failed_event_attributes.failure
    assert failure.message == "boom"
    assert not failure.stack_trace and not failure.HasField("cause")
    assert shown.activity_task_failed_event_attributes.scheduled_event_id == 5
    assert "temporal.api.failure.v1.Failure.stack_trace" in caplog.text


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-08T03:37:57.383123Z",
        "2026-12-08T03:37:57Z",
        "1960-01-01T00:00:00.5Z",
        "2026-12-08T03:37:57.123456789Z",
        "2026-12-08T04:37:57.1+01:00",
        "0001-01-01T00:00:00Z",
    ],
)
def test_a_time_reads_as_protobuf_reads_it(text: str) -> None:
    """The fast path for event times gives what Timestamp.FromJsonString gives."""
    ours = from_json({"event_time": text}, history.HistoryEvent())
    assert ours.event_time == json_format.Parse(f'"{text}"', Timestamp())


def test_a_time_without_a_zone_is_left_out_as_protobuf_would_refuse_it() -> None:
    assert not from_json({"event_time": "2026-12-08T03:37:57"}, history.HistoryEvent()).HasField(
        "event_time"
    )
