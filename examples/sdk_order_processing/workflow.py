"""The spec's OrderProcessingWorkflow written with the official Temporal Python SDK: the
same workflow and activities as ``examples/order_processing`` (whose worker speaks the
REST protocol), here run by the SDK's own ``Worker`` against the gateway's gRPC door.

The workflow waits for the ``payment_received`` signal, runs ProcessPayment,
UpdateInventory and SendNotification one after another, and returns a summary of the
order; ``get_order_status`` answers where it is. A declined payment
(``PaymentDeclined``) is not retried."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from examples.order_processing import activities as plain

TASK_QUEUE = "order-processing-queue"
RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=5,
    non_retryable_error_types=["PaymentDeclined"],
)


def _declined(error: plain.PaymentDeclined) -> ApplicationError:
    return ApplicationError(str(error), type="PaymentDeclined", non_retryable=True)


@activity.defn(name="ProcessPayment")
async def process_payment(request: dict[str, Any]) -> dict[str, Any]:
    try:
        return plain.process_payment(request)
    except plain.PaymentDeclined as error:
        raise _declined(error) from None


@activity.defn(name="UpdateInventory")
async def update_inventory(request: dict[str, Any]) -> dict[str, Any]:
    return plain.update_inventory(request)


@activity.defn(name="SendNotification")
async def send_notification(request: dict[str, Any]) -> dict[str, Any]:
    return plain.send_notification(request)


ACTIVITIES = [process_payment, update_inventory, send_notification]


@workflow.defn(name="OrderProcessingWorkflow")
class OrderProcessingWorkflow:
    def __init__(self) -> None:
        self.order_id = ""
        self.status = "STARTED"
        self.payment: dict[str, Any] | None = None

    @workflow.run
    async def run(self, order: dict[str, Any]) -> dict[str, Any]:
        self.order_id = order["order_id"]
        self.status = "WAITING_FOR_PAYMENT"
        await workflow.wait_condition(lambda: self.payment is not None)
        payment = self.payment
        assert payment is not None
        try:
            self.status = "PROCESSING_PAYMENT"
            receipt = await self._activity(
                "ProcessPayment", {"order": order, "payment": payment}, seconds=30
            )
            self.status = "UPDATING_INVENTORY"
            reservation = await self._activity(
                "UpdateInventory", {"order_id": self.order_id, "items": order["items"]}
            )
            self.status = "SENDING_NOTIFICATION"
            notification = await self._activity(
                "SendNotification",
                {
                    "order_id": self.order_id,
                    "customer_id": order["customer_id"],
                    "receipt_id": receipt["receipt_id"],
                },
            )
        except Exception:
            self.status = "FAILED"
            raise
        self.status = "COMPLETED"
        return {
            "order_id": self.order_id,
            "payment_id": payment["payment_id"],
            "status": self.status,
            "receipt_id": receipt["receipt_id"],
            "amount": receipt["amount"],
            "currency": receipt["currency"],
            "reservation_id": reservation["reservation_id"],
            "notification_id": notification["notification_id"],
        }

    async def _activity(
        self, name: str, request: dict[str, Any], seconds: float = 10
    ) -> dict[str, Any]:
        result: dict[str, Any] = await workflow.execute_activity(
            name,
            request,
            start_to_close_timeout=timedelta(seconds=seconds),
            retry_policy=RETRY_POLICY,
        )
        return result

    @workflow.signal(name="payment_received")
    def payment_received(self, payment: dict[str, Any]) -> None:
        if self.payment is None:
            self.payment = payment

    @workflow.query(name="get_order_status")
    def get_order_status(self) -> dict[str, Any]:
        payment_id = self.payment["payment_id"] if self.payment else None
        return {"order_id": self.order_id, "status": self.status, "payment_id": payment_id}
