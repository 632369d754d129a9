"""The README's walk through the API runs top to bottom as written: its bash blocks, in
order, run by bash against a real server (only the base URL is changed). Every curl in
them must get a 2xx, and each outcome the README states (``# -> {...}`` under a result
call) is what the server then reports."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.server import ServerProcess

README = Path(__file__).resolve().parents[2] / "README.md"
WALK_HEADING = "## A walk through the API with curl"
BASE_URL_LINE = "GW=http://127.0.0.1:7243/api/v1"
BASH_BLOCK = re.compile(r"^```bash\n(.*?)^```$", re.M | re.S)
# A result call and the outcome the README states under it.
STATED_OUTCOME = re.compile(
    r'^curl -s "\$GW/namespaces/(?P<ns>[\w-]+)/workflows/(?P<id>[\w-]+)/result[^"]*"\n'
    r"# -> (?P<outcome>\{.*\})$",
    re.M,
)
# Every curl of the walk leaves its response headers in a file of its own, named in
# call order, for the test to read each status.
PRELUDE = """set -euo pipefail
curl() { command curl --dump-header "$(mktemp "$CALLS/$(date +%s%N)-XXXXXX")" "$@"; }
"""
WALK_TIMEOUT_SECONDS = 60.0


def walk_blocks() -> list[str]:
    """The bash blocks of the README's walk section (to the next level-2 heading)."""
    text = README.read_text()
    start = text.index(WALK_HEADING)
    end = text.index("\n## ", start + len(WALK_HEADING))
    return BASH_BLOCK.findall(text[start:end])


def stated(outcome: str) -> dict[str, Any]:
    """``{"status": "COMPLETED", "result": {...}, ...}``: the fields the README names."""
    fields: dict[str, Any] = json.loads(re.sub(r",\s*\.\.\.\}$", "}", outcome))
    return fields


@pytest.mark.slow
async def test_the_readme_walk_runs_top_to_bottom(database_url: str, tmp_path: Path) -> None:
    blocks = walk_blocks()
    assert len(blocks) >= 3, "the walk, the worker section and cancel/terminate"
    script = "\n".join(blocks)
    assert script.count(BASE_URL_LINE) == 1, f"the walk must set {BASE_URL_LINE}"
    outcomes = [m.groupdict() for m in STATED_OUTCOME.finditer(script)]
    assert len(outcomes) >= 2, "the README states the walk's outcomes"
    calls = len(re.findall(r"\bcurl -s\b", script))

    calls_dir = tmp_path / "calls"
    calls_dir.mkdir()
    async with ServerProcess(database_url, tmp_path) as server:
        walk = script.replace(BASE_URL_LINE, f"GW={server.base_url}/api/v1")
        bash = await asyncio.create_subprocess_exec(
            "bash",
            "-c",
            PRELUDE + walk,
            cwd=tmp_path,
            env={**os.environ, "CALLS": str(calls_dir)},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its curls end with it
        )
        try:
            output, _ = await asyncio.wait_for(bash.communicate(), WALK_TIMEOUT_SECONDS)
        except TimeoutError:
            os.killpg(bash.pid, signal.SIGKILL)
            await bash.wait()
            raise AssertionError(
                f"the walk did not end within {WALK_TIMEOUT_SECONDS:g} s: a long poll with "
                f"nothing to answer?\n{server.logs()}"
            ) from None
        transcript = output.decode(errors="replace")
        assert bash.returncode == 0, f"the walk failed:\n{transcript[-4000:]}\n{server.logs()}"

        statuses = []
        for headers in sorted(calls_dir.iterdir()):
            status_line = headers.read_text().splitlines()[0]
            statuses.append((int(status_line.split()[1]), headers.name))
        assert len(statuses) == calls, transcript[-4000:]
        failed = [s for s in statuses if not 200 <= s[0] < 300]
        assert not failed, f"calls of the walk that failed: {failed}\n{transcript[-4000:]}"

        async with httpx.AsyncClient(base_url=f"{server.base_url}/api/v1") as http:
            for outcome in outcomes:
                response = await http.get(
                    f"/namespaces/{outcome['ns']}/workflows/{outcome['id']}/result"
                )
                expected = stated(outcome["outcome"])
                actual = {k: response.json().get(k) for k in expected}
                assert actual == expected, outcome["id"]
