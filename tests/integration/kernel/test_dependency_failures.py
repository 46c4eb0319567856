"""Failing dependencies get honest, bounded answers: 503 naming the dependency, in time.

The servers here are this module's own embedded PostgreSQL and Redis (real processes in a
temporary directory, never the suite's shared ones), frozen with SIGSTOP, as a hung host
or a stalled disk would, and stopped outright. While they are out every request answers
within a bound set by ``HUB_DB_TIMEOUT_MS`` / ``HUB_REDIS_TIMEOUT_MS`` with 503
``dependency_unavailable`` problem+json, ``Retry-After`` and ``extra.dependency``;
``/health`` stays 200 and ``/ready`` answers 503 within its 2 s per check; once the
server is back (SIGCONT, restart) requests succeed again.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from hub.app import context_modules, create_app, load_settings
from hub.devservers import EmbeddedPostgres, EmbeddedRedis
from hub.kernel import migrations
from hub.kernel.settings import Settings
from tests.integration.identity.support import API, PASSWORD
from tests.integration.identity.support_orgs import Person, create_org, person
from tests.support import LiveServer, problem

DB_TIMEOUT_MS = 1_000
REDIS_TIMEOUT_MS = 500
#: While the database is the one out, Redis keeps the production default: a busy CI
#: machine can hold the event loop past a 500 ms socket timeout, and the answer would
#: then blame Redis for the database's outage.
LENIENT_REDIS_TIMEOUT_MS = 2_000
#: A request may wait for a connection and then for its statement, plus scheduling slack
#: on a busy test machine: far below the 14.5 s a login took before.
DB_BOUND_S = 3 * DB_TIMEOUT_MS / 1000
#: The rate limit's check (fails open) and the request's own command, plus slack.
REDIS_BOUND_S = 4 * REDIS_TIMEOUT_MS / 1000
READY_BOUND_S = 2.0 + 0.6

pytestmark = pytest.mark.integration


@dataclass
class Servers:
    postgres: EmbeddedPostgres
    redis: EmbeddedRedis
    database_url: str
    redis_url: str


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    root = Path(tempfile.mkdtemp(prefix="hub-outage-"))
    postgres = EmbeddedPostgres(root / "data", database="hub_outage")
    redis = EmbeddedRedis(root / "data")
    try:
        database_url = postgres.start()
        migrations.upgrade(
            [m.name for m in context_modules()], database_url, migrations.migrations_root()
        )
        yield Servers(postgres, redis, database_url, redis.start())
    finally:
        for process in _postgres_processes(postgres) + _redis_processes(redis):
            process.resume()  # never leave a frozen server behind
        redis.stop()
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)


def _postgres_processes(server: EmbeddedPostgres) -> list[psutil.Process]:
    """The postmaster and every backend of the cluster (all run in its data directory)."""
    found = []
    for process in psutil.process_iter(["name", "cwd"]):
        if process.info["name"] == "postgres" and process.info["cwd"] == str(server.pgdata):
            found.append(process)
    return found


def _redis_processes(server: EmbeddedRedis) -> list[psutil.Process]:
    return [psutil.Process(server.pid)] if server.pid else []


@contextmanager
def frozen(processes: list[psutil.Process]) -> Iterator[None]:
    """SIGSTOP the server's processes, SIGCONT them on the way out whatever happened."""
    assert processes
    for process in processes:
        os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for process in processes:
            os.kill(process.pid, signal.SIGCONT)


@pytest.fixture
def redis_timeout_ms() -> int:
    """Redis's bound; the Redis outage tests narrow it with ``parametrize``."""
    return LENIENT_REDIS_TIMEOUT_MS


@pytest.fixture
def outage_settings(servers: Servers, tmp_path: Path, redis_timeout_ms: int) -> Settings:
    return load_settings(
        environ={},
        env="test",
        data_dir=tmp_path / "hubdata",
        database_url=servers.database_url,
        redis_url=servers.redis_url,
        log_level="WARNING",
        db_timeout_ms=DB_TIMEOUT_MS,
        redis_timeout_ms=redis_timeout_ms,
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        # Many sign-ins from one test client: the auth bucket's production default would
        # answer 429 before the outage is even reached.
        rate_limit_auth="600/60",
    )


@dataclass
class Hub:
    http: httpx.AsyncClient
    someone: Person
    org_id: str


_people = iter(range(1_000_000))


@pytest.fixture
async def hub(outage_settings: Settings, servers: Servers) -> AsyncIterator[Hub]:
    app = create_app(outage_settings, configure_logs=False)
    with LiveServer(app) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            someone = await person(http, servers.database_url, f"p{next(_people)}@example.com")
            org = await create_org(http, someone)
            yield Hub(http, someone, org["id"])


def _requests(hub: Hub) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """Reads and writes of both kinds (SQLAlchemy session, direct reads, Redis)."""
    auth = {"headers": hub.someone.auth}
    return {
        "login": (
            "POST",
            f"{API}/auth/login",
            {"json": {"email": hub.someone.email, "password": PASSWORD}},
        ),
        "me": ("GET", f"{API}/auth/me", auth),
        "list organisations": ("GET", f"{API}/orgs", auth),
        "read organisation": ("GET", f"{API}/orgs/{hub.org_id}", auth),
        "create organisation": ("POST", f"{API}/orgs", {**auth, "json": {"name": "During"}}),
        "rename organisation": (
            "PATCH",
            f"{API}/orgs/{hub.org_id}",
            {**auth, "json": {"name": "Renamed"}},
        ),
    }


async def _timed(
    http: httpx.AsyncClient, method: str, url: str, **kw: Any
) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await http.request(method, url, **kw)
    return response, time.monotonic() - started


async def _all_at_once(
    hub: Hub, names: list[str] | None = None
) -> dict[str, tuple[httpx.Response, float]]:
    requests = _requests(hub)
    chosen = names or list(requests)
    answers = await asyncio.gather(
        *(_timed(hub.http, requests[n][0], requests[n][1], **requests[n][2]) for n in chosen)
    )
    return dict(zip(chosen, answers, strict=True))


def _assert_unavailable(
    answers: dict[str, tuple[httpx.Response, float]], dependency: str, bound: float
) -> None:
    for name, (response, elapsed) in answers.items():
        where = f"{name}: {response.status_code} after {elapsed:.2f} s: {response.text}"
        assert elapsed < bound, where
        assert response.status_code == 503, where
        body = problem(response)
        assert body["code"] == "dependency_unavailable", where
        assert body["extra"] == {"dependency": dependency}, where
        assert int(response.headers["retry-after"]) > 0, where


async def _health_and_ready(hub: Hub, failing: str) -> None:
    health, took = await _timed(hub.http, "GET", "/health")
    assert health.status_code == 200
    assert took < 0.5, took
    ready, took = await _timed(hub.http, "GET", "/ready")
    assert took < READY_BOUND_S, took
    assert ready.status_code == 503, ready.text
    checks = problem(ready)["extra"]["checks"]
    assert checks[failing] == "unavailable", checks


async def _recovered(hub: Hub, within: float = 20.0) -> None:
    """Every request succeeds again (the first ones may still meet a dead connection)."""
    deadline = time.monotonic() + within
    while True:
        answers = await _all_at_once(
            hub, ["login", "me", "list organisations", "read organisation"]
        )
        statuses = {name: r.status_code for name, (r, _) in answers.items()}
        if set(statuses.values()) == {200}:
            break
        assert time.monotonic() < deadline, statuses
        await asyncio.sleep(0.2)
    created = await hub.http.post(f"{API}/orgs", json={"name": "After"}, headers=hub.someone.auth)
    assert created.status_code == 201, created.text
    assert (await hub.http.get("/ready")).status_code == 200


async def test_a_frozen_database(hub: Hub, servers: Servers) -> None:
    with frozen(_postgres_processes(servers.postgres)):
        answers = await _all_at_once(hub)
        _assert_unavailable(answers, "database", DB_BOUND_S)
        await _health_and_ready(hub, "database")
        # Again, now that the pool's connections to the frozen server are gone.
        _assert_unavailable(
            await _all_at_once(hub, ["login", "list organisations"]), "database", DB_BOUND_S
        )
    await _recovered(hub)


async def test_a_database_that_is_down(hub: Hub, servers: Servers) -> None:
    servers.postgres.stop()
    try:
        answers = await _all_at_once(hub)
        _assert_unavailable(answers, "database", DB_BOUND_S)
        await _health_and_ready(hub, "database")
    finally:
        assert servers.postgres.start() == servers.database_url
    await _recovered(hub)


#: Requests that need Redis: the login throttle, the revocation check of a bearer token.
#: (``/auth/me`` reads the session row instead and keeps answering.)
REDIS_USERS = ["login", "list organisations", "read organisation", "create organisation"]


@pytest.mark.parametrize("redis_timeout_ms", [REDIS_TIMEOUT_MS])
async def test_a_frozen_redis(hub: Hub, servers: Servers) -> None:
    with frozen(_redis_processes(servers.redis)):
        answers = await _all_at_once(hub, REDIS_USERS)
        _assert_unavailable(answers, "redis", REDIS_BOUND_S)
        await _health_and_ready(hub, "redis")
    await _recovered(hub)


@pytest.mark.parametrize("redis_timeout_ms", [REDIS_TIMEOUT_MS])
async def test_a_redis_that_is_down(hub: Hub, servers: Servers) -> None:
    servers.redis.stop()
    try:
        answers = await _all_at_once(hub, REDIS_USERS)
        _assert_unavailable(answers, "redis", REDIS_BOUND_S)
        await _health_and_ready(hub, "redis")
    finally:
        assert servers.redis.start() == servers.redis_url
    await _recovered(hub)


async def test_a_login_started_before_the_freeze_is_bounded_too(hub: Hub, servers: Servers) -> None:
    """The report's case: the freeze lands while requests are in flight."""
    processes = _postgres_processes(servers.postgres)
    requests = _requests(hub)
    method, url, kw = requests["login"]
    started = [asyncio.create_task(_timed(hub.http, method, url, **kw)) for _ in range(4)]
    await asyncio.sleep(0.02)  # sent, and being served
    with frozen(processes):
        done = await asyncio.gather(*started)
        for response, elapsed in done:
            assert elapsed < DB_BOUND_S, (elapsed, response.text)
            assert response.status_code in (200, 503), response.text
            if response.status_code == 503:
                assert problem(response)["extra"] == {"dependency": "database"}
    await _recovered(hub)
