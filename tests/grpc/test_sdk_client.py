"""The official Python SDK's client against the gateway's gRPC door, with the workflow
run by a scripted worker on the REST worker protocol (tests/grpc/http_worker.py): every
client operation, and every domain error as the SDK's typed exception."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import EventType, IndexedValueType, RetryState
from temporalio.api.errordetails.v1 import NamespaceNotFoundFailure, NotFoundFailure
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    GetWorkflowExecutionHistoryRequest,
    ListNamespacesRequest,
    ListWorkflowExecutionsRequest,
    StartWorkflowExecutionRequest,
)
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.common import (
    QueryRejectCondition,
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
)
from temporalio.exceptions import (
    ApplicationError,
    CancelledError,
    TerminatedError,
    TimeoutError,
    TimeoutType,
    WorkflowAlreadyStartedError,
)
from temporalio.service import RPCError, RPCStatusCode

from app.services.timers import TimerProcessor
from tests.grpc.conftest import GrpcGateway
from tests.grpc.http_worker import (
    QUEUE,
    HttpWorker,
    cancel_workflow,
    complete_workflow,
    continue_as_new,
    fail_workflow,
    schedule_activity,
    wait_for_new_wait,
)

NS = "/api/v1/namespaces/default"


async def _rest_history(gateway: GrpcGateway, workflow_id: str) -> list[dict[str, Any]]:
    response = await gateway.http.get(f"{NS}/workflows/{workflow_id}/history")
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["history"]
    return events


def _attributes(event: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = event[f"{event['event_type'].lower()}_event_attributes"]
    return value


async def _types(handle: WorkflowHandle[Any, Any]) -> list[str]:
    return [
        EventType.Name(e.event_type).removeprefix("EVENT_TYPE_")
        async for e in handle.fetch_history_events()
    ]


async def _idle(client: Client, worker: HttpWorker, workflow_id: str) -> WorkflowHandle[Any, Any]:
    """A run whose first workflow task completed with no commands: nothing pending."""
    handle = await client.start_workflow("Idle", id=workflow_id, task_queue=QUEUE)
    await worker.complete(await worker.workflow_task())
    return handle


async def test_execute_workflow_run_by_an_http_worker(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    worker = HttpWorker(grpc_gateway)
    executing = asyncio.create_task(
        client.execute_workflow("Greet", "world", id="greet", task_queue=QUEUE)
    )
    task = await worker.workflow_task()
    assert task["workflow_type"] == {"name": "Greet"}
    started = _attributes(task["history"][0])
    assert started["input"] == "world"
    assert started["task_queue"]["name"] == QUEUE
    await worker.complete(task, complete_workflow({"greeting": "hello world"}))
    assert await executing == {"greeting": "hello world"}

    handle = client.get_workflow_handle("greet")
    assert await handle.result() == {"greeting": "hello world"}
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED


async def test_signal_reaches_the_worker(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    worker = HttpWorker(grpc_gateway)
    handle = await _idle(client, worker, "signalled")
    await handle.signal("add", {"item": "book", "qty": 2})
    task = await worker.workflow_task()
    signalled = task["history"][-3]
    assert signalled["event_type"] == "WORKFLOW_EXECUTION_SIGNALED"
    assert _attributes(signalled)["signal_name"] == "add"
    assert _attributes(signalled)["input"] == {"item": "book", "qty": 2}
    await worker.complete(task, complete_workflow("added"))
    assert await handle.result() == "added"


async def test_signal_with_start(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    worker = HttpWorker(grpc_gateway)
    handle = await client.start_workflow(
        "Cart", id="cart", task_queue=QUEUE, start_signal="add", start_signal_args=["apple"]
    )
    assert await _types(handle) == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    # A second signal-with-start signals the running run instead of starting another.
    again = await client.start_workflow(
        "Cart", id="cart", task_queue=QUEUE, start_signal="add", start_signal_args=["pear"]
    )
    assert again.result_run_id == handle.result_run_id
    history = await _rest_history(grpc_gateway, "cart")
    signals = [e for e in history if e["event_type"] == "WORKFLOW_EXECUTION_SIGNALED"]
    assert [_attributes(e)["input"] for e in signals] == ["apple", "pear"]
    await worker.run_to_completion(["apple", "pear"])
    assert await handle.result() == ["apple", "pear"]


async def test_query_answered_by_the_http_worker(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    worker = HttpWorker(grpc_gateway)
    handle = await _idle(client, worker, "queried")
    before = grpc_gateway.clock.waits_started
    asking = asyncio.create_task(handle.query("status", "verbose"))
    await wait_for_new_wait(grpc_gateway.clock, before)
    task = await worker.workflow_task()
    assert task["query"] == {"query_type": "status", "query_args": "verbose"}
    await worker.answer_query(task, {"status": "waiting", "items": 0})
    assert await asking == {"status": "waiting", "items": 0}


async def test_query_rides_on_a_pending_workflow_task(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    worker = HttpWorker(grpc_gateway)
    handle = await client.start_workflow("Idle", id="attached", task_queue=QUEUE)
    before = grpc_gateway.clock.waits_started
    asking = asyncio.create_task(handle.query("status"))
    await wait_for_new_wait(grpc_gateway.clock, before)
    task = await worker.workflow_task()
    ((query_id, query),) = task["queries"].items()
    assert query["query_type"] == "status"
    await worker.complete(
        task, query_results={query_id: {"result_type": "ANSWERED", "answer": "started"}}
    )
    assert await asking == "started"


async def test_describe(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    worker = HttpWorker(grpc_gateway)
    handle = await client.start_workflow(
        "Shipping", {"order": 7}, id="described", task_queue=QUEUE, memo={"owner": "ops"}
    )
    described = await handle.describe()
    assert described.status == WorkflowExecutionStatus.RUNNING
    assert described.workflow_type == "Shipping"
    assert described.task_queue == QUEUE
    assert described.id == "described" and described.run_id == handle.result_run_id
    assert await described.memo() == {"owner": "ops"}
    assert described.raw_description.pending_workflow_task.attempt == 1

    await worker.complete(await worker.workflow_task(), schedule_activity("ship-1", "Ship", 7))
    described = await handle.describe()
    (pending,) = described.raw_description.pending_activities
    assert pending.activity_id == "ship-1"
    assert pending.activity_type.name == "Ship"
    assert pending.attempt == 1
    assert not described.raw_description.HasField("pending_workflow_task")


async def test_list_and_count(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    worker = HttpWorker(grpc_gateway)
    for n in range(3):
        await client.start_workflow("Listed", id=f"listed-{n}", task_queue=QUEUE)
    await client.start_workflow("Other", id="other", task_queue=QUEUE)
    await worker.run_to_completion("done")  # listed-0, the oldest task

    listed = [w async for w in client.list_workflows("WorkflowType = 'Listed'")]
    assert sorted(w.id for w in listed) == ["listed-0", "listed-1", "listed-2"]
    assert {w.id: w.status for w in listed}["listed-0"] == WorkflowExecutionStatus.COMPLETED
    assert all(w.workflow_type == "Listed" and w.task_queue == QUEUE for w in listed)
    running = [w.id async for w in client.list_workflows("ExecutionStatus = 'Running'")]
    assert sorted(running) == ["listed-1", "listed-2", "other"]
    paged = [w.id async for w in client.list_workflows(page_size=1)]
    assert sorted(paged) == ["listed-0", "listed-1", "listed-2", "other"]
    limited = [w.id async for w in client.list_workflows(limit=2)]
    assert len(limited) == 2

    assert (await client.count_workflows()).count == 4
    assert (await client.count_workflows("WorkflowType = 'Listed'")).count == 3
    grouped = await client.count_workflows("GROUP BY ExecutionStatus")
    assert grouped.count == 4
    assert {tuple(g.group_values): g.count for g in grouped.groups} == {
        ("Running",): 3,
        ("Completed",): 1,
    }


async def test_cancel(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    worker = HttpWorker(grpc_gateway)
    handle = await _idle(client, worker, "cancelled")
    await handle.cancel()
    task = await worker.workflow_task()
    requested = task["history"][-3]
    assert requested["event_type"] == "WORKFLOW_EXECUTION_CANCEL_REQUESTED"
    await worker.complete(task, cancel_workflow())
    with pytest.raises(WorkflowFailureError) as raised:
        await handle.result()
    assert isinstance(raised.value.cause, CancelledError)
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED


async def test_terminate_and_fetch_history(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    handle = await client.start_workflow("Doomed", id="doomed", task_queue=QUEUE)
    await handle.signal("poke")
    await handle.terminate("detail-1", 2, reason="enough")
    with pytest.raises(WorkflowFailureError) as raised:
        await handle.result()
    cause = raised.value.cause
    assert isinstance(cause, TerminatedError)
    assert cause.message == "enough"
    assert (await handle.describe()).status == WorkflowExecutionStatus.TERMINATED

    history = await handle.fetch_history()
    assert history.workflow_id == "doomed"
    assert [EventType.Name(e.event_type) for e in history.events] == [
        "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
        "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED",
        "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED",
        "EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED",
    ]
    assert [e.event_id for e in history.events] == [1, 2, 3, 4]
    assert all(e.HasField("event_time") for e in history.events)
    terminated = history.events[-1].workflow_execution_terminated_event_attributes
    assert terminated.reason == "enough"
    details = await client.data_converter.decode(terminated.details.payloads)
    assert details == ["detail-1", 2]
    # The history round-trips through the SDK's own JSON form.
    assert history.to_json_dict()["events"][0]["eventId"] == "1"


async def test_result_follows_continue_as_new(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    worker = HttpWorker(grpc_gateway)
    handle = await client.start_workflow("Chain", 1, id="chain", task_queue=QUEUE)
    waiting = asyncio.create_task(handle.result())
    first = await worker.workflow_task()
    await worker.complete(first, continue_as_new("Chain", input=2))
    second = await worker.workflow_task()
    second_run = second["workflow_execution"]["run_id"]
    assert second_run != handle.result_run_id
    assert _attributes(second["history"][0])["input"] == 2
    await worker.complete(second, complete_workflow("run 2 done"))
    assert await waiting == "run 2 done"

    first_run = client.get_workflow_handle("chain", run_id=handle.result_run_id)
    assert await first_run.result() == "run 2 done"
    assert (await first_run.describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW
    closing = [e async for e in first_run.fetch_history_events()][-1]
    attributes = closing.workflow_execution_continued_as_new_event_attributes
    assert attributes.new_execution_run_id == second_run
    assert (await client.get_workflow_handle("chain").describe()).run_id == second_run


async def test_result_of_a_failed_run(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    worker = HttpWorker(grpc_gateway)
    handle = await client.start_workflow("Order", id="failing", task_queue=QUEUE)
    await worker.complete(await worker.workflow_task(), fail_workflow("card declined"))
    with pytest.raises(WorkflowFailureError) as raised:
        await handle.result()
    cause = raised.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.message == "card declined"
    assert cause.type == "OrderRejected"
    assert cause.non_retryable
    closing = (await handle.fetch_history()).events[-1]
    failed = closing.workflow_execution_failed_event_attributes
    assert failed.retry_state == RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET
    assert (await handle.describe()).status == WorkflowExecutionStatus.FAILED


async def test_result_of_a_timed_out_run(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    handle = await client.start_workflow(
        "Slow", id="slow", task_queue=QUEUE, execution_timeout=timedelta(seconds=30)
    )
    grpc_gateway.clock.advance(31)
    timers = grpc_gateway.app.state.ctx.loops[0]
    assert isinstance(timers, TimerProcessor)
    await timers.run_once()
    with pytest.raises(WorkflowFailureError) as raised:
        await handle.result()
    cause = raised.value.cause
    assert isinstance(cause, TimeoutError)
    assert cause.type == TimeoutType.START_TO_CLOSE
    assert (await handle.describe()).status == WorkflowExecutionStatus.TIMED_OUT


async def test_result_waits_across_long_poll_windows(grpc_gateway: GrpcGateway) -> None:
    """The server ends each wait with an empty page whose token continues it; the SDK
    asks again with that token until the run closes."""
    client = await grpc_gateway.client()
    worker = HttpWorker(grpc_gateway)
    await client.start_workflow("Patient", id="patient", task_queue=QUEUE)
    clock = grpc_gateway.clock
    before = clock.waits_started
    waiting = asyncio.create_task(client.get_workflow_handle("patient").result())
    await wait_for_new_wait(clock, before)
    for _ in range(3):  # each window ends; each time the SDK waits again
        before = clock.waits_started
        clock.advance(grpc_gateway.app.state.ctx.settings.history_long_poll_seconds)
        await wait_for_new_wait(clock, before)
    assert not waiting.done()
    await worker.run_to_completion("at last")
    assert await waiting == "at last"


async def test_cancel_and_terminate_reach_the_chains_current_run(
    grpc_gateway: GrpcGateway,
) -> None:
    """The handle start_workflow returns names the chain's first run: after a
    continue-as-new its cancel and terminate act on the current run of that chain."""
    client = await grpc_gateway.client()
    worker = HttpWorker(grpc_gateway)
    handle = await client.start_workflow("Chain", id="chain-ops", task_queue=QUEUE)
    await worker.complete(await worker.workflow_task(), continue_as_new("Chain"))
    current = await client.get_workflow_handle("chain-ops").describe()
    assert current.run_id != handle.result_run_id
    await handle.cancel()
    run_two = client.get_workflow_handle("chain-ops", run_id=current.run_id)
    assert "WORKFLOW_EXECUTION_CANCEL_REQUESTED" in await _types(run_two)
    await handle.terminate(reason="stop the chain")
    assert (await run_two.describe()).status == WorkflowExecutionStatus.TERMINATED
    with pytest.raises(WorkflowFailureError) as raised:
        await handle.result()
    assert isinstance(raised.value.cause, TerminatedError)


async def test_already_started(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    handle = await client.start_workflow("Once", id="once", task_queue=QUEUE)
    with pytest.raises(WorkflowAlreadyStartedError) as raised:
        await client.start_workflow("Once", id="once", task_queue=QUEUE)
    assert raised.value.run_id == handle.result_run_id
    assert raised.value.workflow_id == "once"


async def _not_found(operation: Any) -> RPCError:
    """NOT_FOUND, which the SDK does not retry (it retries UNKNOWN and INTERNAL)."""
    with pytest.raises(RPCError) as raised:
        await operation
    assert raised.value.status == RPCStatusCode.NOT_FOUND, raised.value
    return raised.value


async def test_unknown_workflow_is_not_found(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    missing = client.get_workflow_handle("missing")
    error = await _not_found(missing.describe())
    assert error.grpc_status.details[0].Is(NotFoundFailure.DESCRIPTOR)
    await _not_found(missing.signal("poke"))
    await _not_found(missing.cancel())
    await _not_found(missing.terminate())
    await _not_found(missing.query("status"))
    await _not_found(missing.fetch_history())
    await _not_found(missing.result())
    existing = await client.start_workflow("Known", id="known", task_queue=QUEUE)
    other_run = client.get_workflow_handle("known", run_id="00000000-0000-4000-8000-000000000000")
    await _not_found(other_run.describe())
    # A closed run cannot be signalled or terminated: NotFound, as Temporal answers.
    await existing.terminate()
    await _not_found(existing.signal("poke"))
    await _not_found(existing.terminate())


async def test_unknown_namespace_is_not_found(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client(namespace="nowhere")
    error = await _not_found(client.start_workflow("Any", id="any", task_queue=QUEUE))
    assert "nowhere" in error.message
    detail = NamespaceNotFoundFailure()
    assert error.grpc_status.details[0].Unpack(detail) and detail.namespace == "nowhere"
    await _not_found(client.get_workflow_handle("any").describe())
    await _not_found(client.get_workflow_handle("any").signal("poke"))
    await _not_found(client.count_workflows())
    with pytest.raises(RPCError) as raised:
        [w async for w in client.list_workflows()]
    assert raised.value.status == RPCStatusCode.NOT_FOUND


async def test_query_failed_by_the_worker(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    worker = HttpWorker(grpc_gateway)
    handle = await _idle(client, worker, "bad-query")
    before = grpc_gateway.clock.waits_started
    asking = asyncio.create_task(handle.query("nonsense"))
    await wait_for_new_wait(grpc_gateway.clock, before)
    await worker.answer_query(await worker.workflow_task(), error="unknown query type nonsense")
    with pytest.raises(WorkflowQueryFailedError) as raised:
        await asking
    assert "unknown query type nonsense" in raised.value.message


async def test_query_rejected(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    worker = HttpWorker(grpc_gateway)
    handle = await client.start_workflow("Order", id="rejecting", task_queue=QUEUE)
    await worker.complete(await worker.workflow_task(), fail_workflow("no stock"))
    with pytest.raises(WorkflowQueryRejectedError) as raised:
        await handle.query("status", reject_condition=QueryRejectCondition.NOT_OPEN)
    assert raised.value.status == WorkflowExecutionStatus.FAILED
    with pytest.raises(WorkflowQueryRejectedError) as raised:
        await handle.query("status", reject_condition=QueryRejectCondition.NOT_COMPLETED_CLEANLY)
    assert raised.value.status == WorkflowExecutionStatus.FAILED


async def _invalid(operation: Any) -> RPCError:
    with pytest.raises(RPCError) as raised:
        await operation
    assert raised.value.status == RPCStatusCode.INVALID_ARGUMENT, raised.value
    return raised.value


async def test_malformed_requests_are_invalid_argument(grpc_gateway: GrpcGateway) -> None:
    """What the SDK would retry (UNKNOWN, INTERNAL) is never the answer to a request
    that cannot succeed."""
    client = await grpc_gateway.client()
    await client.start_workflow("Any", id="any", task_queue=QUEUE)
    service = client.workflow_service
    await _invalid(client.start_workflow("Any", id="", task_queue=QUEUE))
    await _invalid(client.start_workflow("Any", id="x", task_queue=""))
    await _invalid(client.get_workflow_handle("any", run_id="not-a-uuid").describe())
    await _invalid(client.get_workflow_handle("any").signal(""))
    await _invalid(client.count_workflows("WorkflowType = "))
    error = await _invalid(
        service.start_workflow_execution(
            StartWorkflowExecutionRequest(
                namespace="default",
                workflow_id="odd-policy",
                workflow_type=WorkflowType(name="Any"),
                task_queue=TaskQueue(name=QUEUE),
                request_id="odd-policy",
                workflow_id_reuse_policy=99,  # type: ignore[arg-type]
            )
        )
    )
    assert "workflow_id_reuse_policy" in error.message
    for token in (b"\xff\xfe", b"not a token"):
        await _invalid(
            service.get_workflow_execution_history(
                GetWorkflowExecutionHistoryRequest(
                    namespace="default",
                    execution=WorkflowExecution(workflow_id="any"),
                    next_page_token=token,
                )
            )
        )


async def test_list_with_a_foreign_page_token_is_invalid_argument(
    grpc_gateway: GrpcGateway,
) -> None:
    client = await grpc_gateway.client()
    await _invalid(
        client.workflow_service.list_workflow_executions(
            ListWorkflowExecutionsRequest(namespace="default", next_page_token=b"\xff\xfe"),
            retry=False,  # the INTERNAL it gets today would be retried for seconds
        )
    )


async def test_list_namespaces_with_a_foreign_page_token_is_invalid_argument(
    grpc_gateway: GrpcGateway,
) -> None:
    client = await grpc_gateway.client()
    await _invalid(
        client.workflow_service.list_namespaces(
            ListNamespacesRequest(next_page_token=b"\xff\xfe"), retry=False
        )
    )


async def test_typed_search_attributes_read_back_through_describe_list_and_history(
    grpc_gateway: GrpcGateway,
) -> None:
    """The SDK reads typed search attributes from each payload's ``type`` metadata, which
    Temporal sets from the registered type; the gateway's gRPC door does the same."""
    client = await grpc_gateway.client()
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace="default",
            search_attributes={"CustomerId": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD},
        )
    )
    customer = SearchAttributeKey.for_keyword("CustomerId")
    handle = await client.start_workflow(
        "W",
        id="typed",
        task_queue="q",
        search_attributes=TypedSearchAttributes([SearchAttributePair(customer, "c-7")]),
    )
    described = await handle.describe()
    assert described.typed_search_attributes.get(customer) == "c-7"
    listed = [w async for w in client.list_workflows("CustomerId = 'c-7'")]
    assert [w.typed_search_attributes.get(customer) for w in listed] == ["c-7"]
    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    assert started.search_attributes.indexed_fields["CustomerId"].metadata["type"] == b"Keyword"
