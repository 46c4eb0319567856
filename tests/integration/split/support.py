"""Real ``hub run`` processes serving some contexts, and remote adapters talking to them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from hub.kernel.clock import Clock, wall_clock
from hub.kernel.remote.client import RemoteClient, remote_adapter
from hub.kernel.remote.interface import Interface
from hub.kernel.remote.tokens import ServiceTokens, service_key
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from tests.support import free_port

HUB = Path(sys.executable).with_name("hub")
START_TIMEOUT_S = 90  # a failure bound for a loaded machine, not a speed claim


def hub_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_ENV="test",
        HUB_DATABASE_URL=settings.database_url or "",
        HUB_REDIS_URL=settings.redis_url or "",
        HUB_DATA_DIR=str(settings.data_dir),
        HUB_LOG_LEVEL="WARNING",
        HUB_PASSWORD_HASH_TIME_COST="1",
        HUB_PASSWORD_HASH_MEMORY_KIB="1024",
        HUB_WORKER_IDLE_POLL_MS="50",
        HUB_RATE_LIMIT_AUTH="1000/60",
        HUB_RATE_LIMIT_MAIL_PER_ADDRESS="100/3600",
    )
    env.update(extra)
    return env


def wait_until_up(proc: subprocess.Popen[bytes], base: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise AssertionError(f"hub run exited with {proc.returncode}:\n{err[-3000:]}")
        try:
            if httpx.get(base + "/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"hub run on {base} did not become ready")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def hub_process(
    settings: Settings,
    contexts: str,
    *,
    worker: bool = False,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``hub run --contexts <contexts>`` on a free port; yields (process, base URL)."""
    port = port or free_port()
    proc = subprocess.Popen(
        [
            str(HUB),
            "run",
            "--port",
            str(port),
            "--no-migrate",
            "--worker" if worker else "--no-worker",
            "--contexts",
            contexts,
        ],
        env=hub_env(settings, **dict(env or {})),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(proc, base)
        yield proc, base
    finally:
        stop(proc)


class Backoffs:
    """The adapter's sleep between retries, recorded instead of waited for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def remote_client(
    kernel: Kernel,
    context: str,
    base_url: str,
    *,
    clock: Clock = wall_clock,
    transport: httpx.AsyncBaseTransport | None = None,
    **overrides: Any,
) -> RemoteClient:
    """A client of ``context`` at ``base_url`` with the kernel's settings (test overrides)."""
    s = kernel.settings
    options: dict[str, Any] = {
        "timeout_s": s.remote_timeout_ms / 1000,
        "retries": s.remote_retries,
        "backoff_s": s.remote_backoff_ms / 1000,
        "sleep": Backoffs(),
        "breaker_failures": s.remote_breaker_failures,
        "breaker_reset_s": s.remote_breaker_reset_s,
        **overrides,
    }
    client = RemoteClient(
        context,
        base_url,
        tokens=ServiceTokens(service_key(s.secret_key, s.service_key)),
        redis=kernel.redis,
        clock=clock,
        transport=transport,
        **options,
    )
    kernel.remote_clients.append(client)
    return client


def adapter(interface: Interface, client: RemoteClient) -> Any:
    return remote_adapter(interface, client)
