"""Read requests take their namespace from a cache: a change made by this process is
seen at once, one made by another process within the refresh interval, and a namespace
missing here is looked up again every time. Polls write their poller's record at most
once a second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from app.clock import ManualClock
from app.db.tables import NamespaceRow, table_of
from app.services.namespace_cache import REFRESH
from app.services.poller_ledger import RECORD_EVERY, PollerLedger
from tests.api.worker_client import NS
from tests.conftest import BACKEND, assert_error, start_body

API = "/api/v1/namespaces"


async def test_a_search_attribute_registered_here_is_queryable_at_once(
    client: httpx.AsyncClient,
) -> None:
    started = await client.post(f"{NS}/workflows", json=start_body("cached"))
    assert started.status_code == 200, started.text
    # The namespace is now cached by a read.
    assert (await client.get(f"{NS}/workflows", params={"query": ""})).status_code == 200
    added = await client.post(
        f"{NS}/search-attributes", json={"search_attributes": {"Region": "Keyword"}}
    )
    assert added.status_code == 200, added.text
    listed = await client.get(f"{NS}/workflows", params={"query": "Region = 'eu'"})
    assert listed.status_code == 200, listed.text


async def test_a_namespace_deleted_here_is_gone_at_once(client: httpx.AsyncClient) -> None:
    created = await client.post(
        API, json={"namespace": "short-lived", "workflow_execution_retention_period": "86400s"}
    )
    assert created.status_code == 200, created.text
    assert (await client.get(f"{API}/short-lived/workflows")).status_code == 200
    assert (await client.delete(f"{API}/short-lived")).status_code == 200
    assert_error(await client.get(f"{API}/short-lived/workflows"), 404, "NAMESPACE_NOT_FOUND")


async def test_a_write_decides_on_the_stored_namespace_not_the_kept_copy(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    started = await client.post(f"{NS}/workflows", json=start_body("before"))
    assert started.status_code == 200, started.text
    assert (await client.get(f"{NS}/workflows", params={"query": ""})).status_code == 200
    # Deprecated by another process: written to the database, not through this one.
    namespaces = table_of(NamespaceRow)
    async with app.state.ctx.db.write() as uow:
        await uow.session.execute(
            update(namespaces).where(namespaces.c.name == "default").values(state="DEPRECATED")
        )

    refused = await client.post(f"{NS}/workflows", json=start_body("after"))
    assert "DEPRECATED" in assert_error(refused, 400, "FAILED_PRECONDITION")["message"]
    # Reads keep the kept copy until the refresh interval ends.
    assert (await client.get(f"{NS}/workflows", params={"query": ""})).status_code == 200


@pytest.mark.skipif(BACKEND != "postgres", reason="several processes need PostgreSQL")
async def test_another_process_sees_a_change_within_the_refresh_interval(
    client: httpx.AsyncClient, second_gateway: tuple[FastAPI, httpx.AsyncClient]
) -> None:
    other_app, other = second_gateway
    other_clock = other_app.state.ctx.clock
    assert isinstance(other_clock, ManualClock)
    # Not cached while missing: created here, seen there at once.
    assert_error(await other.get(f"{API}/elsewhere/workflows"), 404, "NAMESPACE_NOT_FOUND")
    created = await client.post(
        API, json={"namespace": "elsewhere", "workflow_execution_retention_period": "86400s"}
    )
    assert created.status_code == 200, created.text
    assert (await other.get(f"{API}/elsewhere/workflows")).status_code == 200
    # Deleted here: the other process serves its copy until the refresh interval ends.
    assert (await client.delete(f"{API}/elsewhere")).status_code == 200
    assert (await other.get(f"{API}/elsewhere/workflows")).status_code == 200
    other_clock.advance(REFRESH.total_seconds())
    assert_error(await other.get(f"{API}/elsewhere/workflows"), 404, "NAMESPACE_NOT_FOUND")


T0 = datetime(2026, 1, 1, tzinfo=UTC)
KEY = ("ns", "queue", "workflow", "worker-1")


@pytest.mark.parametrize(
    ("written_at", "written_rate", "now", "rate", "due"),
    [
        (None, 0.0, T0, 0.0, True),  # never written
        (T0, 0.0, T0, 0.0, False),  # just written
        (T0, 0.0, T0 + RECORD_EVERY / 2, 0.0, False),
        (T0, 0.0, T0 + RECORD_EVERY, 0.0, True),  # a second later
        (T0, 0.0, T0 + RECORD_EVERY / 2, 5.0, True),  # the declared rate changed
        (T0, 0.0, T0 - timedelta(seconds=1), 0.0, True),  # the clock went back
    ],
)
def test_a_poller_record_is_written_at_most_once_a_second(
    written_at: datetime | None, written_rate: float, now: datetime, rate: float, due: bool
) -> None:
    ledger = PollerLedger()
    if written_at is not None:
        ledger.written(KEY, written_at, written_rate)
    assert ledger.due(KEY, now, rate) is due
    assert ledger.due(("ns", "queue", "activity", "worker-1"), now, rate) is True
