"""QueryWorkflow: choose how the query reaches a worker, wait (bounded) for the answer,
and turn it into a response or the right error."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any, Protocol

from app.db.tables import QueryRow, RunRecord
from app.engine.state import WorkflowStatus
from app.errors import ApiError, ErrorCode
from app.models.queries import (
    QueryRejectCondition,
    QueryWorkflowRequest,
    RespondQueryTaskCompletedRequest,
)
from app.payloads import encode_payloads, render
from app.services import executions, query_store, start_options
from app.services.dependencies import (
    HasClock,
    HasDb,
    HasDraining,
    HasNamespaces,
    HasNotifier,
    HasSettings,
    HasSigner,
)
from app.services.tokens import TaskKind


class Waiting(HasDb, HasClock, HasSettings, HasDraining, Protocol):
    """Waiting for a query's answer: read until it comes, the query timeout passes or the
    server drains."""


class Querying(HasDb, HasClock, HasSettings, HasNamespaces, HasNotifier, HasDraining, Protocol):
    """QueryWorkflow: the query offered (and its taker woken), its answer waited for."""


class Resolving(HasDb, HasNamespaces, HasNotifier, HasSigner, Protocol):
    """A worker's answer to a query task: its token opened, its caller woken."""


def _rejected(row: RunRecord, condition: QueryRejectCondition | None) -> bool:
    status = WorkflowStatus(row.status)
    if status is WorkflowStatus.RUNNING:
        return False
    if condition is QueryRejectCondition.NOT_OPEN:
        return True
    return condition is QueryRejectCondition.NOT_COMPLETED_CLEANLY and (
        status is not WorkflowStatus.COMPLETED
    )


def _query_of(req: QueryWorkflowRequest) -> dict[str, Any]:
    """The query as its task carries it to the worker; its header (the SDKs send one on
    every query, for the worker's interceptors) when it has one."""
    query: dict[str, Any] = {
        "query_type": req.query.query_type,
        "query_args": encode_payloads(req.query.query_args)
        if req.query.query_args is not None
        else None,
    }
    header = start_options.header(req.query.header)
    if header is not None:
        query["header"] = header
    return query


def not_ready(message: str) -> ApiError:
    return ApiError(ErrorCode.FAILED_PRECONDITION, message, [{"type": "WorkflowNotReady"}])


async def query_workflow(
    ctx: Querying, namespace: str, workflow_id: str, run_id: str, req: QueryWorkflowRequest
) -> dict[str, Any]:
    """``{"query_result": Payloads as stored}`` or ``{"query_rejected": {"status"}}``."""
    ns = await ctx.namespaces.get(ctx.db, namespace)
    async with ctx.db.read() as session:
        row = await executions.load(session, ns.id, workflow_id, run_id)
    if _rejected(row, req.query_reject_condition):
        return {"query_rejected": {"status": row.status}}
    state = executions.state_of(row)
    if state.previous_started_event_id == 0 and not (
        state.workflow_task and state.workflow_task.started
    ):
        if not state.is_running:
            raise not_ready("Workflow execution closed before its first workflow task started.")
        if state.workflow_task is None:
            raise not_ready("Workflow task is not scheduled yet.")
    query = QueryRow(
        id=str(uuid.uuid4()),
        namespace_id=ns.id,
        workflow_id=row.workflow_id,
        run_id=row.run_id,
        task_queue=row.task_queue,
        query=_query_of(req),
        created_time=ctx.clock.now(),
    )
    key = query_store.answer_key(query.id)
    answered = ctx.notifier.subscribe(key)
    try:
        async with ctx.db.write() as uow:
            # Whether it waits for a workflow task is decided here, with the run locked:
            # a task completed since the read above would never send it on its own.
            current = await executions.find(
                uow.session, ns.id, row.workflow_id, row.run_id, for_update=True
            )
            query.attached = (
                current is not None and executions.state_of(current).workflow_task_pending
            )
            await query_store.offer(uow, ctx.notifier, query)
        answer = await _answer(ctx, query.id, answered)
    finally:
        ctx.notifier.unsubscribe(key, answered)
        async with ctx.db.write() as uow:
            await query_store.forget(uow.session, query.id)
    if answer is None:
        raise ApiError(
            ErrorCode.FAILED_PRECONDITION,
            f"No worker answered the query within {ctx.settings.query_timeout_seconds:g}s; "
            f"is a worker polling task queue {row.task_queue!r}?",
            [{"type": "QueryTimeout", "task_queue": row.task_queue}],
        )
    return _response(answer)


async def _answer(ctx: Waiting, query_id: str, answered: asyncio.Event) -> dict[str, Any] | None:
    """The worker's answer, or None when none came within the query timeout. The answer
    may be given to any process; its commit wakes this one. Stopping ends the wait with
    503 UNAVAILABLE."""
    deadline = ctx.clock.now() + timedelta(seconds=ctx.settings.query_timeout_seconds)
    while True:
        answered.clear()
        async with ctx.db.read() as session:
            answer = await query_store.answer_of(session, query_id)
        if answer is not None:
            return answer
        if ctx.draining.is_set():
            # Unlike a poll, a query has no empty answer: the caller retries elsewhere.
            raise ApiError(
                ErrorCode.UNAVAILABLE,
                "The gateway is shutting down; retry the query (on another gateway, or "
                "this one once it is back).",
                [{"type": "ShuttingDown"}],
            )
        remaining = (deadline - ctx.clock.now()).total_seconds()
        if remaining <= 0 or not await ctx.clock.wait(answered, remaining):
            return None


def _response(answer: dict[str, Any]) -> dict[str, Any]:
    if answer.get("result_type") == "FAILED":
        failure = answer.get("failure") or {"message": answer.get("error_message", "")}
        raise ApiError(
            ErrorCode.INVALID_ARGUMENT,
            f"Query failed: {failure.get('message') or answer.get('error_message', '')}",
            [{"type": "QueryFailed", "failure": render(failure)}],
        )
    return {"query_result": answer.get("answer")}


def answer_of(
    completed_type: str, result: Any, error_message: str, failure: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "result_type": completed_type,
        "answer": encode_payloads(result) if result is not None else None,
        "error_message": error_message,
        "failure": failure,
    }


async def respond_query_task_completed(
    ctx: Resolving, namespace: str, request: RespondQueryTaskCompletedRequest
) -> None:
    """A worker's answer to a query task; a query whose caller stopped waiting is
    NOT_FOUND."""
    ns = await ctx.namespaces.get(ctx.db, namespace)
    token = ctx.signer.open(request.task_token, TaskKind.QUERY, ns.id)
    answer = answer_of(
        str(request.completed_type or "ANSWERED"),
        request.query_result,
        request.error_message,
        request.failure,
    )
    async with ctx.db.write() as uow:
        resolved = await query_store.resolve(uow, ctx.notifier, token.query_id, answer)
    if not resolved:
        raise ApiError(
            ErrorCode.NOT_FOUND,
            "Query not found: its caller stopped waiting.",
            [{"type": "NotFound", "resource": "query"}],
        )
