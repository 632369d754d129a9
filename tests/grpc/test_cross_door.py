"""One workflow, two doors: what one door writes the other reads, and a history read
through both is the same events. Payloads keep their bytes: whatever the SDK sends
(binary, null, protobuf JSON, extra metadata, a codec's ciphertext) comes back over gRPC
byte for byte, and REST shows it in the documented form (docs/architecture.md): a
json/plain payload with no other metadata as its JSON value, any other payload as
``{"metadata": {k: base64}, "data": base64}``, a Payloads list that is not one plain
JSON value as ``{"payloads": [...]}``."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Sequence
from typing import Any

import pytest
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import (
    Header,
    Memo,
    Payload,
    Payloads,
    WorkflowExecution,
    WorkflowType,
)
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
    SignalWithStartWorkflowExecutionRequest,
    SignalWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
)
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.converter import DataConverter, PayloadCodec
from temporalio.exceptions import TerminatedError

from tests.grpc.conftest import GrpcGateway
from tests.grpc.http_worker import (
    QUEUE,
    HttpWorker,
    complete_workflow,
    schedule_activity,
    wait_for_new_wait,
)

NS = "/api/v1/namespaces/default"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# ---------------------------------------------------------------- the documented REST form


def _is_plain(payload: Payload) -> bool:
    return dict(payload.metadata) == {"encoding": b"json/plain"}


def _raw(payload: Payload) -> dict[str, Any]:
    return {
        "metadata": {key: _b64(value) for key, value in payload.metadata.items()},
        "data": _b64(payload.data),
    }


def _payloads_form(payloads: Payloads) -> Any:
    if len(payloads.payloads) == 1 and _is_plain(payloads.payloads[0]):
        return json.loads(payloads.payloads[0].data)
    return {"payloads": [_raw(p) for p in payloads.payloads]} if payloads.payloads else None


def _single(field: FieldDescriptor, value: Any) -> Any:
    if field.message_type is not None:
        name = field.message_type.full_name
        if name == "temporal.api.common.v1.Payloads":
            return _payloads_form(value)
        if name == "temporal.api.common.v1.Payload":
            return {"data": json.loads(value.data)} if _is_plain(value) else _raw(value)
        if name in ("google.protobuf.Timestamp", "google.protobuf.Duration"):
            return value.ToJsonString()
        return rest_form(value)
    if field.enum_type is not None:
        enum = field.enum_type
        prefix = enum.values_by_number[0].name.removesuffix("UNSPECIFIED")
        return enum.values_by_number[value].name.removeprefix(prefix)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return _b64(value)
    return value


def rest_form(message: Message) -> dict[str, Any]:
    """A protobuf message as the REST door documents it: proto field names, enum values
    without their type's prefix, integers as numbers, payloads in their shorthand."""
    out: dict[str, Any] = {}
    for field, value in message.ListFields():
        entry = field.message_type
        if entry is not None and entry.GetOptions().map_entry:
            item = entry.fields_by_name["value"]
            out[field.name] = {k: _single(item, v) for k, v in value.items()}
        elif field.is_repeated:
            out[field.name] = [_single(field, v) for v in value]
        else:
            out[field.name] = _single(field, value)
    return out


def without_defaults(node: Any) -> Any:
    """Proto3 cannot tell an unset field from its zero value: drop both."""
    if isinstance(node, dict):
        kept = {k: without_defaults(v) for k, v in node.items()}
        return {k: v for k, v in kept.items() if v not in (None, 0, "", False, [], {})}
    if isinstance(node, list):
        return [without_defaults(v) for v in node]
    return node


# ---------------------------------------------------------------- reading through both doors


async def grpc_events(client: Client, workflow_id: str, run_id: str = "") -> list[HistoryEvent]:
    events: list[HistoryEvent] = []
    token = b""
    while True:
        page = await client.workflow_service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace="default",
                execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
                next_page_token=token,
            )
        )
        events += page.history.events
        token = page.next_page_token
        if not token:
            return events


async def rest_events(gateway: GrpcGateway, workflow_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    token = ""
    while True:
        response = await gateway.http.get(
            f"{NS}/workflows/{workflow_id}/history", params={"next_page_token": token}
        )
        assert response.status_code == 200, response.text
        events += response.json()["history"]
        token = response.json()["next_page_token"]
        if not token:
            return events


async def assert_same_history(gateway: GrpcGateway, client: Client, workflow_id: str) -> None:
    over_grpc = await grpc_events(client, workflow_id)
    over_rest = await rest_events(gateway, workflow_id)
    assert [e.event_id for e in over_grpc] == [e["event_id"] for e in over_rest]
    assert [without_defaults(rest_form(e)) for e in over_grpc] == [
        without_defaults(e) for e in over_rest
    ]


def _attributes(event: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = event[f"{event['event_type'].lower()}_event_attributes"]
    return value


# ---------------------------------------------------------------- doors crossed


async def test_start_over_grpc_signal_over_rest(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    worker = HttpWorker(grpc_gateway)
    handle = await client.start_workflow("Cart", {"user": 7}, id="cart", task_queue=QUEUE)
    signalled = await grpc_gateway.http.post(
        f"{NS}/workflows/cart/signal",
        json={"signal_name": "add", "input": {"sku": "A-1", "qty": 2}, "identity": "rest"},
    )
    assert signalled.status_code == 200, signalled.text

    events = await grpc_events(client, "cart")
    signal = events[-1].workflow_execution_signaled_event_attributes
    assert signal.signal_name == "add" and signal.identity == "rest"
    assert await client.data_converter.decode(signal.input.payloads) == [{"sku": "A-1", "qty": 2}]
    # REST's JSON value is stored as the SDK's default converter encodes it.
    assert signal.input.payloads[0].data == b'{"sku":"A-1","qty":2}'

    task = await worker.workflow_task()
    await worker.complete(task, complete_workflow({"items": 1}))
    assert await handle.result() == {"items": 1}
    await assert_same_history(grpc_gateway, client, "cart")


async def test_start_over_rest_then_signal_query_terminate_over_grpc(
    grpc_gateway: GrpcGateway,
) -> None:
    client = await grpc_gateway.client()
    worker = HttpWorker(grpc_gateway)
    started = await grpc_gateway.http.post(
        f"{NS}/workflows",
        json={
            "workflow_id": "order",
            "workflow_type": {"name": "Order"},
            "task_queue": QUEUE,
            "input": {"order_id": "12345"},
            "memo": {"fields": {"channel": {"data": "web"}}},
        },
    )
    assert started.status_code == 200, started.text
    run_id = started.json()["run_id"]

    handle = client.get_workflow_handle("order")
    described = await handle.describe()
    assert described.run_id == run_id and described.workflow_type == "Order"
    assert await described.memo() == {"channel": "web"}

    await handle.signal("approve", "manager")
    task = await worker.workflow_task()
    assert task["history"][0]["workflow_execution_started_event_attributes"]["input"] == {
        "order_id": "12345"
    }
    signal = [e for e in task["history"] if e["event_type"] == "WORKFLOW_EXECUTION_SIGNALED"]
    assert [_attributes(e)["input"] for e in signal] == ["manager"]
    await worker.complete(task, schedule_activity("charge", "Charge", 59.98))

    before = grpc_gateway.clock.waits_started
    asking = asyncio.create_task(handle.query("status"))
    await wait_for_new_wait(grpc_gateway.clock, before)
    query_task = await worker.workflow_task()
    assert query_task["query"]["query_type"] == "status"
    await worker.answer_query(query_task, {"state": "charging"})
    assert await asking == {"state": "charging"}

    await handle.terminate(reason="fraud suspected")
    rest = (await grpc_gateway.http.get(f"{NS}/workflows/order")).json()
    assert rest["execution_info"]["status"] == "TERMINATED"
    outcome = (await grpc_gateway.http.get(f"{NS}/workflows/order/result")).json()
    assert outcome["status"] == "TERMINATED"
    history = await rest_events(grpc_gateway, "order")
    assert history[-1]["event_type"] == "WORKFLOW_EXECUTION_TERMINATED"
    assert _attributes(history[-1])["reason"] == "fraud suspected"
    with pytest.raises(WorkflowFailureError) as raised:
        await handle.result()
    assert isinstance(raised.value.cause, TerminatedError)
    await assert_same_history(grpc_gateway, client, "order")


async def test_one_history_through_both_doors(grpc_gateway: GrpcGateway) -> None:
    """Every kind of event a short run writes, from either door: the same ids, types and
    attributes (modulo the payload shorthand)."""
    client = await grpc_gateway.client()
    worker = HttpWorker(grpc_gateway)
    handle = await client.start_workflow(
        "Order",
        {"order": 1},
        id="both",
        task_queue=QUEUE,
        memo={"team": "payments", "bin": b"\x00\x01"},
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    await handle.signal("raw", args=[b"\xff\xfe", None])
    task = await worker.workflow_task()
    await worker.complete(task, schedule_activity("a1", "Charge", {"amount": 5}))
    activity = await worker.activity_task()
    completed = await grpc_gateway.http.post(
        f"{NS}/activities/complete",
        json={"task_token": activity["task_token"], "result": {"charged": True}},
    )
    assert completed.status_code == 200, completed.text
    await grpc_gateway.http.post(f"{NS}/workflows/both/signal", json={"signal_name": "rest"})
    await handle.cancel()
    task = await worker.workflow_task()
    await worker.complete(task, complete_workflow(["done", 1]))
    assert await handle.result() == ["done", 1]

    events = await grpc_events(client, "both")
    assert [EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in events] == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        "ACTIVITY_TASK_SCHEDULED",
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_COMPLETED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_EXECUTION_CANCEL_REQUESTED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_EXECUTION_COMPLETED",
    ]
    await assert_same_history(grpc_gateway, client, "both")


async def test_a_long_history_pages_the_same_through_both_doors(
    grpc_gateway: GrpcGateway,
) -> None:
    client = await grpc_gateway.client()
    handle = await client.start_workflow("Chatty", id="chatty", task_queue=QUEUE)
    for n in range(300):
        await handle.signal("tick", n)
    history = await handle.fetch_history()
    assert [e.event_id for e in history.events] == list(range(1, 303))
    await assert_same_history(grpc_gateway, client, "chatty")


# ---------------------------------------------------------------- payloads byte for byte

# One of each kind an SDK sends, as the SDK's encoders write them.
BINARY = Payload(metadata={"encoding": b"binary/plain"}, data=b"\x00\xffraw\x80bytes")
NULL = Payload(metadata={"encoding": b"binary/null"})
PROTO = Payload(
    metadata={
        "encoding": b"json/protobuf",
        "messageType": b"temporal.api.common.v1.WorkflowExecution",
    },
    data=b'{"workflowId":"w-1","runId":"r-1"}',
)
PLAIN_EXTRA = Payload(
    metadata={"encoding": b"json/plain", "type": b"Keyword", "trace-id": b"\x01\x02\xff"},
    data=b'"tagged"',
)
# json/plain whose bytes are not what a JSON writer would write again: kept as sent.
PLAIN_LOOSE = Payload(metadata={"encoding": b"json/plain"}, data=b'{ "price" : 1.50 ,"n":1e2}')
PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=b'{"a":1}')
KINDS = {
    "binary": BINARY,
    "null": NULL,
    "proto": PROTO,
    "plain-extra": PLAIN_EXTRA,
    "plain-loose": PLAIN_LOOSE,
    "plain": PLAIN,
}


class XorCodec(PayloadCodec):
    """An encryption codec as the SDK's samples write one: the whole payload serialized,
    its bytes scrambled, under ``binary/encrypted`` with the key's id."""

    KEY = b"gateway-test-key"

    @classmethod
    def _xor(cls, data: bytes) -> bytes:
        return bytes(b ^ cls.KEY[i % len(cls.KEY)] for i, b in enumerate(data))

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            Payload(
                metadata={"encoding": b"binary/encrypted", "encryption-key-id": b"test-key"},
                data=self._xor(p.SerializeToString()),
            )
            for p in payloads
        ]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for payload in payloads:
            if payload.metadata.get("encoding") != b"binary/encrypted":
                out.append(payload)
                continue
            decoded = Payload()
            decoded.ParseFromString(self._xor(payload.data))
            out.append(decoded)
        return out


async def test_start_input_signal_memo_and_header_keep_their_bytes(
    grpc_gateway: GrpcGateway,
) -> None:
    client = await grpc_gateway.client()
    sent = list(KINDS.values())
    memo = {name: payload for name, payload in KINDS.items()}
    await client.workflow_service.start_workflow_execution(
        StartWorkflowExecutionRequest(
            namespace="default",
            workflow_id="bytes",
            workflow_type=WorkflowType(name="Bytes"),
            task_queue=TaskQueue(name=QUEUE),
            input=Payloads(payloads=sent),
            memo=Memo(fields=memo),
            header=Header(fields={"auth": BINARY, "ctx": PLAIN_EXTRA}),
            request_id="start-bytes",
        )
    )
    for name, payload in KINDS.items():
        await client.workflow_service.signal_workflow_execution(
            SignalWorkflowExecutionRequest(
                namespace="default",
                workflow_execution=WorkflowExecution(workflow_id="bytes"),
                signal_name=name,
                input=Payloads(payloads=[payload]),
                request_id=f"signal-{name}",
            )
        )
    await client.workflow_service.terminate_workflow_execution(
        TerminateWorkflowExecutionRequest(
            namespace="default",
            workflow_execution=WorkflowExecution(workflow_id="bytes"),
            reason="done",
            details=Payloads(payloads=[BINARY, NULL]),
        )
    )

    events = await grpc_events(client, "bytes")
    started = events[0].workflow_execution_started_event_attributes
    assert list(started.input.payloads) == sent
    assert dict(started.memo.fields) == memo
    assert dict(started.header.fields) == {"auth": BINARY, "ctx": PLAIN_EXTRA}
    signals = {
        e.workflow_execution_signaled_event_attributes.signal_name: list(
            e.workflow_execution_signaled_event_attributes.input.payloads
        )
        for e in events
        if e.HasField("workflow_execution_signaled_event_attributes")
    }
    assert signals == {name: [payload] for name, payload in KINDS.items()}
    terminated = events[-1].workflow_execution_terminated_event_attributes
    assert list(terminated.details.payloads) == [BINARY, NULL]
    described = await client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace="default", execution=WorkflowExecution(workflow_id="bytes")
        )
    )
    assert dict(described.workflow_execution_info.memo.fields) == memo
    (listed,) = [w async for w in client.list_workflows("WorkflowId = 'bytes'")]
    assert dict(listed.raw_info.memo.fields) == memo

    # REST: the documented shorthand, each payload's bytes in base64.
    rest = await rest_events(grpc_gateway, "bytes")
    rest_started = _attributes(rest[0])
    assert rest_started["input"] == {"payloads": [_raw(p) for p in sent]}
    assert rest_started["memo"] == {
        "fields": {
            **{name: _raw(p) for name, p in KINDS.items()},
            "plain-loose": {"data": {"price": 1.5, "n": 100.0}},
            "plain": {"data": {"a": 1}},
        }
    }
    assert rest_started["header"] == {"fields": {"auth": _raw(BINARY), "ctx": _raw(PLAIN_EXTRA)}}
    rest_signals = {
        _attributes(e)["signal_name"]: _attributes(e)["input"]
        for e in rest
        if e["event_type"] == "WORKFLOW_EXECUTION_SIGNALED"
    }
    assert rest_signals == {
        "binary": {"payloads": [_raw(BINARY)]},
        "null": {"payloads": [_raw(NULL)]},
        "proto": {"payloads": [_raw(PROTO)]},
        "plain-extra": {"payloads": [_raw(PLAIN_EXTRA)]},
        "plain-loose": {"price": 1.5, "n": 100.0},
        "plain": {"a": 1},
    }
    assert _raw(NULL) == {"metadata": {"encoding": _b64(b"binary/null")}, "data": ""}
    described_rest = (await grpc_gateway.http.get(f"{NS}/workflows/bytes")).json()
    assert described_rest["execution_info"]["memo"] == rest_started["memo"]
    await assert_same_history(grpc_gateway, client, "bytes")


async def test_signal_with_start_keeps_its_bytes(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    await client.workflow_service.signal_with_start_workflow_execution(
        SignalWithStartWorkflowExecutionRequest(
            namespace="default",
            workflow_id="sws-bytes",
            workflow_type=WorkflowType(name="Bytes"),
            task_queue=TaskQueue(name=QUEUE),
            input=Payloads(payloads=[PROTO, NULL]),
            signal_name="go",
            signal_input=Payloads(payloads=[BINARY, PLAIN_LOOSE]),
            memo=Memo(fields={"k": PLAIN_EXTRA}),
            request_id="sws-bytes",
        )
    )
    started, signalled = (await grpc_events(client, "sws-bytes"))[:2]
    attributes = started.workflow_execution_started_event_attributes
    assert list(attributes.input.payloads) == [PROTO, NULL]
    assert dict(attributes.memo.fields) == {"k": PLAIN_EXTRA}
    signal = signalled.workflow_execution_signaled_event_attributes
    assert list(signal.input.payloads) == [BINARY, PLAIN_LOOSE]
    await assert_same_history(grpc_gateway, client, "sws-bytes")


async def test_an_encryption_codec_round_trips(grpc_gateway: GrpcGateway) -> None:
    converter = DataConverter(payload_codec=XorCodec())
    client = await grpc_gateway.client(data_converter=converter)
    plain_client = await grpc_gateway.client()
    worker = HttpWorker(grpc_gateway)
    args = [{"card": "4111 1111 1111 1111"}, b"\x00secret", None, "note"]
    encrypted_input = await converter.encode(args)
    assert all(p.metadata["encoding"] == b"binary/encrypted" for p in encrypted_input)
    handle = await client.start_workflow(
        "Secret", args=args, id="secret", task_queue=QUEUE, memo={"owner": "alice"}
    )
    await handle.signal("more", {"pin": 1234})

    events = await grpc_events(plain_client, "secret")
    started = events[0].workflow_execution_started_event_attributes
    # Exactly the codec's bytes, metadata included: nothing decoded or re-encoded.
    assert list(started.input.payloads) == encrypted_input
    assert started.memo.fields["owner"] == (await converter.encode(["alice"]))[0]
    signal = events[-1].workflow_execution_signaled_event_attributes
    assert list(signal.input.payloads) == await converter.encode([{"pin": 1234}])
    # The codec's client reads its values back; a client without it sees ciphertext.
    history = await handle.fetch_history()
    decoded = await converter.decode(
        history.events[0].workflow_execution_started_event_attributes.input.payloads
    )
    assert decoded == args
    assert await (await handle.describe()).memo() == {"owner": "alice"}

    # REST shows the ciphertext as it is stored: it cannot read it, and does not try.
    rest = await rest_events(grpc_gateway, "secret")
    assert _attributes(rest[0])["input"] == {"payloads": [_raw(p) for p in encrypted_input]}
    assert _attributes(rest[0])["memo"]["fields"]["owner"] == _raw(started.memo.fields["owner"])
    task = await worker.workflow_task()
    assert task["history"][0]["workflow_execution_started_event_attributes"]["input"] == {
        "payloads": [_raw(p) for p in encrypted_input]
    }
    # A REST worker's plain JSON result passes the codec untouched (it is not encrypted).
    await worker.complete(task, complete_workflow({"ok": True}))
    assert await handle.result() == {"ok": True}
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    await assert_same_history(grpc_gateway, client, "secret")
