"""Handing a new task to a poll waiting in this process: the task is claimed for the poll
in the transaction that wrote it and given to it at commit; a claim that fails takes back
only its own changes and leaves the task to the poll's own claim."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.clock import ManualClock
from app.context import AppContext
from app.db.database import UnitOfWork, async_url
from app.rate_limits import work
from app.services import hand_off, workflow_tasks
from app.services.hand_off import WaitingPoll
from app.services.notifier import Notifier, queue_key
from app.settings import Settings
from tests.api.worker_client import NS, QUEUE, Worker, attributes
from tests.conftest import start_body, wait_until

WAITING_HEAD = [
    "WORKFLOW_EXECUTION_STARTED",
    "WORKFLOW_TASK_SCHEDULED",
    "WORKFLOW_TASK_STARTED",
]


def _ctx(app: FastAPI) -> AppContext:
    ctx: AppContext = app.state.ctx
    return ctx


async def _waiting_poll(app: FastAPI, *, fail: bool = False, **poll: Any) -> WaitingPoll:
    """A workflow-task poll on QUEUE as the long poll registers it while it waits."""
    ctx = _ctx(app)
    ns = await ctx.namespaces.get(ctx.db, "default")

    async def claim(uow: UnitOfWork) -> workflow_tasks.ClaimedTask | None:
        claimed = await workflow_tasks.claim(uow, ctx, ns, QUEUE, "waiting-worker", 10.0)
        if fail:
            raise RuntimeError("the claim broke after its writes")
        return claimed

    waiting = WaitingPoll(claim, asyncio.Event(), **poll)
    ctx.notifier.subscribe(queue_key(ns.id, QUEUE, workflow_tasks.TASK_TYPE), waiting)
    waiting.waiting = True
    return waiting


async def test_a_waiting_poll_gets_the_task_in_the_transaction_that_wrote_it(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    poll = await _waiting_poll(app)
    response = await client.post(f"{NS}/workflows", json=start_body("handed"))
    assert response.status_code == 200, response.text

    # Handed over by the time the start is answered: no transaction of the poll's own.
    assert poll.outcome is not None and poll.outcome.done()
    claimed = poll.outcome.result()
    assert isinstance(claimed, workflow_tasks.ClaimedTask)
    task = claimed.response
    assert task["workflow_execution"]["run_id"] == response.json()["run_id"]
    assert [e["event_type"] for e in task["history"]] == WAITING_HEAD
    assert attributes(task["history"][2])["identity"] == "waiting-worker"
    assert task["backlog_count_hint"] == 0
    assert not poll.waiting


async def test_a_long_poll_waiting_over_http_is_answered_with_the_new_task(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    polling = asyncio.create_task(
        client.post(
            f"{NS}/task-queues/{QUEUE}/workflow-tasks/poll",
            json={"identity": "long-poller", "wait_timeout": "30s"},
        )
    )
    await wait_until(lambda: clock.pending_waits() > 0)
    run_id = await Worker(client, clock, app).start("over-http")
    answer = await polling
    assert answer.status_code == 200, answer.text
    task = answer.json()
    assert task["workflow_execution"] == {"workflow_id": "over-http", "run_id": run_id}
    assert [e["event_type"] for e in task["history"]] == WAITING_HEAD
    assert attributes(task["history"][2])["identity"] == "long-poller"

    done = await Worker(client, clock, app).complete_workflow_task(task["task_token"])
    assert done.status_code == 200, done.text


async def test_a_claim_that_fails_takes_back_its_own_writes_and_leaves_the_task_queued(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    poll = await _waiting_poll(app, fail=True)
    response = await client.post(f"{NS}/workflows", json=start_body("broken-claim"))
    assert response.status_code == 200, response.text

    assert poll.outcome is not None and poll.outcome.result() is None  # it claims again
    worker = Worker(client, clock, app)
    assert await worker.event_types("broken-claim") == WAITING_HEAD[:2]
    task = await worker.workflow_task()
    assert [e["event_type"] for e in task["history"]] == WAITING_HEAD
    assert attributes(task["history"][2])["identity"] == "test-worker"


async def test_what_the_claim_did_is_charged_to_the_poll_not_to_the_writer(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    context = contextvars.Context()
    polled = context.run(work.begin)
    poll = await _waiting_poll(app, context=context)
    written = work.begin()
    response = await client.post(f"{NS}/workflows", json=start_body("charged"))
    assert response.status_code == 200, response.text
    assert poll.outcome is not None and poll.outcome.done()
    assert polled.history_events == 1  # WorkflowTaskStarted
    assert written.history_events == 0  # the start request's own work is its own


class _Broken(Exception):
    pass


async def test_a_poll_taken_by_a_unit_of_work_that_then_fails_is_released(
    app: FastAPI,
) -> None:
    ctx = _ctx(app)
    key = ("queue", "ns", "q", "workflow")

    async def claim(uow: UnitOfWork) -> str:
        return "a task"

    poll = WaitingPoll(claim, asyncio.Event())
    wake = ctx.notifier.subscribe(key, poll)
    poll.waiting = True

    async def fail_after(_: UnitOfWork) -> None:
        raise _Broken

    with pytest.raises(_Broken):
        async with ctx.db.write() as uow:
            hand_off.tasks_written(uow, ctx.notifier, key, 1)
            uow.before_commit.append(fail_after)  # runs after the hand-off
    assert poll.outcome is not None and poll.outcome.result() is None
    assert wake.is_set()


async def test_a_claim_for_a_waiting_poll_does_not_wait_for_a_run_another_holds(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, clock: ManualClock
) -> None:
    """The claim runs inside the writer's transaction, which holds locks of its own: two
    writers whose claims each waited for a run the other had locked would deadlock. A run
    locked elsewhere fails the claim at once; the poll claims for itself later."""
    if _ctx(app).db.is_sqlite:
        pytest.skip("SQLite has one writer: no other transaction holds a run")
    engine = create_async_engine(async_url(settings.database_url))
    first = await client.post(f"{NS}/workflows", json=start_body("locked-run"))
    assert first.status_code == 200  # its workflow task waits in the queue
    async with engine.connect() as other, other.begin():
        await other.execute(
            text("SELECT 1 FROM executions WHERE workflow_id = 'locked-run' FOR UPDATE")
        )
        poll = await _waiting_poll(app)
        second = await asyncio.wait_for(
            client.post(f"{NS}/workflows", json=start_body("second-run")), timeout=10
        )
        assert second.status_code == 200, second.text
        assert poll.outcome is not None and poll.outcome.result() is None
    await engine.dispose()
    worker = Worker(client, clock, app)
    for run in ("locked-run", "second-run"):  # both tasks are still there for a poll
        task = await worker.workflow_task()
        assert task["workflow_execution"]["workflow_id"] == run


def _poll(**fields: Any) -> WaitingPoll:
    async def claim(uow: UnitOfWork) -> None:
        return None

    return WaitingPoll(claim, asyncio.Event(), **fields)


async def test_only_a_poll_that_is_waiting_and_still_there_is_taken_oldest_first() -> None:
    notifier = Notifier()
    key = ("queue", "ns", "q", "workflow")
    claiming = _poll()
    notifier.subscribe(key, claiming)  # between claims: it may be claiming right now
    left = _poll(waiting=True)
    left.gone.set()
    notifier.subscribe(key, left)
    woken = _poll(waiting=True)
    notifier.subscribe(key, woken).set()  # already woken for another task
    notifier.subscribe(key)  # a waiter that is no poll
    first, second = _poll(waiting=True), _poll(waiting=True)
    first_wake = notifier.subscribe(key, first)
    second_wake = notifier.subscribe(key, second)

    assert notifier.take_poll(key) == (first_wake, first)
    assert not first.waiting
    assert notifier.take_poll(key) == (second_wake, second)
    assert notifier.take_poll(key) is None
    notifier.notify(key)
    assert not first_wake.is_set()  # no longer a waiter: wake-ups go to others
