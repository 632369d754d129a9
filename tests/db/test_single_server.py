"""SQLite serves one gateway process: a second server on the same file is refused with a
clear reason, and the file is free again once the first has stopped."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI

from app.main import create_app
from app.settings import Settings


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


async def test_servers_on_different_files_do_not_interfere(tmp_path: Path) -> None:
    first, second = _app(tmp_path / "a.db"), _app(tmp_path / "b.db")
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        pass
