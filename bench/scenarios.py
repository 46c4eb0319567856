"""What gets measured: the servers and, per scenario, a path and the yardsticks it is
divided by.

Adding a scenario is a few lines: a :class:`ServerSpec` when it needs a new app (a
reference under ``bench/refs/``), and a :class:`Scenario` naming its path and its
reference. A scenario that needs credentials or a body gets them from ``prepare``, which
runs against the live server before each warm-up and returns the :class:`Request` to send;
one-off work before the first round (accounts, keys) goes in ``setup``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from bench import argon2_rate
from bench.fixture import READ_ID
from bench.identity import IDENTITY
from bench.load import LoadResult, Request
from bench.servers import Server, ServerSpec, Setup

BARE = "bare-json"
ITEM = f"/{READ_ID}"
#: The "server" of scenarios measured inside the harness process (no HTTP).
LOCAL = "in-process"
IDENTITY_GROUP = "identity"

SERVERS: dict[str, ServerSpec] = {
    spec.name: spec
    for spec in (
        ServerSpec("ref-bare", "bench.refs.bare_json:app", probe="/json"),
        ServerSpec(
            "ref-asyncpg", "bench.refs.asyncpg_read:create_app", factory=True, probe="/items" + ITEM
        ),
        ServerSpec(
            "ref-asyncpg-noreset",
            "bench.refs.asyncpg_read:create_app",
            factory=True,
            env={"BENCH_ASYNCPG_RESET": "0"},
            probe="/items" + ITEM,
        ),
        ServerSpec("ref-jwt", "bench.refs.jwt_read:create_app", factory=True, probe="/ready"),
        ServerSpec(
            "ref-refresh", "bench.refs.refresh_rotate:create_app", factory=True, probe="/ready"
        ),
        ServerSpec("ref-org", "bench.refs.org_read:create_app", factory=True, probe="/ready"),
        # The hub exactly as configured for production (see servers.hub_environment).
        ServerSpec("hub", "bench.hub_app:create_app", factory=True, hub=True),
        ServerSpec(
            "hub-no-access-log",
            "bench.hub_app:create_app",
            factory=True,
            hub=True,
            env={"BENCH_HUB_ACCESS_LOG": "0"},
        ),
        # Rate limits off: with `hub`, what the limiter costs a request.
        ServerSpec(
            "hub-no-rate-limits",
            "bench.hub_app:create_app",
            factory=True,
            hub=True,
            env={"HUB_RATE_LIMIT_ENABLED": "0"},
        ),
        # Memberships read from the database on every check (no Redis cache).
        ServerSpec(
            "hub-no-membership-cache",
            "bench.hub_app:create_app",
            factory=True,
            hub=True,
            env={"HUB_MEMBERSHIP_CACHE_SECONDS": "0"},
        ),
        # Every access token verified in full on every request (no remembered tokens).
        ServerSpec(
            "hub-verify-each",
            "bench.hub_app:create_app",
            factory=True,
            hub=True,
            env={"HUB_VERIFIED_TOKENS_KEPT": "0"},
        ),
        # A pool that makes excess requests wait instead of opening overflow connections.
        ServerSpec(
            "hub-no-overflow",
            "bench.hub_app:create_app",
            factory=True,
            hub=True,
            env={"HUB_DB_MAX_OVERFLOW": "0"},
        ),
    )
}


@dataclass(frozen=True)
class Scenario:
    name: str
    server: str
    path: str
    #: The lean scenario this one is divided by; ``None`` for a reference itself.
    reference: str | None
    summary: str
    #: The same route without the operation measured: ``cpu - cpu(base)`` is the
    #: operation's own cost (e.g. the database read alone, without the HTTP around it).
    base: str | None = None
    #: The same operation done raw in the same process (``hub-raw-asyncpg`` for hub reads):
    #: own cost over the peer's own cost is the kernel path's overhead alone.
    peer: str | None = None
    #: Most CPU per request allowed, as a multiple of the reference's (``None``: no guide).
    budget: float | None = None
    #: Only run with ``--all`` (comparisons that explain a figure, not the figures).
    extended: bool = False
    #: What to send (method, headers, bodies); runs against the live server each round.
    prepare: Callable[[Server], Request] | None = None
    #: One-off work before the first round; the same callable runs once however many
    #: scenarios name it.
    setup: Callable[[Setup], None] | None = None
    #: ``--only GROUP`` selects every scenario of a group.
    group: str | None = None
    #: Requests in flight, when not the run's ``--connections``.
    connections: int | None = None
    #: A path probed at a light, steady pace during the window (and alone before it), to
    #: see what this load does to the latency of other requests.
    probe: str | None = None
    #: Most p99 latency of ``probe`` under this load allowed, in ms.
    probe_budget_ms: float | None = None
    #: Measured in the harness process instead of over HTTP: ``seconds`` → the result and
    #: the CPU seconds it took.
    local: Callable[[float], tuple[LoadResult, float]] | None = None
    #: How this answer must match its reference's before measuring: the reference's
    #: fields with the same values, the same field names only, or not at all.
    same: Literal["values", "keys", "none"] = "values"
    #: Count new PostgreSQL sessions per request (always, for scenarios with a ``base``).
    database: bool = False


def _identity(scenario: Scenario) -> Scenario:
    """An identity scenario: needs the bench accounts, selected by ``--only identity``."""
    return replace(scenario, setup=IDENTITY.setup, group=IDENTITY_GROUP)


SCENARIOS: list[Scenario] = [
    # References: the leanest way to answer each kind of request.
    Scenario(BARE, "ref-bare", "/json", None, "bare Litestar, one JSON route"),
    Scenario(
        "bare-item",
        "ref-bare",
        "/items" + ITEM,
        None,
        "bare Litestar, path parameter, the item's JSON without reading it",
    ),
    Scenario(
        "asyncpg-read",
        "ref-asyncpg",
        "/items" + ITEM,
        None,
        "bare Litestar + asyncpg pool.fetchrow, SELECT by primary key",
        base="bare-item",
    ),
    # The hub.
    Scenario("hub-health", "hub", "/health", BARE, "hub /health: every middleware, no I/O"),
    Scenario(
        "hub-item",
        "hub",
        "/bench/echo" + ITEM,
        "bare-item",
        "hub API route answering the item without reading it",
    ),
    Scenario(
        "hub-raw-asyncpg",
        "hub",
        "/bench/raw" + ITEM,
        "asyncpg-read",
        "asyncpg-read's code (own pool, pool.fetchrow) inside the hub: no kernel code",
        base="hub-item",
    ),
    Scenario(
        "hub-db-read",
        "hub",
        "/bench/read" + ITEM,
        "asyncpg-read",
        "hub, async with db.read(): conn.execute(select..where(id == x))",
        base="hub-item",
        peer="hub-raw-asyncpg",
        budget=1.5,
    ),
    Scenario(
        "hub-db-fetch",
        "hub",
        "/bench/fetch" + ITEM,
        "asyncpg-read",
        "hub, db.fetch(select..where(id == x)): the direct read path",
        base="hub-item",
        peer="hub-raw-asyncpg",
        budget=1.5,
    ),
    # Identity (--only identity). /auth/me: the hub's token verification and profile read
    # beside PyJWT + one raw asyncpg query verifying the same token.
    _identity(
        Scenario(
            "jwt-read-ref",
            "ref-jwt",
            "/auth/me",
            None,
            "bare Litestar: PyJWT ES256 verify of a hub token + asyncpg SELECT of the user",
            base="bare-item",
            prepare=IDENTITY.auth_me_reference,
        )
    ),
    _identity(
        Scenario(
            "hub-auth-me",
            "hub",
            "/api/v1/auth/me",
            "jwt-read-ref",
            "hub GET /api/v1/auth/me with a Bearer token",
            base="hub-item",
            budget=1.5,
            prepare=IDENTITY.auth_me,
        )
    ),
    # A permission-checked read: the tenancy guard's membership (identity.org.read) and
    # the organisation's row, beside PyJWT + the same two queries on raw asyncpg.
    _identity(
        Scenario(
            "org-read-ref",
            "ref-org",
            "/orgs/{orgId}",
            None,
            "bare Litestar: PyJWT verify + membership query + permission + organisation row",
            base="bare-item",
            prepare=IDENTITY.org_read_reference,
        )
    ),
    _identity(
        Scenario(
            "hub-org-read",
            "hub",
            "/api/v1/orgs/{orgId}",
            "org-read-ref",
            "hub GET /api/v1/orgs/{orgId}: token, tenancy guard (identity.org.read), the row",
            base="hub-item",
            budget=1.5,
            prepare=IDENTITY.org_read,
        )
    ),
    _identity(
        Scenario(
            "refresh-ref",
            "ref-refresh",
            "/auth/refresh",
            None,
            "bare Litestar: raw asyncpg rotation of a hub refresh token + PyJWT ES256 sign",
            prepare=IDENTITY.refresh_reference,
            database=True,
        )
    ),
    _identity(
        Scenario(
            "hub-refresh",
            "hub",
            "/api/v1/auth/refresh",
            "refresh-ref",
            "hub POST /api/v1/auth/refresh, each request with the previous answer's token",
            prepare=IDENTITY.refresh,
            same="keys",
            database=True,
        )
    ),
    _identity(
        Scenario(
            "argon2-hashes",
            LOCAL,
            "",
            None,
            "argon2id verify (production parameters) in one thread per core, no server",
            local=argon2_rate.measure,
            same="none",
        )
    ),
    _identity(
        Scenario(
            "hub-login",
            "hub",
            "/api/v1/auth/login",
            "argon2-hashes",
            "hub POST /api/v1/auth/login, right password, one account per connection",
            prepare=IDENTITY.login,
            same="none",
            database=True,
        )
    ),
    _identity(
        Scenario(
            "login-storm",
            "hub",
            "/api/v1/auth/login",
            "argon2-hashes",
            "8 sign-ins in flight while a light probe times GET /health",
            prepare=IDENTITY.login,
            connections=8,
            probe="/health",
            probe_budget_ms=50,
            same="none",
            database=True,
        )
    ),
    # The same two reads with the signature checked on every request, as the references
    # do: what remembering verified tokens is worth (in the default set, so the figure
    # without it is always beside the one with it).
    _identity(
        Scenario(
            "hub-auth-me-verify-each",
            "hub-verify-each",
            "/api/v1/auth/me",
            "jwt-read-ref",
            "hub-auth-me with HUB_VERIFIED_TOKENS_KEPT=0 (the token's signature every time)",
            base="hub-item",
            prepare=IDENTITY.auth_me,
        )
    ),
    _identity(
        Scenario(
            "hub-org-read-verify-each",
            "hub-verify-each",
            "/api/v1/orgs/{orgId}",
            "org-read-ref",
            "hub-org-read with HUB_VERIFIED_TOKENS_KEPT=0 (the token's signature every time)",
            base="hub-item",
            prepare=IDENTITY.org_read,
        )
    ),
    # Explanations (--all).
    _identity(
        Scenario(
            "hub-org-read-uncached",
            "hub-no-membership-cache",
            "/api/v1/orgs/{orgId}",
            "org-read-ref",
            "hub-org-read with HUB_MEMBERSHIP_CACHE_SECONDS=0 (the membership query each time)",
            base="hub-item",
            prepare=IDENTITY.org_read,
            extended=True,
        )
    ),
    _identity(
        Scenario(
            "hub-org-read-unlimited",
            "hub-no-rate-limits",
            "/api/v1/orgs/{orgId}",
            "org-read-ref",
            "hub-org-read with HUB_RATE_LIMIT_ENABLED=0: what the per-request limit costs it",
            base="hub-item",
            prepare=IDENTITY.org_read,
            extended=True,
        )
    ),
    Scenario(
        "hub-db-fetch-prebuilt",
        "hub",
        "/bench/fetch-prebuilt" + ITEM,
        "asyncpg-read",
        "hub, db.fetch(STATEMENT, {id: x}): statement built once, bindparam",
        base="hub-item",
        peer="hub-raw-asyncpg",
        extended=True,
    ),
    Scenario(
        "hub-db-session",
        "hub",
        "/bench/session" + ITEM,
        "asyncpg-read",
        "hub, an ORM session per request (BEGIN..ROLLBACK)",
        base="hub-item",
        peer="hub-raw-asyncpg",
        extended=True,
    ),
    Scenario(
        "hub-item-unmetered",
        "hub",
        "/bench/echo-unmetered" + ITEM,
        "bare-item",
        "hub-item excluded from the Prometheus metrics",
        extended=True,
    ),
    Scenario(
        "hub-item-no-log",
        "hub-no-access-log",
        "/bench/echo" + ITEM,
        "bare-item",
        "hub-item without the access log line",
        extended=True,
    ),
    Scenario(
        "hub-db-fetch-no-log",
        "hub-no-access-log",
        "/bench/fetch" + ITEM,
        "asyncpg-read",
        "hub-db-fetch without the access log line",
        base="hub-item-no-log",
        extended=True,
    ),
    Scenario(
        "hub-db-fetch-lean",
        "hub-no-access-log",
        "/bench/fetch-lean" + ITEM,
        "asyncpg-read",
        "hub-db-fetch-prebuilt, route without metrics, no access log line",
        base="hub-item-lean",
        budget=1.5,
        extended=True,
    ),
    Scenario(
        "hub-item-lean",
        "hub-no-access-log",
        "/bench/echo-unmetered" + ITEM,
        "bare-item",
        "hub-item without metrics and without the access log line",
        extended=True,
    ),
    _identity(
        Scenario(
            "hub-auth-me-no-log",
            "hub-no-access-log",
            "/api/v1/auth/me",
            "jwt-read-ref",
            "hub-auth-me without the access log line",
            base="hub-item-no-log",
            prepare=IDENTITY.auth_me,
            extended=True,
        )
    ),
    _identity(
        Scenario(
            "hub-auth-me-unlimited",
            "hub-no-rate-limits",
            "/api/v1/auth/me",
            "jwt-read-ref",
            "hub-auth-me with rate limits off (HUB_RATE_LIMIT_ENABLED=0)",
            base="hub-item",
            prepare=IDENTITY.auth_me,
            extended=True,
        )
    ),
    Scenario(
        "hub-db-read-no-overflow",
        "hub-no-overflow",
        "/bench/read" + ITEM,
        "asyncpg-read",
        "hub-db-read with HUB_DB_MAX_OVERFLOW=0 (requests wait for a pooled connection)",
        base="hub-item",
        peer="hub-raw-asyncpg",
        extended=True,
    ),
    Scenario(
        "hub-db-fetch-no-overflow",
        "hub-no-overflow",
        "/bench/fetch" + ITEM,
        "asyncpg-read",
        "hub-db-fetch with HUB_DB_MAX_OVERFLOW=0",
        base="hub-item",
        peer="hub-raw-asyncpg",
        extended=True,
    ),
    Scenario(
        "asyncpg-read-noreset",
        "ref-asyncpg-noreset",
        "/items" + ITEM,
        "asyncpg-read",
        "asyncpg-read without the pool's reset query on release",
        base="bare-item",
        extended=True,
    ),
]
