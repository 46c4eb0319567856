"""The production start the Dockerfile runs: `uvicorn --factory hub.app:create_app`.

It must serve with real servers and a strong secret, and refuse to start — naming the
setting — with the development secret, without server URLs or with a bad value. The
Dockerfile's own CMD and HEALTHCHECK commands are read from it and run here (there is no
container engine on the test machines).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support import free_port

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent
DOCKERFILE = (Path(__file__).resolve().parents[2] / "Dockerfile").read_text()


def _dockerfile_command(instruction: str) -> list[str]:
    """The exec-form (JSON) command of the Dockerfile's CMD or HEALTHCHECK … CMD."""
    match = re.search(rf"^{instruction}\b.*?(\[.*\])\s*$", DOCKERFILE, re.MULTILINE)
    assert match, f"no exec-form {instruction} in the Dockerfile"
    command: list[str] = json.loads(match.group(1))
    return command


def _served_on(command: list[str], port: int) -> list[str]:
    """The Dockerfile's CMD on a loopback port, with this environment's uvicorn."""
    assert command[0] == "uvicorn"
    args = command[1:]
    args[args.index("--host") + 1] = "127.0.0.1"
    args[args.index("--port") + 1] = str(port)
    return [str(BIN / "uvicorn"), *args]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_ENV="production", HUB_LOG_LEVEL="WARNING", **extra)
    return env


def test_uvicorn_factory_serves_in_production(database_url: str, redis_url: str) -> None:
    cmd = _dockerfile_command("CMD")
    # One process per container: several would need PROMETHEUS_MULTIPROC_DIR for /metrics,
    # and uvicorn's supervisor exits 0 when a worker cannot start.
    assert "--workers" not in cmd
    port = free_port()
    env = _env(
        HUB_DATABASE_URL=database_url,
        HUB_REDIS_URL=redis_url,
        HUB_SECRET_KEY="s" * 48,
        HUB_SMTP_URL="smtps://hub:pw@mail.hub.example:465",
        # Neither localhost nor 127.0.0.1: the health check must still get through.
        HUB_ALLOWED_HOSTS="hub.example.com,*.hub.example.com",
    )
    proc = subprocess.Popen(
        _served_on(cmd, port),
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
                r = httpx.get(base + "/ready", headers={"host": "hub.example.com"}, timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "did not start"
                time.sleep(0.2)
        assert r.status_code == 200
        assert "strict-transport-security" in r.headers
        assert "server" not in r.headers
        wrong_host = httpx.get(base + "/health", headers={"host": "localhost"})
        assert wrong_host.status_code == 400
        # What the old HEALTHCHECK sent (Host: 127.0.0.1) is refused too ...
        assert httpx.get(base + "/health").status_code == 400
        # ... the Dockerfile's HEALTHCHECK passes, with the first allowed host or a wildcard.
        health = _dockerfile_command("HEALTHCHECK")
        assert health[:2] == ["python", "-c"]
        assert ":8000/health" in health[2]
        code = health[2].replace(":8000/health", f":{port}/health")
        for allowed in ("hub.example.com,*.hub.example.com", "*.hub.example.com"):
            check = subprocess.run(
                [sys.executable, "-c", code],
                env={**env, "HUB_ALLOWED_HOSTS": allowed},
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
            assert check.returncode == 0, check.stderr
        refused = subprocess.run(
            [sys.executable, "-c", code],
            env={**env, "HUB_ALLOWED_HOSTS": "other.example"},
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        assert refused.returncode != 0  # a host the server does not serve fails the check
        assert "400" in refused.stderr
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
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("extra", "line"),
    [
        (
            {"HUB_DATABASE_URL": "garbage"},
            "hub: HUB_DATABASE_URL must be a postgresql:// URL with a host or socket",
        ),
        (
            {"HUB_DATABASE_URL": "mysql://hub:pw@db/hub"},
            "hub: HUB_DATABASE_URL must be a postgresql:// URL with a host or socket",
        ),
        ({"HUB_DB_POOL_SIZE": "abc"}, "hub: HUB_DB_POOL_SIZE must be an integer from 1 to 1000"),
        ({"HUB_ACCESS_TOKEN_TTL_SECONDS": "-5"}, "hub: HUB_ACCESS_TOKEN_TTL_SECONDS must be"),
        ({"HUB_SMTP_URL": "http://mail.example"}, "hub: HUB_SMTP_URL must be an smtp://"),
        (
            {"HUB_SMTP_URL": ""},  # production without SMTP: token mail would go to disk
            "hub: Refusing to start in production: HUB_SMTP_URL must be set",
        ),
        (
            {"HUB_SMTP_URLS": "smtps://other.hub.example,smtps://mail.hub.example"},
            "hub: HUB_SMTP_URLS must start with HUB_SMTP_URL when both are set",
        ),
    ],
)
def test_a_bad_setting_stops_uvicorn_with_one_line(extra: dict[str, str], line: str) -> None:
    env = _env(
        HUB_DATABASE_URL="postgresql://db/hub",
        HUB_REDIS_URL="redis://cache",
        HUB_SECRET_KEY="s" * 48,
        HUB_SMTP_URL="smtps://mail.hub.example",
    )
    env.update(extra)
    result = subprocess.run(
        _served_on(_dockerfile_command("CMD"), 1),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3  # uvicorn's "startup failure"
    assert result.stderr.strip().startswith(line), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert ":pw@" not in result.stderr


def _wait_for_line(proc: subprocess.Popen[str], prefix: str, timeout_s: float = 120) -> str:
    """The first stderr line starting with ``prefix`` (the process keeps running)."""
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout_s
    seen: list[str] = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"no line starting {prefix!r}:\n{''.join(seen)[-3000:]}")


@pytest.mark.timeout(300)  # two uvicorn supervisors, each starting two workers
def test_several_workers_without_a_multiprocess_directory_refuse_to_start(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """`uvicorn --workers 2` used to serve with per-process metrics (each scrape showed
    whichever worker answered); now each worker stops with one line naming the variable."""
    port = free_port()
    env = _env(
        HUB_DATABASE_URL=database_url,
        HUB_REDIS_URL=redis_url,
        HUB_SECRET_KEY="s" * 48,
        HUB_SMTP_URL="smtps://hub:pw@mail.hub.example:465",
        HUB_ALLOWED_HOSTS="localhost",
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [*_served_on(_dockerfile_command("CMD"), port), "--workers", "2"]
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        line = _wait_for_line(proc, "hub: ")
        assert line.startswith(
            "hub: PROMETHEUS_MULTIPROC_DIR must name an empty, writable directory"
        )
        assert "uvicorn runs 2 workers" in line
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/health", headers={"host": "localhost"}, timeout=2)
    finally:
        proc.kill()
        proc.wait(timeout=30)

    # With the directory, both workers serve and /metrics adds their counts up.
    multiproc = tmp_path / "metrics"
    multiproc.mkdir()
    proc = subprocess.Popen(
        command,
        env={**env, "PROMETHEUS_MULTIPROC_DIR": str(multiproc)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        host = {"host": "localhost"}
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, "uvicorn --workers 2 stopped"
            try:
                if httpx.get(base + "/ready", headers=host, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "did not start"
            time.sleep(0.2)
        for _ in range(8):  # new connections: the kernel spreads them over the workers
            assert httpx.get(base + "/api/v1/permissions", headers=host).status_code == 401
        assert len(list(multiproc.glob("counter_*.db"))) >= 1
        metrics = httpx.get(base + "/metrics", headers=host).text
        count = re.search(
            r'^hub_requests_total\{method="GET",path="/api/v1/permissions",'
            r'status_code="401"\} (\S+)$',
            metrics,
            re.MULTILINE,
        )
        assert count is not None, metrics[-2000:]
        assert float(count.group(1)) == 8
    finally:
        proc.terminate()
        proc.wait(timeout=60)
