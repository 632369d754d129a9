"""The order-processing activities: plain, deterministic Python functions.

Each takes the activity task's ``input`` (a JSON value) and returns the result (a JSON
value). An exception fails the attempt; the worker reports it as an ApplicationFailure
whose type is the exception's class name, so a retry policy can name it in
``non_retryable_error_types`` (as the workflow does for PaymentDeclined)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class PaymentDeclined(Exception):
    """The payment does not cover the order: retrying will not help."""


def order_total(items: list[dict[str, Any]]) -> float:
    return round(sum(float(item["quantity"]) * float(item["price"]) for item in items), 2)


def process_payment(request: dict[str, Any]) -> dict[str, Any]:
    """Charge the payment for the order; the receipt id is derived from the payment id."""
    order, payment = request["order"], request["payment"]
    total = order_total(order["items"])
    if round(payment["amount"], 2) < total:
        raise PaymentDeclined(f"payment of {payment['amount']} does not cover {total}")
    return {
        "receipt_id": f"receipt-{payment['payment_id']}",
        "payment_id": payment["payment_id"],
        "amount": payment["amount"],
        "currency": payment.get("currency", "USD"),
    }


def update_inventory(request: dict[str, Any]) -> dict[str, Any]:
    """Reserve the ordered items."""
    return {
        "reservation_id": f"reservation-{request['order_id']}",
        "reserved": [
            {"product_id": item["product_id"], "quantity": item["quantity"]}
            for item in request["items"]
        ],
    }


def send_notification(request: dict[str, Any]) -> dict[str, Any]:
    """Tell the customer (here: compose the message that would be sent)."""
    return {
        "notification_id": f"notification-{request['order_id']}-{request['customer_id']}",
        "customer_id": request["customer_id"],
        "message": f"Order {request['order_id']} is confirmed (receipt {request['receipt_id']}).",
    }


ACTIVITIES: dict[str, Callable[[Any], Any]] = {
    "ProcessPayment": process_payment,
    "UpdateInventory": update_inventory,
    "SendNotification": send_notification,
}
