"""The embedded PostgreSQL and Redis of ``hub run``: real processes, no mocks."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psutil
import pytest
import redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from hub.devservers import EmbeddedPostgres, EmbeddedRedis

pytestmark = pytest.mark.integration


# ------------------------------------------------------------------------- helpers


def _alive(proc: Any) -> bool:
    try:
        return bool(proc.is_running()) and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False


def _pid_alive(pid: int) -> bool:
    try:
        return _alive(psutil.Process(pid))
    except psutil.NoSuchProcess:
        return False


def _wait_dead(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while _pid_alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} still alive"
        time.sleep(0.02)


def _postmasters(pgdata: Path) -> list[int]:
    """Live postmasters of this cluster (backends rewrite their title, postmasters don't)."""
    return [
        p.pid
        for p in psutil.process_iter(["name", "cmdline"])
        if p.info["name"] == "postgres" and str(pgdata) in (p.info["cmdline"] or ()) and _alive(p)
    ]


def _redis_servers(directory: Path) -> list[int]:
    config = str(directory / "redis.conf")
    return [
        p.pid
        for p in psutil.process_iter(["name", "cmdline"])
        if p.info["name"] == "redis-server"
        and config in " ".join(p.info["cmdline"] or ())
        and _alive(p)
    ]


def _processes_under(root: Path) -> list[Any]:
    found = []
    for p in psutil.process_iter(["name", "cwd"]):
        cwd = p.info["cwd"] or ""
        if p.info["name"] in ("postgres", "redis-server") and cwd.startswith(str(root)):
            found.append(p)
    return found


async def _select_one(url: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text("SELECT 1"))).scalar_one())
    finally:
        await engine.dispose()


def _ping(redis_url: str) -> bool:
    client = redis.Redis.from_url(redis_url)
    try:
        return bool(client.ping())
    finally:
        client.close()


def _socket_dir(url: str) -> Path:
    return Path(parse_qs(urlsplit(url).query)["host"][0])


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="hub-emb-", dir="/tmp"))
    try:
        yield path
    finally:
        try:
            EmbeddedPostgres(path).stop()
        finally:
            EmbeddedRedis(path).stop()
            # safety net: never leak a server, even when stop() is broken
            for proc in _processes_under(path):
                proc.kill()
            shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------- tests


async def test_start_is_idempotent_and_stop_ends_the_servers(data_dir: Path) -> None:
    pg = EmbeddedPostgres(data_dir, database="hub_emb")
    rd = EmbeddedRedis(data_dir)

    url = pg.start()
    assert url == f"postgresql+asyncpg://postgres@/hub_emb?host={data_dir}/postgres"
    assert await _select_one(url) == 1
    pg_pid = pg.pid
    assert pg_pid is not None

    redis_url = rd.start()
    assert redis_url == f"unix://{data_dir}/redis/redis.sock"
    client = redis.Redis.from_url(redis_url)
    try:
        client.set("hub:embedded", b"kept")
    finally:
        client.close()
    redis_pid = rd.pid
    assert redis_pid is not None

    started = time.monotonic()
    assert pg.start() == url
    assert rd.start() == redis_url
    assert time.monotonic() - started < 1.0
    assert (pg.pid, rd.pid) == (pg_pid, redis_pid)

    pg.stop()
    rd.stop()
    assert pg.pid is None
    assert rd.pid is None
    assert not _pid_alive(pg_pid)
    assert not _pid_alive(redis_pid)
    assert _postmasters(data_dir / "postgres") == []
    assert _redis_servers(data_dir / "redis") == []
    pg.stop()  # idempotent
    rd.stop()

    # the append-only file keeps development data across a restart
    rd.start()
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.get("hub:embedded") == b"kept"
    finally:
        client.close()


async def test_orphans_of_a_killed_parent_are_reused(data_dir: Path) -> None:
    pids_file = data_dir / "pids.txt"
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from hub.devservers import EmbeddedPostgres, EmbeddedRedis\n"
        "d = Path(sys.argv[1])\n"
        "pg, rd = EmbeddedPostgres(d), EmbeddedRedis(d)\n"
        "pg.start(); rd.start()\n"
        "tmp = d / 'pids.tmp'\n"
        "tmp.write_text(f'{pg.pid} {rd.pid}')\n"
        "tmp.rename(d / 'pids.txt')\n"
        "time.sleep(600)\n"
    )
    with (data_dir / "child.log").open("wb") as log:
        child = subprocess.Popen(
            [sys.executable, "-c", script, str(data_dir)], stdout=log, stderr=log
        )
    try:
        deadline = time.monotonic() + 60
        while not pids_file.exists():
            assert child.poll() is None, (data_dir / "child.log").read_text()
            assert time.monotonic() < deadline, "child did not start the servers"
            time.sleep(0.05)
        pg_pid, redis_pid = map(int, pids_file.read_text().split())
    finally:
        child.kill()
        child.wait()

    # the servers outlive the SIGKILLed parent ...
    assert _pid_alive(pg_pid)
    assert _pid_alive(redis_pid)

    # ... and the next start adopts them instead of starting second ones
    pg, rd = EmbeddedPostgres(data_dir), EmbeddedRedis(data_dir)
    url = pg.start()
    redis_url = rd.start()
    assert (pg.pid, rd.pid) == (pg_pid, redis_pid)
    assert await _select_one(url) == 1
    assert _ping(redis_url)
    assert _postmasters(data_dir / "postgres") == [pg_pid]
    assert _redis_servers(data_dir / "redis") == [redis_pid]

    pg.stop()
    rd.stop()
    assert _postmasters(data_dir / "postgres") == []
    assert _redis_servers(data_dir / "redis") == []
    assert _processes_under(data_dir) == []


def test_concurrent_starts_share_one_server(data_dir: Path) -> None:
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from hub.devservers import EmbeddedPostgres, EmbeddedRedis\n"
        "d = Path(sys.argv[1])\n"
        "pg, rd = EmbeddedPostgres(d), EmbeddedRedis(d)\n"
        "pg.start(); rd.start()\n"
        "print(pg.pid, rd.pid)\n"
    )
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(data_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = []
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        outputs.append(out.split())
    assert outputs[0] == outputs[1] == outputs[2]
    pg_pid, redis_pid = map(int, outputs[0])
    assert _postmasters(data_dir / "postgres") == [pg_pid]
    assert _redis_servers(data_dir / "redis") == [redis_pid]


async def test_stale_pid_files_are_recovered(data_dir: Path) -> None:
    pg, rd = EmbeddedPostgres(data_dir), EmbeddedRedis(data_dir)
    pg.start()
    rd.start()
    bystander = subprocess.Popen(["sleep", "60"])  # a live process that is not our server
    try:
        for reuse_pid in (False, True):
            old_pg, old_redis = pg.pid, rd.pid
            assert old_pg is not None
            assert old_redis is not None
            os.kill(old_pg, signal.SIGKILL)
            os.kill(old_redis, signal.SIGKILL)
            _wait_dead(old_pg)
            _wait_dead(old_redis)
            pidfile = data_dir / "postgres" / "postmaster.pid"
            redis_pidfile = data_dir / "redis" / "redis.pid"
            assert pidfile.exists()
            assert redis_pidfile.exists()
            if reuse_pid:  # the recorded pid now belongs to an unrelated process
                lines = pidfile.read_text().splitlines()
                pidfile.write_text("\n".join([str(bystander.pid), *lines[1:]]) + "\n")
                redis_pidfile.write_text(f"{bystander.pid}\n")
            assert pg.pid is None
            assert rd.pid is None

            url = pg.start()
            redis_url = rd.start()
            assert pg.pid not in (None, old_pg, bystander.pid)
            assert rd.pid not in (None, old_redis, bystander.pid)
            assert await _select_one(url) == 1
            assert _ping(redis_url)
            assert _postmasters(data_dir / "postgres") == [pg.pid]
            assert _redis_servers(data_dir / "redis") == [rd.pid]
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


async def test_long_data_dir_puts_sockets_under_tmp(data_dir: Path) -> None:
    deep = data_dir / ("d" * 60) / ("e" * 60)
    pg, rd = EmbeddedPostgres(deep), EmbeddedRedis(deep)
    socket_dirs: list[Path] = []
    try:
        url = pg.start()
        redis_url = rd.start()
        pg_sockets = _socket_dir(url)
        redis_socket = Path(redis_url.removeprefix("unix://"))
        socket_dirs = [pg_sockets, redis_socket.parent]
        assert pg_sockets.parent == Path("/tmp")
        assert pg_sockets.name.startswith("hub-pg-")
        assert redis_socket.parent.name.startswith("hub-redis-")
        assert await _select_one(url) == 1
        assert _ping(redis_url)
        assert pg.start() == url
    finally:
        pg.stop()
        rd.stop()
        for path in socket_dirs:
            shutil.rmtree(path, ignore_errors=True)
    assert _processes_under(data_dir) == []
