"""Workflow executions as both doors call them, REST (app/routers/workflows.py) and
gRPC: start, signal-with-start, signal, cancel request and terminate. Each resolves its
namespace and runs in one transaction of its own; the work in that transaction is
app/services/workflow_starts.py's (start, signal-with-start) and run_changes.py's
(signal, cancel request, terminate)."""

from __future__ import annotations

from typing import Protocol

from app.db.database import UnitOfWork
from app.errors import bad_request
from app.models.common import WorkflowExecution
from app.models.workflows import (
    RequestCancelWorkflowExecutionRequest,
    SignalWithStartWorkflowExecutionRequest,
    SignalWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
    StartWorkflowExecutionResponse,
    TerminateWorkflowExecutionRequest,
)
from app.services import namespaces, run_changes, workflow_starts
from app.services.dependencies import (
    HasClock,
    HasDb,
    HasNamespaces,
    HasNotifier,
    HasSettings,
)


class Changing(HasDb, HasClock, HasNamespaces, HasNotifier, Protocol):
    """Signal, cancel request, terminate: a change to a run, its waiters woken."""


class Starting(HasDb, HasClock, HasSettings, HasNamespaces, HasNotifier, Protocol):
    """Start and signal-with-start: a change that may create a run, under the settings'
    cap on running executions."""


async def start_workflow(
    ctx: Starting, namespace: str, request: StartWorkflowExecutionRequest
) -> StartWorkflowExecutionResponse:
    """StartWorkflowExecution in a transaction of its own (see ``workflow_starts.start``)."""

    async def work(uow: UnitOfWork) -> tuple[str, bool]:
        ns = namespaces.check_active(await ctx.namespaces.current(uow.session, namespace))
        return await workflow_starts.start(uow, ctx.clock, ctx.settings, ctx.notifier, ns, request)

    run_id, started = await ctx.db.run(work)
    return StartWorkflowExecutionResponse(run_id=run_id, started=started)


async def signal_with_start_workflow(
    ctx: Starting, namespace: str, request: SignalWithStartWorkflowExecutionRequest
) -> StartWorkflowExecutionResponse:
    """SignalWithStartWorkflowExecution in a transaction of its own (see
    ``workflow_starts.signal_with_start``)."""

    async def work(uow: UnitOfWork) -> tuple[str, bool]:
        ns = namespaces.check_active(await ctx.namespaces.current(uow.session, namespace))
        return await workflow_starts.signal_with_start(
            uow, ctx.clock, ctx.settings, ctx.notifier, ns, request
        )

    run_id, started = await ctx.db.run(work)
    return StartWorkflowExecutionResponse(run_id=run_id, started=started)


async def signal_workflow(
    ctx: Changing,
    namespace: str,
    workflow_id: str,
    run_id: str,
    request: SignalWorkflowExecutionRequest,
) -> None:
    """SignalWorkflowExecution in a transaction of its own; run_id "" is the current run."""

    async def work(uow: UnitOfWork) -> None:
        ns = await ctx.namespaces.current(uow.session, namespace)
        await run_changes.signal(uow, ctx.clock, ctx.notifier, ns, workflow_id, run_id, request)

    await ctx.db.run(work)


async def request_cancel_workflow(
    ctx: Changing,
    namespace: str,
    workflow_id: str,
    run_id: str,
    request: RequestCancelWorkflowExecutionRequest,
) -> None:
    """RequestCancelWorkflowExecution in a transaction of its own; run_id "" is the
    current run."""

    async def work(uow: UnitOfWork) -> None:
        ns = await ctx.namespaces.current(uow.session, namespace)
        await run_changes.request_cancel(
            uow, ctx.clock, ctx.notifier, ns, workflow_id, run_id, request
        )

    await ctx.db.run(work)


async def terminate_workflow(
    ctx: Changing,
    namespace: str,
    workflow_id: str,
    run_id: str,
    request: TerminateWorkflowExecutionRequest,
) -> None:
    """TerminateWorkflowExecution in a transaction of its own; run_id "" is the current
    run."""

    async def work(uow: UnitOfWork) -> None:
        ns = await ctx.namespaces.current(uow.session, namespace)
        await run_changes.terminate(uow, ctx.clock, ctx.notifier, ns, workflow_id, run_id, request)

    await ctx.db.run(work)


def check_body_matches(
    workflow_id: str,
    run_id: str,
    execution: WorkflowExecution | None,
) -> None:
    """Where the body repeats the path's ids, they must agree."""
    if execution is None:
        return
    if execution.workflow_id != workflow_id:
        raise bad_request(
            "workflow_execution.workflow_id",
            "workflow_execution.workflow_id does not match the path",
        )
    if execution.run_id and execution.run_id != run_id:
        raise bad_request(
            "workflow_execution.run_id", "workflow_execution.run_id does not match the path"
        )
