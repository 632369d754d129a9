"""Logs: one access line per request (off by a setting), a JSON format whose every line
parses, and an unexpected error logged once, with its correlation id and one traceback,
in-process, under a real uvicorn and from the real server process."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from app import logs
from app.clock import ManualClock
from app.main import create_app
from app.settings import Settings
from tests.api.worker_client import NS
from tests.conftest import IN_PROCESS, assert_error, start_body, wait_until
from tests.e2e.server import ServerProcess


def _exploding_app(settings: Settings) -> FastAPI:
    app = create_app(settings, clock=ManualClock())

    @app.get("/api/v1/explode")
    async def explode() -> None:
        raise RuntimeError("secret-internal")

    return app


@pytest.fixture
async def exploding(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An app with a route that fails, served as the server would: exceptions that
    reach the server raise here (httpx's default), as the server would log them."""
    app = _exploding_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            yield client


@pytest.fixture
def root_logging() -> Iterator[None]:
    """logs.configure replaces the root logger's handlers and takes Python's warnings:
    put pytest's back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)


def _access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "app.access"]


def _tracebacks(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    return [r for r in records if r.exc_info]


async def test_one_access_line_per_request(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="app.access"):
        assert (await client.post(f"{NS}/workflows", json=start_body("logged"))).status_code == 200
        assert (await client.get(f"{NS}/workflows/logged")).status_code == 200
        assert (await client.get("/no/such/path")).status_code == 404
    records = _access_records(caplog)
    assert [(r.method, r.path, r.status) for r in records] == [  # type: ignore[attr-defined]
        ("POST", "/api/v1/namespaces/default/workflows", 200),
        ("GET", "/api/v1/namespaces/default/workflows/logged", 200),
        ("GET", "/no/such/path", 404),
    ]
    for record in records:
        method, path, status, duration, client_address = record.args  # type: ignore[misc]
        assert record.getMessage() == f"{method} {path} {status} {duration:.1f}ms {client_address}"
        assert record.duration_ms >= 0  # type: ignore[attr-defined]
        assert client_address == "127.0.0.1:123"  # httpx's ASGI transport's client


async def test_the_access_log_is_off_by_a_setting(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        database_url=database_url, run_background_loops=False, access_log=False, **IN_PROCESS
    )
    app = create_app(settings, clock=ManualClock())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            with caplog.at_level(logging.INFO, logger="app.access"):
                assert (await client.get(f"{NS}")).status_code == 200
    assert _access_records(caplog) == []


async def test_an_unexpected_error_is_logged_once_with_its_correlation_id(
    exploding: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = await exploding.get("/api/v1/explode")  # would raise if re-raised
    error = assert_error(response, 500, "INTERNAL")
    correlation_id = error["details"][0]["correlation_id"]
    assert correlation_id in error["message"]
    [logged] = _tracebacks(caplog.records)
    assert logged.name == "app.errors"
    assert correlation_id in logged.getMessage()
    assert logged.correlation_id == correlation_id  # type: ignore[attr-defined]
    assert "secret-internal" in logging.Formatter().formatException(logged.exc_info)  # type: ignore[arg-type]
    [access] = _access_records(caplog)
    assert access.status == 500  # type: ignore[attr-defined]


async def test_under_uvicorn_an_unexpected_error_has_one_traceback(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """uvicorn logs what the app raises ("Exception in ASGI application", a second
    traceback): nothing may reach it."""
    app = _exploding_app(settings)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
    with caplog.at_level(logging.INFO):
        task = asyncio.create_task(server.serve(sockets=[listener]))
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                await wait_until(lambda: server.started or task.done())
                response = await http.get("/api/v1/explode")
        finally:
            server.should_exit = True
            await task
            listener.close()
    error = assert_error(response, 500, "INTERNAL")
    correlation_id = error["details"][0]["correlation_id"]
    [logged] = _tracebacks(caplog.records)
    assert correlation_id in logged.getMessage()
    assert not [r for r in caplog.records if "Exception in ASGI" in r.getMessage()]


async def test_json_lines_parse_and_carry_the_fields(
    exploding: httpx.AsyncClient, settings: Settings, root_logging: None
) -> None:
    stream = io.StringIO()
    logs.configure(settings.model_copy(update={"log_format": "json"}))
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    assert (await exploding.get(f"{NS}")).status_code == 200
    failed = await exploding.get("/api/v1/explode")
    correlation_id = failed.json()["error"]["details"][0]["correlation_id"]
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]

    access = [e for e in entries if e["logger"] == "app.access"]
    assert [(e["method"], e["path"], e["status"]) for e in access] == [
        ("GET", "/api/v1/namespaces/default", 200),
        ("GET", "/api/v1/explode", 500),
    ]
    for entry in access:
        assert {"time", "level", "message", "duration_ms", "client"} <= set(entry)
        assert entry["level"] == "INFO"
        assert entry["time"].endswith("Z")
    [error] = [e for e in entries if "traceback" in e]
    assert error["logger"] == "app.errors"
    assert error["level"] == "ERROR"
    assert error["correlation_id"] == correlation_id
    assert correlation_id in error["message"]
    assert error["traceback"].count("Traceback (most recent call last)") == 1
    assert "RuntimeError: secret-internal" in error["traceback"]


def test_text_lines_read_time_level_logger_message() -> None:
    record = logging.LogRecord("app.access", logging.INFO, "", 0, "GET %s", ("/x",), None)
    date, time_of_day, level, name, message = logs.TextFormatter().format(record).split(" ", 4)
    assert (level, name, message) == ("INFO", "app.access:", "GET /x")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", date)
    assert re.fullmatch(r"\d\d:\d\d:\d\d,\d{3}", time_of_day)


@pytest.mark.slow
async def test_the_server_process_writes_json_lines(tmp_path: Path) -> None:
    """The real `serve`: uvicorn's own lines are JSON too, and a request is one line."""
    server = ServerProcess(f"sqlite:///{tmp_path}/gateway.db", tmp_path, {"log_format": "json"})
    async with server:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            assert (await http.get(f"{NS}")).status_code == 200
            assert (await http.get("/no/such/path")).status_code == 404
        assert server.stop() == 0
    entries: list[dict[str, Any]] = []
    for line in (tmp_path / "server-1.log").read_text().splitlines():
        if line.strip():
            entries.append(json.loads(line))  # every line: one JSON object
    paths = [(e["path"], e["status"]) for e in entries if e["logger"] == "app.access"]
    assert paths.count(("/api/v1/namespaces/default", 200)) == 1
    assert paths.count(("/no/such/path", 404)) == 1
    assert any(e["logger"].startswith("uvicorn") for e in entries)
    assert not [e for e in entries if "traceback" in e]
