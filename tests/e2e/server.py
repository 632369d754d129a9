"""Run the real server (``python -m app serve``) as a child process for end-to-end tests.

The process gets a free loopback port and the given database URL, its output goes to a
log file under the test's tmp_path (quoted in failure messages), and it can be killed
with SIGKILL or stopped with SIGTERM, then started again on the same database."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path
from typing import IO

import httpx

from bench.server import end, free_port, launch
from tests.conftest import ROOMY_LIMITS

# Waiting for a real process to boot is the one wait these tests allow: bounded, in
# short steps, and cut short as soon as the process exits.
BOOT_ATTEMPTS = 200
BOOT_STEP_SECONDS = 0.05
LOG_TAIL_CHARS = 4000
PORT_ATTEMPTS = 3


class PortTaken(Exception):
    """Another process bound the chosen port first."""


class ServerProcess:
    """One server on one database; each start() launches a new process (a new port and
    log file) on that same database. ``async with`` starts it and kills it at the end."""

    def __init__(
        self, database_url: str, log_dir: Path, settings: dict[str, str] | None = None
    ) -> None:
        self.database_url = database_url
        self.log_dir = log_dir
        self.settings = settings or {}
        self.port = 0
        self.starts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The running process's id (to signal it directly), 0 when there is none."""
        return self._process.pid if self._process is not None else 0

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    async def __aenter__(self) -> ServerProcess:
        try:
            await self.start()
        except BaseException:
            self.kill()
            raise
        return self

    async def __aexit__(self, *_: object) -> None:
        self.kill()

    async def start(self) -> None:
        """Launch the server and return once GET /healthz answers 200. A port taken
        between free_port() and the server's bind is retried on another port."""
        for _ in range(PORT_ATTEMPTS):
            self._launch()
            try:
                await self._wait_healthy()
                return
            except PortTaken:
                continue
        raise AssertionError(f"no free port after {PORT_ATTEMPTS} attempts\n{self.logs()}")

    def _launch(self) -> None:
        """Fork the server process (returns at once; the wait is _wait_healthy). Budgets
        are roomy enough for tests that drive hundreds of calls; the test's own settings
        come on top."""
        assert not self.running, "the server is already running"
        self.starts += 1
        self.port = free_port()
        self._log = (self.log_dir / f"server-{self.starts}.log").open("wb")
        settings = {**{k: str(v) for k, v in ROOMY_LIMITS.items()}, **self.settings}
        self._process = launch(self.database_url, self.port, self._log, settings)

    async def _wait_healthy(self) -> None:
        last = "no answer yet"
        async with httpx.AsyncClient(base_url=self.base_url, timeout=1.0) as http:
            for _ in range(BOOT_ATTEMPTS):
                if not self.running:
                    code = self._signal(signal.SIGKILL)  # only reaps it and closes the log
                    if "address already in use" in self._current_log().lower():
                        raise PortTaken
                    raise AssertionError(
                        f"the server exited with {code} while starting\n{self.logs()}"
                    )
                try:
                    response = await http.get("/healthz")
                except httpx.TransportError as exc:
                    last = repr(exc)
                else:
                    if response.status_code == 200:
                        return
                    last = f"{response.status_code} {response.text}"
                await asyncio.sleep(BOOT_STEP_SECONDS)
        self.kill()
        raise AssertionError(f"the server never became healthy ({last})\n{self.logs()}")

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        self._signal(signal.SIGKILL)

    def stop(self) -> int:
        """A graceful stop (SIGTERM); returns the exit status."""
        return self._signal(signal.SIGTERM)

    def _signal(self, signum: signal.Signals) -> int:
        process = self._process
        if process is None:
            return 0
        code = end(process, signum)
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    def _current_log(self) -> str:
        path = self.log_dir / f"server-{self.starts}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        """The tail of every log this server wrote, for failure messages."""
        parts = []
        for number in range(1, self.starts + 1):
            path = self.log_dir / f"server-{number}.log"
            text = path.read_text(errors="replace") if path.exists() else ""
            parts.append(f"--- {path.name} ---\n{text[-LOG_TAIL_CHARS:]}")
        return "\n".join(parts)


async def long_polls_waiting(server: ServerProcess, kind: str, count: int) -> None:
    """Until ``server`` counts ``count`` long polls of ``kind`` (workflow, activity,
    history) waiting, read from its metrics in bounded steps, as the boot is waited for."""
    gauge = f'temporal_gateway_long_polls_waiting{{kind="{kind}"}}'
    async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as http:
        for _ in range(BOOT_ATTEMPTS):
            metrics = (await http.get("/metrics")).text
            lines = [line for line in metrics.splitlines() if line.startswith(gauge)]
            if lines and float(lines[0].split()[-1]) >= count:
                return
            await asyncio.sleep(BOOT_STEP_SECONDS)
    raise AssertionError(f"{count} {kind} long poll(s) never reached the server")
