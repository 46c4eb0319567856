"""Fixtures: a real PostgreSQL and Redis for the whole session.

By default the embedded servers (the same ones ``hub run`` uses) start in a temporary
directory; ``HUB_TEST_DATABASE_URL`` / ``HUB_TEST_REDIS_URL`` point the suite at other
servers instead (CI runs it a second time against PostgreSQL and Redis over TCP). Either
way the schema is built by the migrations, never by ``create_all``, and every test starts
from empty tables and an empty Redis database.
"""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import asyncpg
import httpx
import msgspec
import pytest
import redis as redis_sync
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url

from hub.app import context_modules, load_settings
from hub.kernel import migrations
from hub.kernel.mail import Mailbox, mailbox_dir
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.built_apps import built_app
from tests.support import LiveServer

ROOT = Path(__file__).resolve().parents[1]


def _plain_dsn(url: str) -> str:
    """SQLAlchemy URL -> libpq DSN that asyncpg understands."""
    u = make_url(url).set(drivername="postgresql")
    return u.render_as_string(hide_password=False)


@pytest.fixture(scope="session", autouse=True)
def _frozen_heap() -> Iterator[None]:
    """Freeze what collection imported, once: each app's start-up (``create_app``'s
    lifespan) then leaves the collector alone instead of a full collection per test."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.fixture(scope="session")
def tmp_root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="hub-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(tmp_root: Path) -> Iterator[str]:
    """A fresh database, migrated to head for every context."""
    external = os.environ.get("HUB_TEST_DATABASE_URL")
    server = None
    if external:
        # uuid7's leading hex digits are its millisecond timestamp: two xdist workers
        # starting together drew the same name. The random part and the worker id keep
        # every session's database its own.
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        name = f"hub_test_{worker}_{uuid4().hex[:12]}"
        admin = _plain_dsn(external)

        async def create() -> None:
            conn = await asyncpg.connect(admin)
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(create())
        url = make_url(external).set(database=name).render_as_string(hide_password=False)
    else:
        from hub.devservers import EmbeddedPostgres

        server = EmbeddedPostgres(tmp_root / "data", database="hub_test")
        (tmp_root / "data").mkdir(exist_ok=True)
        url = server.start()
        asyncio.run(_without_durability(url))
    migrations.upgrade([m.name for m in context_modules()], url, migrations.migrations_root())
    try:
        yield url
    finally:
        if server is not None:
            server.stop()
        elif external:

            async def drop() -> None:
                conn = await asyncpg.connect(_plain_dsn(external))
                try:
                    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                finally:
                    await conn.close()

            asyncio.run(drop())


async def _without_durability(url: str) -> None:
    """The suite's own throw-away cluster does not wait for the disk: no fsync, no full-page
    images, commits acknowledged before their WAL is flushed. Nothing a test observes
    changes (a crash loses the cluster, which the next session recreates anyway); the
    migrations and the per-test resets stop paying an fsync per file."""
    conn = await asyncpg.connect(_plain_dsn(url))
    try:
        for setting in ("fsync", "full_page_writes", "synchronous_commit"):
            await conn.execute(f"ALTER SYSTEM SET {setting} = off")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


def _worker_database(url: str) -> str:
    """Each pytest-xdist worker on a Redis database of its own (tests flush theirs): worker
    ``gwN`` takes the configured database number + N, modulo 16."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return url
    parsed = urlsplit(url)
    base = int(parsed.path.lstrip("/") or 0)
    number = (base + int(worker[2:])) % 16
    return urlunsplit(parsed._replace(path=f"/{number}"))


@pytest.fixture(scope="session")
def redis_url(tmp_root: Path) -> Iterator[str]:
    external = os.environ.get("HUB_TEST_REDIS_URL")
    if external:
        yield _worker_database(external)
        return
    from hub.devservers import EmbeddedRedis

    (tmp_root / "data").mkdir(exist_ok=True)
    server = EmbeddedRedis(tmp_root / "data")
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def base_settings(database_url: str, redis_url: str, tmp_root: Path) -> Settings:
    return load_settings(
        environ={},
        env="test",
        data_dir=tmp_root / "hubdata",
        database_url=database_url,
        redis_url=redis_url,
        log_level="WARNING",
        # Production-sized abuse limits would refuse tests that sign a dozen people in from
        # one test client or mail one address repeatedly; they are pinned at their defaults
        # in tests/integration/identity/test_abuse_limits.py.
        rate_limit_auth="600/60",
        rate_limit_mail_per_address="100/3600",
        # Cheap argon2: every test signs people up and in, and the production parameters
        # (t=2, 19 MiB) cost tens of milliseconds of CPU per hash. The real parameters are
        # exercised in tests/integration/identity/test_accounts.py (rehash on change).
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
    )


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    return base_settings


#: Per database URL: the statement that names every context table holding a row.
_probes: dict[str, str] = {}


async def _truncate_all(database_url: str) -> None:
    """Empty every context table and restart every used sequence, keeping the schema.

    ``TRUNCATE`` of all ~85 tables cost 1.2 to 1.8 s a test on the TCP server (a new file and
    an fsync per table and index, whether it held rows or not). Here one statement finds
    the tables with a row and the sequences handed out a value, and only those are
    emptied (``DELETE``: no file work for a test's handful of rows) and restarted. The
    replica role skips triggers for this reset: the audit trail's refusal and the foreign
    keys' checks, so the order of the deletes does not matter. (No ``ONLY``: a partitioned
    table's rows are in its partitions, outside the listed schemas.)
    """
    schemas = [m.name for m in context_modules()]
    conn = await asyncpg.connect(_plain_dsn(database_url))
    try:
        probe = _probes.get(database_url)
        if probe is None:
            rows = await conn.fetch(
                """
                SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) AS name
                FROM pg_tables
                WHERE schemaname = ANY($1::text[]) AND tablename <> 'alembic_version'
                ORDER BY 1
                """,
                schemas,
            )
            tables = " UNION ALL ".join(
                f"SELECT 't', '{r['name']}' WHERE EXISTS (SELECT FROM {r['name']})"  # noqa: S608 (names read from pg_tables)
                for r in rows
            )
            sequences = (
                "SELECT 's', quote_ident(schemaname) || '.' || quote_ident(sequencename)"
                " FROM pg_sequences WHERE schemaname = ANY($1::text[])"
                " AND last_value IS NOT NULL"
            )
            probe = _probes[database_url] = (
                f"{tables} UNION ALL {sequences}" if tables else sequences
            )
        used = await conn.fetch(probe, schemas)
        if used:
            statements = ["SET session_replication_role = replica"]
            statements += [
                f"DELETE FROM {name}" if kind == "t" else f"ALTER SEQUENCE {name} RESTART"  # noqa: S608
                for kind, name in used
            ]
            statements.append("RESET session_replication_role")
            await conn.execute(";\n".join(statements))
    finally:
        await conn.close()


@pytest.fixture
async def clean_state(database_url: str, redis_url: str) -> None:
    """Empty every context table (keeping the migrated schema) and the Redis database."""
    await _truncate_all(database_url)
    client = redis_sync.Redis.from_url(redis_url)
    try:
        client.flushdb()
    finally:
        client.close()


@pytest.fixture
async def kernel(settings: Settings, clean_state: None) -> AsyncIterator[Kernel]:
    k = Kernel(
        settings=settings,
        database_url=settings.database_url or "",
        redis_url=settings.redis_url or "",
    )
    try:
        yield k
    finally:
        await k.close()


@pytest.fixture
def app(settings: Settings, clean_state: None) -> Iterator[Litestar]:
    with built_app(settings) as app:
        yield app


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as c:
        yield c


@pytest.fixture
def live_server(settings: Settings, clean_state: None) -> Iterator[LiveServer]:
    with built_app(settings) as app, LiveServer(app) as server:
        yield server


@pytest.fixture
async def live_client(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as c:
        yield c


def fast_job_settings(settings: Settings) -> Settings:
    """Settings for an in-process worker in tests: quick polls, sweeps and retries."""
    return msgspec.structs.replace(
        settings,
        worker_idle_poll_ms=20,
        relay_sweep_interval_ms=250,
        job_max_retries=2,
        job_min_backoff_ms=20,
        job_max_backoff_ms=200,
    )


@pytest.fixture
def mailbox(settings: Settings) -> Mailbox:
    """The dev mailbox the mail job writes to (emptied first): ``mailbox.list(to=...)``."""
    box = Mailbox(mailbox_dir(settings))
    box.clear()
    return box


@pytest.fixture
async def events(settings: Settings, clean_state: None) -> AsyncIterator[InProcessWorker]:
    """A real dramatiq worker + relay on the test Redis, wired to every context.

    ``await events.drain()`` returns once every event and job committed so far (and
    whatever they caused) has been handled, e.g. the mail a registration queued.
    """
    worker = InProcessWorker(
        fast_job_settings(settings), context_modules(), threads=2, scheduler=False
    ).start()
    try:
        yield worker
    finally:
        await asyncio.to_thread(worker.stop)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``HUB_TEST_SERVER_TESTS_ONLY=1`` (``make test-tcp``): keep only the tests that talk to
    the servers under test, those whose fixtures reach ``database_url`` or ``redis_url``.
    The others (embedded servers of their own, pure functions) would repeat exactly what
    ``make test`` already ran."""
    if os.environ.get("HUB_TEST_SERVER_TESTS_ONLY") != "1":
        return
    servers = {"database_url", "redis_url"}
    kept, dropped = [], []
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        (kept if names & servers else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
