"""OrderProcessingWorkflow and the replayer that runs it against a history.

The workflow is written as a generator, the way an SDK lets you write it as a coroutine:
it ``yield``s what it waits for (a signal, an activity's result) and receives the value
back. It keeps no state between workflow tasks. On every task the replayer starts it
afresh and feeds it the outcomes recorded in the history: a waited-for signal that is
in the history is sent in, an activity already scheduled gets its recorded result (or
its failure, raised inside the workflow). The workflow so walks again through the same
steps, deterministically, and stops at the first thing the history has no answer for:

- an activity the history has not scheduled yet -> the command to schedule it;
- a signal that has not arrived or an activity still running -> no command (wait);
- the end of the code -> COMPLETE_WORKFLOW_EXECUTION (FAIL_… if it raised).

The activity ids the code produces ("1", "2", "3" in the order it calls them) and their
types must match the ACTIVITY_TASK_SCHEDULED events already in the history, or the
code changed under a running workflow: a NonDeterminismError. The rebuilt workflow
object answers queries (``get_order_status``) from the state the replay left it in.
Not handled, to stay short: cancel requests, timers, a second payment signal."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

DEFAULT_RETRY_POLICY: dict[str, Any] = {
    "initial_interval": "1s",
    "backoff_coefficient": 2.0,
    "maximum_interval": "10s",
    "maximum_attempts": 5,
    "non_retryable_error_types": ["PaymentDeclined"],
}
ACTIVITY_OUTCOMES = {
    "ACTIVITY_TASK_COMPLETED",
    "ACTIVITY_TASK_FAILED",
    "ACTIVITY_TASK_TIMED_OUT",
    "ACTIVITY_TASK_CANCELED",
}


@dataclass(frozen=True)
class WaitForSignal:
    name: str


@dataclass(frozen=True)
class ExecuteActivity:
    activity_type: str
    input: Any
    start_to_close_timeout: str = "30s"
    retry_policy: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_RETRY_POLICY))


WorkflowCode = Generator[WaitForSignal | ExecuteActivity, Any, dict[str, Any]]


class ActivityFailed(Exception):
    """Raised inside the workflow when an activity failed, timed out or was canceled."""

    def __init__(self, activity_type: str, event: dict[str, Any]) -> None:
        self.failure: dict[str, Any] = attributes(event).get("failure") or {}
        reason = self.failure.get("message") or event["event_type"]
        super().__init__(f"activity {activity_type} did not complete: {reason}")


class NonDeterminismError(Exception):
    """The workflow code no longer matches the history it is replayed against."""


class OrderProcessingWorkflow:
    name = "OrderProcessingWorkflow"

    def __init__(self) -> None:
        self.order_id = ""
        self.status = "STARTED"
        self.payment_id: str | None = None

    def run(self, order: dict[str, Any]) -> WorkflowCode:
        self.order_id = order["order_id"]
        self.status = "WAITING_FOR_PAYMENT"
        payment = yield WaitForSignal("payment_received")
        self.payment_id = payment["payment_id"]
        try:
            self.status = "PROCESSING_PAYMENT"
            receipt = yield ExecuteActivity("ProcessPayment", {"order": order, "payment": payment})
            self.status = "UPDATING_INVENTORY"
            reservation = yield ExecuteActivity(
                "UpdateInventory",
                {"order_id": self.order_id, "items": order["items"]},
                start_to_close_timeout="10s",
            )
            self.status = "SENDING_NOTIFICATION"
            notification = yield ExecuteActivity(
                "SendNotification",
                {
                    "order_id": self.order_id,
                    "customer_id": order["customer_id"],
                    "receipt_id": receipt["receipt_id"],
                },
                start_to_close_timeout="10s",
            )
        except ActivityFailed:
            self.status = "FAILED"
            raise
        self.status = "COMPLETED"
        return {
            "order_id": self.order_id,
            "payment_id": self.payment_id,
            "status": self.status,
            "receipt_id": receipt["receipt_id"],
            "amount": receipt["amount"],
            "currency": receipt["currency"],
            "reservation_id": reservation["reservation_id"],
            "notification_id": notification["notification_id"],
        }

    def query(self, query_type: str, args: Any) -> dict[str, Any]:
        if query_type != "get_order_status":
            raise ValueError(f"unknown query type {query_type!r}")
        return {"order_id": self.order_id, "status": self.status, "payment_id": self.payment_id}


@dataclass
class Replay:
    """Where the replay stopped: the rebuilt workflow and the commands to answer with."""

    workflow: OrderProcessingWorkflow
    commands: list[dict[str, Any]]


def attributes(event: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = event.get(f"{event['event_type'].lower()}_event_attributes") or {}
    return value


def replay(history: list[dict[str, Any]]) -> Replay:
    """Run the workflow from the start against ``history`` (all events, in order)."""
    if not history or history[0]["event_type"] != "WORKFLOW_EXECUTION_STARTED":
        raise NonDeterminismError("the history does not begin with WORKFLOW_EXECUTION_STARTED")
    signals: defaultdict[str, deque[Any]] = defaultdict(deque)
    scheduled: list[dict[str, Any]] = []
    outcomes: dict[int, dict[str, Any]] = {}
    for event in history:
        kind = event["event_type"]
        if kind == "WORKFLOW_EXECUTION_SIGNALED":
            signals[attributes(event)["signal_name"]].append(attributes(event).get("input"))
        elif kind == "ACTIVITY_TASK_SCHEDULED":
            scheduled.append(event)
        elif kind in ACTIVITY_OUTCOMES:
            outcomes[attributes(event)["scheduled_event_id"]] = event

    workflow = OrderProcessingWorkflow()
    code = workflow.run(attributes(history[0]).get("input") or {})
    calls = 0

    def stop(*commands: dict[str, Any]) -> Replay:
        """Stop here (waiting, or closing): the history must not be ahead of the code."""
        if len(scheduled) > calls:
            extra = scheduled[calls]
            raise NonDeterminismError(
                f"the history scheduled activity {attributes(extra)['activity_id']} "
                f"(event {extra['event_id']}) that the code does not call"
            )
        return Replay(workflow, list(commands))

    value: Any = None
    error: ActivityFailed | None = None
    try:
        while True:
            try:
                step = code.throw(error) if error else code.send(value)
            except StopIteration as done:
                return stop(_complete(done.value))
            except ActivityFailed as failed:
                return stop(_fail(str(failed), failed.failure))
            value, error = None, None

            if isinstance(step, WaitForSignal):
                if not signals[step.name]:
                    return stop()
                value = signals[step.name].popleft()
                continue

            calls += 1
            activity_id = str(calls)
            if calls > len(scheduled):
                return Replay(workflow, [_schedule(activity_id, step)])
            recorded = scheduled[calls - 1]
            recorded_type = attributes(recorded)["activity_type"]["name"]
            if (attributes(recorded)["activity_id"], recorded_type) != (
                activity_id,
                step.activity_type,
            ):
                raise NonDeterminismError(
                    f"the code calls {step.activity_type} as activity {activity_id}, the "
                    f"history scheduled {recorded_type} (event {recorded['event_id']})"
                )
            outcome = outcomes.get(recorded["event_id"])
            if outcome is None:
                return stop()
            if outcome["event_type"] == "ACTIVITY_TASK_COMPLETED":
                value = attributes(outcome).get("result")
            else:
                error = ActivityFailed(step.activity_type, outcome)
    finally:
        code.close()


def _schedule(activity_id: str, activity: ExecuteActivity) -> dict[str, Any]:
    return {
        "command_type": "SCHEDULE_ACTIVITY_TASK",
        "schedule_activity_task_command_attributes": {
            "activity_id": activity_id,
            "activity_type": {"name": activity.activity_type},
            "input": activity.input,
            "start_to_close_timeout": activity.start_to_close_timeout,
            "retry_policy": activity.retry_policy,
        },
    }


def _complete(result: Any) -> dict[str, Any]:
    return {
        "command_type": "COMPLETE_WORKFLOW_EXECUTION",
        "complete_workflow_execution_command_attributes": {"result": result},
    }


def _fail(message: str, cause: dict[str, Any]) -> dict[str, Any]:
    failure: dict[str, Any] = {"message": message, "application_failure_info": {}}
    if cause:
        failure["cause"] = cause
    return {
        "command_type": "FAIL_WORKFLOW_EXECUTION",
        "fail_workflow_execution_command_attributes": {"failure": failure},
    }
