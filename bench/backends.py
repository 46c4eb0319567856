"""Which PostgreSQL and Redis the run uses, and a fresh database for it.

Preferred: the PostgreSQL and Redis on 127.0.0.1 (TCP, like a production deployment);
the run creates its own throw-away database there and drops it afterwards. When they do
not answer, the embedded servers (``hub embedded start``) run in a temporary
``HUB_DATA_DIR`` (Unix sockets) and are stopped at the end. Either way the harness
says which it used, because the two are not comparable figure for figure.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379/13"


@dataclass(frozen=True)
class Backends:
    database_url: str  # libpq form (postgresql://...), used by the hub and asyncpg alike
    redis_url: str
    description: str


def libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _hub_command() -> list[str]:
    exe = Path(sys.executable).with_name("hub")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "hub.cli"]


def _tcp_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


async def _postgres_answers(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _redis_answers(host: str, port: int) -> bool:
    if not _tcp_open(host, port):
        return False
    with socket.create_connection((host, port), timeout=1.0) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


@contextmanager
def local_or_embedded(*, prefer: str = "auto") -> Iterator[Backends]:
    """``prefer``: ``auto`` (local when both answer), ``local`` or ``embedded``."""
    local_ok = prefer != "embedded" and (
        asyncio.run(_postgres_answers(LOCAL_POSTGRES)) and _redis_answers("127.0.0.1", 6379)
    )
    if prefer == "local" and not local_ok:
        raise SystemExit("PostgreSQL/Redis on 127.0.0.1:5432/6379 do not answer")
    if local_ok:
        with _local() as backends:
            yield backends
    else:
        with _embedded() as backends:
            yield backends


@contextmanager
def _local() -> Iterator[Backends]:
    name = f"hub_bench_{os.getpid()}"
    asyncio.run(_admin(LOCAL_POSTGRES, f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(LOCAL_POSTGRES).set(database=name).render_as_string(hide_password=False)
        yield Backends(
            url,
            LOCAL_REDIS,
            "local PostgreSQL and Redis on 127.0.0.1 over TCP "
            f"(scratch database {name}, Redis db 13)",
        )
    finally:
        asyncio.run(_admin(LOCAL_POSTGRES, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def _embedded() -> Iterator[Backends]:
    data_dir = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    env = {**os.environ, "HUB_DATA_DIR": str(data_dir)}
    try:
        out = subprocess.run(
            [*_hub_command(), "embedded", "start"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        urls = dict(line.split("=", 1) for line in out.splitlines() if line.startswith("HUB_"))
        yield Backends(
            libpq_url(urls["HUB_DATABASE_URL"]),
            urls["HUB_REDIS_URL"],
            f"embedded PostgreSQL and Redis over Unix sockets (HUB_DATA_DIR={data_dir})",
        )
    finally:
        subprocess.run([*_hub_command(), "embedded", "stop"], env=env, capture_output=True)
        shutil.rmtree(data_dir, ignore_errors=True)


def flush_redis(url: str) -> None:
    """Empty the run's Redis database: a lock or counter a previous (interrupted) run left
    for a bench account would otherwise refuse this run's sign-ins."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def migrate(backends: Backends, env: dict[str, str]) -> str | None:
    """Apply the contexts' migrations so their startup hooks find their tables.

    Returns the error text instead of raising: a half-built context elsewhere in the tree
    should cost the run its hub scenarios' realism, not the whole run.
    """
    done = subprocess.run(
        [*_hub_command(), "db", "upgrade"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode == 0:
        return None
    lines = (done.stderr or done.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit status {done.returncode}"


class ConnectionCounter:
    """How many PostgreSQL sessions the bench database has seen start, so far.

    A pool that keeps opening connections under load (SQLAlchemy closes overflow
    connections on return) shows up here; each one costs the server a TLS probe, an
    authentication and the driver's type introspection. Counts come from
    ``pg_stat_database.sessions`` (PostgreSQL 14+), so they may trail by a second.
    """

    def __init__(self, dsn: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._conn: asyncpg.Connection = self._loop.run_until_complete(asyncpg.connect(dsn))

    def sessions(self) -> int | None:
        async def read() -> int | None:
            await self._conn.execute("SELECT pg_stat_clear_snapshot()")
            value = await self._conn.fetchval(
                "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
            )
            return None if value is None else int(value)

        try:
            return self._loop.run_until_complete(read())
        except asyncpg.PostgresError:  # PostgreSQL < 14 has no sessions column
            return None

    def close(self) -> None:
        self._loop.run_until_complete(self._conn.close())
        self._loop.close()
