"""SQLite serves one gateway process: a second server on the same file is refused with a
clear reason, whatever name it reaches the file by (a symlink, a hard link), and the file
is free again once the first has stopped."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from app.settings import Settings
from bench.server import free_port
from tests.e2e.server import ServerProcess


def _app(path: Path) -> FastAPI:
    return create_app(Settings(database_url=f"sqlite:///{path}", run_background_loops=False))


async def test_a_second_server_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gateway.db"
    first, second = _app(path), _app(path)
    first.state.ctx.db.claim_sole_server()  # as `serve` does before the app starts
    async with first.router.lifespan_context(first):
        with pytest.raises(RuntimeError, match="another gateway process is serving"):
            async with second.router.lifespan_context(second):
                pass
    async with second.router.lifespan_context(second):
        pass


@pytest.mark.parametrize("link", ["symlink", "hard link"])
async def test_a_second_server_through_a_link_to_the_file_is_refused(
    tmp_path: Path, link: str
) -> None:
    path = tmp_path / "gateway.db"
    first = _app(path)
    first.state.ctx.db.claim_sole_server()
    async with first.router.lifespan_context(first):
        (tmp_path / "elsewhere").mkdir()
        other = tmp_path / "elsewhere" / "other-name.db"
        if link == "symlink":
            other.symlink_to(path)
        else:
            other.hardlink_to(path)
        second = _app(other)
        with pytest.raises(RuntimeError, match="another gateway process is serving"):
            second.state.ctx.db.claim_sole_server()
        # The first server is untouched: it still writes.
        transport = httpx.ASGITransport(app=first)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            started = await client.post(
                "/api/v1/namespaces/default/workflows",
                json={"workflow_id": "w", "workflow_type": {"name": "W"}, "task_queue": "q"},
            )
            assert started.status_code == 200, started.text
    assert not (tmp_path / "elsewhere" / "other-name.db-wal").exists()
    second.state.ctx.db.claim_sole_server()  # free once the first has stopped
    await second.state.ctx.db.close()


async def test_servers_on_different_files_do_not_interfere(tmp_path: Path) -> None:
    first, second = _app(tmp_path / "a.db"), _app(tmp_path / "b.db")
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        pass


@pytest.mark.slow
async def test_serve_through_a_hard_link_is_one_line_and_leaves_nothing_beside_it(
    tmp_path: Path,
) -> None:
    """`serve` takes the lock before anything opens the file: SQLite opening it under the
    link's name would make a -wal and -shm of its own there."""
    path = tmp_path / "gateway.db"
    async with ServerProcess(f"sqlite:///{path}", tmp_path):
        (tmp_path / "elsewhere").mkdir()
        link = tmp_path / "elsewhere" / "linked.db"
        link.hardlink_to(path)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_GATEWAY_")}
        env["TEMPORAL_GATEWAY_DATABASE_URL"] = f"sqlite:///{link}"
        env["TEMPORAL_GATEWAY_PORT"] = str(free_port())
        env["TEMPORAL_GATEWAY_GRPC_PORT"] = "0"
        second = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app", "serve", env=env, stderr=asyncio.subprocess.PIPE
        )
        _, err = await asyncio.wait_for(second.communicate(), 60)
    assert second.returncode != 0
    assert "another gateway process is serving" in err.decode()
    assert "Traceback" not in err.decode()
    assert sorted(p.name for p in link.parent.iterdir()) == ["linked.db"]
