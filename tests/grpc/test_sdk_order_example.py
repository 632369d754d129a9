"""examples/sdk_order_processing: the spec's order-processing workflow written with the
official Python SDK, run by the SDK's Worker (default sandbox) against the gRPC door: the
signal, the query, the result, a declined payment; each history replays."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.worker import Replayer

from examples.sdk_order_processing.worker import worker
from examples.sdk_order_processing.workflow import TASK_QUEUE, OrderProcessingWorkflow
from tests.grpc.conftest import GrpcGateway

WAIT_SECONDS = 20.0
ORDER = {
    "order_id": "order-12345",
    "customer_id": "customer-789",
    "items": [
        {"product_id": "prod-1", "quantity": 2, "price": 29.99},
        {"product_id": "prod-2", "quantity": 1, "price": 49.99},
    ],
}
PAYMENT = {"payment_id": "pay-456", "amount": 109.97, "currency": "USD"}


async def _status(handle: WorkflowHandle[Any, Any]) -> str:
    status: dict[str, Any] = await handle.query(OrderProcessingWorkflow.get_order_status)
    return str(status["status"])


async def _replays(handle: WorkflowHandle[Any, Any]) -> None:
    replayer = Replayer(workflows=[OrderProcessingWorkflow])
    result = await replayer.replay_workflow(
        await handle.fetch_history(), raise_on_replay_failure=False
    )
    assert result.replay_failure is None, result.replay_failure


async def test_an_order_is_paid_and_processed(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    async with worker(client):
        handle = await client.start_workflow(
            OrderProcessingWorkflow.run, ORDER, id="order-12345", task_queue=TASK_QUEUE
        )
        assert await _status(handle) == "WAITING_FOR_PAYMENT"
        await handle.signal(OrderProcessingWorkflow.payment_received, PAYMENT)
        summary = await asyncio.wait_for(handle.result(), WAIT_SECONDS)
        assert summary == {
            "order_id": "order-12345",
            "payment_id": "pay-456",
            "status": "COMPLETED",
            "receipt_id": "receipt-pay-456",
            "amount": 109.97,
            "currency": "USD",
            "reservation_id": "reservation-order-12345",
            "notification_id": "notification-order-12345-customer-789",
        }
        assert await _status(handle) == "COMPLETED"
    await _replays(handle)


async def test_a_declined_payment_fails_the_order_without_retries(
    grpc_gateway: GrpcGateway,
) -> None:
    client = await grpc_gateway.client()
    async with worker(client):
        handle = await client.start_workflow(
            OrderProcessingWorkflow.run, ORDER, id="order-short", task_queue=TASK_QUEUE
        )
        await handle.signal(OrderProcessingWorkflow.payment_received, {**PAYMENT, "amount": 5})
        try:
            await asyncio.wait_for(handle.result(), WAIT_SECONDS)
        except WorkflowFailureError as failed:
            assert isinstance(failed.cause, ActivityError)
            declined = failed.cause.cause
            assert isinstance(declined, ApplicationError)
            assert declined.type == "PaymentDeclined"
        else:
            raise AssertionError("a declined payment did not fail the order")
        assert await _status(handle) == "FAILED"
    described = await handle.describe()
    assert described.raw_description.pending_activities == []
    await _replays(handle)
