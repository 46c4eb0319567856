"""Targets run as subprocesses under uvicorn, one worker process each, as in production.

The server's CPU time (user + system, children included) is read from the outside with
psutil before and after each measured window: the one figure a busy shared machine does
not distort much, since it counts work done rather than time waited.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import psutil

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ServerSpec:
    """One app under uvicorn. ``env`` adds to (or, with ``None``, removes from) the
    environment the harness built; ``probe`` is a path that answers 200 once it serves."""

    name: str
    app: str
    factory: bool = False
    hub: bool = False
    env: Mapping[str, str | None] = field(default_factory=dict)
    probe: str = "/health"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(
        self, spec: ServerSpec, env: Mapping[str, str], log_dir: Path, *, keep_log: bool = False
    ) -> None:
        self.spec = spec
        self.keep_log = keep_log
        self.port = free_port()
        self.log_path = log_dir / f"{spec.name}.log"
        self._env = {k: v for k, v in {**env, **spec.env}.items() if v is not None}
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._ps: psutil.Process | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "uvicorn", self.spec.app]
        if self.spec.factory:
            cmd.append("--factory")
        # What a production start looks like: one worker, the fast loop and parser, no
        # uvicorn access log (the hub writes its own), no reload, no server header.
        cmd += ["--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
        cmd += ["--loop", "uvloop", "--http", "httptools", "--no-access-log"]
        cmd += ["--log-level", "warning", "--no-server-header", "--no-proxy-headers"]
        return cmd

    def start(self, timeout: float = 60.0) -> None:
        self._log = self.log_path.open("wb")
        self._proc = subprocess.Popen(
            self.command(), cwd=ROOT, env=self._env, stdout=self._log, stderr=subprocess.STDOUT
        )
        self._ps = psutil.Process(self._proc.pid)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"{self.spec.name} exited at start:\n{self.log_tail()}")
            if self._answers():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.spec.name} did not answer within {timeout}s:\n{self.log_tail()}")

    def _answers(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            conn.request("GET", self.spec.probe)
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
        return self.request("GET", path, headers=headers)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        # Generous: a sign-in waits for an argon2 slot, behind a storm's other sign-ins.
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=dict(headers or {}))
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    @property
    def pid(self) -> int | None:
        """The server process (uvicorn with one worker serves in this process itself)."""
        return None if self._proc is None else self._proc.pid

    def cpu_seconds(self) -> float:
        """CPU time of the server and every process it started, so far."""
        assert self._ps is not None
        total = 0.0
        for proc in [self._ps, *self._ps.children(recursive=True)]:
            try:
                t = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += t.user + t.system + t.children_user + t.children_system
        return total

    def rss_mb(self) -> float:
        assert self._ps is not None
        return float(self._ps.memory_info().rss) / 2**20

    def log_tail(self, lines: int = 30) -> str:
        if self._log is not None:
            self._log.flush()
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server; its log (an access line per request) goes unless it failed."""
        clean = False
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                # uvicorn re-raises the SIGTERM it handled once it has shut down cleanly.
                clean = self._proc.wait(timeout=15) in (0, -signal.SIGTERM)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        if clean and not self.keep_log:
            self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass
class Setup:
    """What a scenario's one-off setup (before the first round) gets to work with."""

    #: Starts a server of the run by name (a context manager, stopped on exit).
    server: Callable[[str], Server]
    hub_env: Mapping[str, str]
    #: The reference apps' environment: a setup may add the variables they need.
    base_env: dict[str, str]
    connections: int
    #: The longest a scenario's prepared credentials must stay valid (warm-up + window).
    window_s: float


def hub_environment(database_url: str, redis_url: str, base: Mapping[str, str]) -> dict[str, str]:
    """Production settings for the hub: real servers, a real secret, JSON logs."""
    env = {k: v for k, v in base.items() if not k.startswith("HUB_")}
    env.update(
        HUB_ENV="production",
        HUB_DATABASE_URL=database_url,
        HUB_REDIS_URL=redis_url,
        HUB_SECRET_KEY="bench-" + os.urandom(24).hex(),
        HUB_LOG_LEVEL="INFO",
        HUB_ALLOWED_HOSTS="127.0.0.1,localhost",
        # Required in production; never contacted (the bench runs no worker to send mail).
        HUB_SMTP_URL="smtps://mail.bench.invalid",
        # Rate limits stay on (their cost is part of every request) with quotas no bench
        # run can use up: one user and one address send thousands of requests a second.
        **{
            f"HUB_RATE_LIMIT_{bucket}": "1000000000/60"
            for bucket in ("READS", "WRITES", "UPLOADS", "SEARCH", "SENDS", "AUTH")
        },
    )
    return env
