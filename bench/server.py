"""The gateway as a real child process, for the benchmarks and the end-to-end tests:
``python -m app serve`` on a free loopback port, its output in a log file. ``launch`` and
``end`` are shared with tests/e2e/server.py; ``ServerProcess`` is the benchmarks' (sync)
handle, stopped with SIGTERM on exit."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BOOT_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
# The benchmarks' gateway runs as installed: rate limits on, at the default profile
# (app/rate_limits/profiles.py), which is sized to admit the bench from its one client
# (tests/api/test_rate_limit_profiles.py) and has no cap on running executions.
GATEWAY_SETTINGS: dict[str, str] = {}


def free_port() -> int:
    """A port the kernel just considered free on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def launch(
    database_url: str, port: int, log: IO[bytes], settings: dict[str, str]
) -> subprocess.Popen[bytes]:
    """Start ``python -m app serve`` (returns at once; the caller waits for /healthz).
    No TEMPORAL_GATEWAY_* setting of this environment leaks in: ``settings`` and the
    command line decide. gRPC is off (never the fixed 7233) unless ``settings`` give it
    a ``grpc_port``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_GATEWAY_")}
    settings = {"grpc_port": "0", **settings}
    env.update({f"TEMPORAL_GATEWAY_{k.upper()}": v for k, v in settings.items()})
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--database-url",
            database_url,
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def end(process: subprocess.Popen[bytes], signum: signal.Signals) -> int:
    """Send ``signum`` unless the process has exited, wait for it (SIGKILL after the
    timeout) and return its exit status."""
    if process.poll() is None:
        process.send_signal(signum)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
    return process.returncode


class ServerProcess:
    """``python -m app serve`` on a free loopback port, stopped with SIGTERM on exit. Its
    log goes to ``log_path``. With ``grpc``, its gRPC door is open on another free port
    (``grpc_address``); otherwise it is off."""

    def __init__(
        self,
        database_url: str,
        log_path: Path,
        settings: dict[str, str] | None = None,
        grpc: bool = False,
    ) -> None:
        self.database_url = database_url
        self.log_path = log_path
        self.settings = settings or {}
        self.grpc = grpc
        self.port = 0
        self.grpc_port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def grpc_address(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def pid(self) -> int:
        return self._process.pid if self._process is not None else 0

    def __enter__(self) -> ServerProcess:
        try:
            for _ in range(3):  # another process may take a port before the server binds
                self.port = free_port()
                settings = dict(self.settings)
                if self.grpc:
                    self.grpc_port = free_port()
                    while self.grpc_port == self.port:
                        self.grpc_port = free_port()
                    settings["grpc_port"] = str(self.grpc_port)
                self._log = self.log_path.open("wb")
                self._process = launch(self.database_url, self.port, self._log, settings)
                if self._wait_healthy():
                    return self
            raise SystemExit(f"the server could not bind a port\n{self._tail()}")
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _wait_healthy(self) -> bool:
        """True once /healthz answers 200; False if the port was taken."""
        deadline = time.monotonic() + BOOT_TIMEOUT_SECONDS
        with httpx.Client(base_url=self.base_url, timeout=1.0) as http:
            while time.monotonic() < deadline:
                assert self._process is not None
                if self._process.poll() is not None:
                    self.stop()
                    if "address already in use" in self._tail().lower():
                        return False
                    raise SystemExit(f"the server exited while starting\n{self._tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if http.get("/healthz").status_code == 200:
                        return True
                time.sleep(0.05)
        raise SystemExit(f"the server never became healthy\n{self._tail()}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            end(process, signal.SIGTERM)
        if self._log is not None:
            self._log.close()
            self._log = None

    def _tail(self) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-4000:]
