"""The API explorers render in a real browser (Debian's headless Chromium) against the
real server, and every request the page makes goes to the gateway: the browser's network
log is recorded and any page request to another host fails the test. The gateway is
reached by a name of its own (not localhost, which some explorers treat apart), and every
other name resolves to nothing, so a leak shows as a failed request, never a wait."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.server import ServerProcess

OPERATIONS = ["StartWorkflowExecution", "RegisterNamespace", "SignalWorkflowExecution"]
BROWSER_TIMEOUT_SECONDS = 90.0
HOST = "gateway.test"  # resolved to the server's loopback address by the browser alone


@pytest.fixture
def chromium() -> str:
    """The browser's path; requested before the server so a skip costs no boot."""
    path = shutil.which("chromium")
    if path is None:
        reason = "chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the browser test")
        pytest.skip(reason)
    return path


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[ServerProcess]:
    async with ServerProcess(database_url, tmp_path) as process:
        yield process


async def _dump_dom(chromium: str, url: str, profile: Path, net_log: Path) -> str:
    """The DOM after the page's scripts ran (virtual time lets them finish); every
    request goes to ``net_log``."""
    browser = await asyncio.create_subprocess_exec(
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--host-resolver-rules=MAP {HOST} 127.0.0.1, MAP * ~NOTFOUND",
        f"--log-net-log={net_log}",
        "--virtual-time-budget=10000",
        "--dump-dom",
        url,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        stdout, stderr = await asyncio.wait_for(browser.communicate(), BROWSER_TIMEOUT_SECONDS)
    except TimeoutError:
        os.killpg(browser.pid, signal.SIGKILL)
        await browser.wait()
        raise AssertionError(f"chromium did not finish rendering {url}") from None
    assert browser.returncode == 0, f"chromium failed on {url}:\n{stderr.decode()[-3000:]}"
    return stdout.decode()


def page_requests(net_log: Path, origin: str) -> list[str]:
    """The URL of every request the page made: its own load and what it initiated
    (scripts, styles, fonts, images, fetches). The browser's own traffic (updates,
    accounts) is initiated by no origin and is not the page's."""
    log: dict[str, Any] = json.loads(net_log.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in log["events"]:
        params = event.get("params") or {}
        if event["type"] != start_job or "url" not in params:
            continue
        if params.get("initiator") == origin or params.get("request_type") == "main frame":
            urls.append(params["url"])
    return urls


@pytest.mark.slow
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_explorer_renders_the_operations_loading_nothing_from_elsewhere(
    chromium: str, server: ServerProcess, tmp_path: Path, page: str
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        served = (await http.get(page)).text
    # The names come from /openapi.json, so only a rendered page can show them.
    assert not [op for op in OPERATIONS if op in served]

    origin = f"http://{HOST}:{server.port}"
    net_log = tmp_path / "net-log.json"
    dom = await _dump_dom(chromium, origin + page, tmp_path / "chromium-profile", net_log)

    requests = page_requests(net_log, origin)
    assert f"{origin}/openapi.json" in requests, requests  # the log saw the page's fetches
    elsewhere = [u for u in requests if urlsplit(u).netloc != f"{HOST}:{server.port}"]
    assert not elsewhere, f"{page} made requests that left the gateway: {elsewhere}"

    missing = [op for op in OPERATIONS if op not in dom]
    assert not missing, f"{page} rendered without {missing}:\n{dom[:3000]}\n{server.logs()}"
    assert "Failed to load API definition" not in dom
