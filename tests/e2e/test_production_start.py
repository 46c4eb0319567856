"""The production start the Dockerfile runs: `uvicorn --factory hub.app:create_app`.

It must serve with real servers and a strong secret, and refuse to start — naming the
setting — with the development secret or without server URLs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support import free_port

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_ENV="production", HUB_LOG_LEVEL="WARNING", **extra)
    return env


def test_uvicorn_factory_serves_in_production(database_url: str, redis_url: str) -> None:
    port = free_port()
    env = _env(
        HUB_DATABASE_URL=database_url,
        HUB_REDIS_URL=redis_url,
        HUB_SECRET_KEY="s" * 48,
        HUB_ALLOWED_HOSTS="127.0.0.1",
    )
    proc = subprocess.Popen(
        [
            str(BIN / "uvicorn"),
            "--factory",
            "hub.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-server-header",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                r = httpx.get(base + "/ready", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "did not start"
                time.sleep(0.2)
        assert r.status_code == 200
        assert "strict-transport-security" in r.headers
        assert "server" not in r.headers
        wrong_host = httpx.get(base + "/health", headers={"host": "localhost"})
        assert wrong_host.status_code == 400
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    logs = proc.stderr.read().decode() if proc.stderr else ""
    assert "s" * 48 not in logs  # the secret is never logged


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (
            {"HUB_DATABASE_URL": "postgresql://db/hub", "HUB_REDIS_URL": "redis://r"},
            "HUB_SECRET_KEY",
        ),
        ({"HUB_SECRET_KEY": "s" * 48}, "HUB_DATABASE_URL"),
    ],
)
def test_production_refuses_unsafe_configuration(extra: dict[str, str], named: str) -> None:
    result = subprocess.run(
        [str(BIN / "uvicorn"), "--factory", "hub.app:create_app", "--port", "1"],
        env=_env(**extra),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert named in result.stderr
    assert "Refusing to start in production" in result.stderr
