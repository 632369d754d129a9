"""The API explorers render in a real browser (Debian's headless Chromium) against the
real server, with nothing but the server to load from."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import ServerProcess

OPERATIONS = ["StartWorkflowExecution", "RegisterNamespace", "SignalWorkflowExecution"]
BROWSER_TIMEOUT_SECONDS = 90.0


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


async def _dump_dom(chromium: str, url: str, profile: Path) -> str:
    """The DOM after the page's scripts ran (virtual time lets them finish)."""
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


@pytest.mark.slow
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_explorer_renders_the_operations(
    chromium: str, server: ServerProcess, tmp_path: Path, page: str
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        served = (await http.get(page)).text
    # The names come from /openapi.json, so only a rendered page can show them.
    assert not [op for op in OPERATIONS if op in served]

    dom = await _dump_dom(chromium, server.base_url + page, tmp_path / "chromium-profile")

    missing = [op for op in OPERATIONS if op not in dom]
    assert not missing, f"{page} rendered without {missing}:\n{dom[:3000]}\n{server.logs()}"
    assert "Failed to load API definition" not in dom
