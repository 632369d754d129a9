"""Two real gateway processes on one Redis draw on one budget: a client's calls to
either process count against the same limit."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import ServerProcess

pytestmark = pytest.mark.slow


async def test_two_processes_share_one_client_budget(tmp_path: Path) -> None:
    shared = {
        "rate_limit_storage": "redis://127.0.0.1:6379/0",
        "rate_limit_key_prefix": f"e2e-{uuid.uuid4().hex}",
        "rate_limit_client": "5/day",
    }
    first = ServerProcess(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "a", shared)
    second = ServerProcess(f"sqlite:///{tmp_path / 'b.db'}", tmp_path / "b", shared)
    for server in (first, second):
        server.log_dir.mkdir()
    async with first, second, httpx.AsyncClient(timeout=10) as http:
        answers = [
            await http.get(f"{(first, second)[n % 2].base_url}/api/v1/namespaces") for n in range(7)
        ]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 2, first.logs()
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == [
        "4",
        "3",
        "2",
        "1",
        "0",
        "0",
        "0",
    ]
    assert {a.headers["X-RateLimit-Scope"] for a in answers} == {"client:127.0.0.1"}
    detail = answers[-1].json()["error"]["details"][0]
    assert (detail["scope"], detail["limit"], detail["window"]) == ("client:127.0.0.1", 5, "1d")
