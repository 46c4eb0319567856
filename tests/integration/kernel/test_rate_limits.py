"""Rate limits as every route inherits them: buckets, callers, addresses, headers, 429s.

Time is the limiter's injectable clock (``kernel.rate_limits.clock``): tests move it
instead of sleeping through a window.
"""

from __future__ import annotations

import traceback
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from hub.app import create_app
from hub.kernel.ratelimit import RateLimiter, limiter, rate_limit
from hub.kernel.redis_pipe import RedisPyScript, ScriptPipe, script_runner
from hub.kernel.security import Principal
from hub.kernel.settings import Settings
from tests.integration.identity.support import bearer, login, signed_in
from tests.support import LiveServer, free_port, problem

T0 = 1_900_000_000.0


class Clock:
    """Wall time the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@get("/api/v1/test-rl/item", sync_to_thread=False)
def item() -> dict[str, str]:
    return {"ok": "read"}


@post("/api/v1/test-rl/item", sync_to_thread=False, status_code=200)
def change_item() -> dict[str, str]:
    return {"ok": "write"}


@post("/api/v1/test-rl/send", opt=rate_limit("sends"), sync_to_thread=False, status_code=200)
def send_message() -> dict[str, str]:
    return {"ok": "sent"}


@get("/api/v1/test-rl/free", opt=rate_limit(False), sync_to_thread=False)
def free() -> dict[str, str]:
    return {"ok": "free"}


@get("/test-rl/outside", sync_to_thread=False)
def outside() -> dict[str, str]:
    return {"ok": "outside"}


class ResetIn(msgspec.Struct):
    email: str


@post("/api/v1/test-rl/forgot", status_code=202)
async def forgot(data: JSONBody[ResetIn], state: State) -> dict[str, int | None]:
    """What a forgot-password service does: a narrower limit on the e-mail address."""
    verdict = await state.kernel.rate_limits.hit(
        "password-reset", key=data.email, limit=2, window=3600
    )
    return {"remaining": verdict.remaining if verdict else None}


@get("/api/v1/test-rl/whoami", sync_to_thread=False)
def whoami(principal: NamedDependency[Principal]) -> dict[str, str]:
    return {"user": str(principal.user_id)}


ROUTES = [item, change_item, send_message, free, outside, forgot, whoami]
KEY_OWNER = uuid.UUID("01900000-0000-7000-8000-0000000000aa")
KEY_IDS = {f"hub_key_{n}": uuid.UUID(int=n) for n in range(1, 5)}


def limited(settings: Settings, **changes: Any) -> Settings:
    """Small quotas: reads 3/60 s per caller, 6/60 s per address (factor 2), sends 2/60 s."""
    values: dict[str, Any] = {
        "rate_limit_reads": "3/60",
        "rate_limit_writes": "5/60",
        "rate_limit_sends": "2/60",
        "rate_limit_address_factor": 2,
    }
    values.update(changes)
    return msgspec.structs.replace(settings, **values)


def build(settings: Settings, clock: Clock) -> Litestar:
    app = create_app(settings, extra_route_handlers=ROUTES, configure_logs=False)
    app.state.kernel.rate_limits.clock = clock
    return app


async def _test_keys(secret: str, client_ip: str) -> Principal | None:
    key_id = KEY_IDS.get(secret)
    return Principal(user_id=KEY_OWNER, api_key_id=key_id, amr=("key",)) if key_id else None


def use_test_keys(app: Litestar) -> None:
    """API keys ``hub_key_1``..``4``, one caller each (after start-up, which installs
    identity's resolver)."""
    app.state.kernel.security.use_api_keys(_test_keys)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client(
    settings: Settings, clean_state: None, clock: Clock
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    app = build(limited(settings), clock)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as c:
        use_test_keys(app)
        yield c


def key(n: int) -> dict[str, str]:
    return {"X-API-Key": f"hub_key_{n}"}


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Events:
    """Stands in for the module's logger: which events were logged at which level."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def warning(self, event: str, **_: Any) -> None:
        self.lines.append(("warning", event))

    def info(self, event: str, **_: Any) -> None:
        self.lines.append(("info", event))


async def test_anonymous_callers_spend_their_address_budget(
    client: AsyncTestClient[Litestar], clock: Clock
) -> None:
    # 3/60 s times the address factor 2: 6 requests, one more every 10 s.
    for n in range(1, 7):
        r = await client.get("/api/v1/test-rl/item")
        assert r.status_code == 200, r.text
        assert r.headers["ratelimit-policy"] == '"reads-address";q=6;w=60'
        assert r.headers["ratelimit"] == f'"reads-address";r={6 - n};t={10 * n}'
    refused_before = metric("hub_rate_limited_total", policy="reads-address")
    r = await client.get("/api/v1/test-rl/item")
    assert r.status_code == 429
    body = problem(r)
    assert body["code"] == "rate_limited"
    assert body["type"].endswith("/rate-limited")
    assert body["title"] == "Too Many Requests"
    assert body["instance"] == "/api/v1/test-rl/item"
    assert body["requestId"] == r.headers["x-request-id"]
    assert body["extra"] == {"policy": "reads-address", "retryAfterSeconds": 10}
    assert "'reads-address' limit of 6 per 60 s" in body["detail"]
    assert r.headers["retry-after"] == "10"
    assert r.headers["ratelimit"] == '"reads-address";r=0;t=60'
    assert r.headers["ratelimit-policy"] == '"reads-address";q=6;w=60'
    assert r.headers["x-content-type-options"] == "nosniff"  # still a hub response
    assert metric("hub_rate_limited_total", policy="reads-address") == refused_before + 1
    # A refusal spends nothing, and the budget refills continuously: one unit per 10 s.
    clock.advance(9.9)
    assert (await client.get("/api/v1/test-rl/item")).status_code == 429
    clock.advance(0.1)
    r = await client.get("/api/v1/test-rl/item")
    assert r.status_code == 200
    assert r.headers["ratelimit"] == '"reads-address";r=0;t=60'
    assert (await client.get("/api/v1/test-rl/item")).status_code == 429
    clock.advance(60)
    r = await client.get("/api/v1/test-rl/item")
    assert r.headers["ratelimit"] == '"reads-address";r=5;t=10'
    # Writes are another bucket; system routes and routes outside /api/v1 are not limited.
    r = await client.post("/api/v1/test-rl/item")
    assert r.status_code == 200
    assert r.headers["ratelimit-policy"] == '"writes-address";q=10;w=60'
    for path in ("/health", "/test-rl/outside", "/api/v1/test-rl/free"):
        for _ in range(8):
            r = await client.get(path)
            assert r.status_code == 200, path
            assert "ratelimit" not in r.headers
            assert "ratelimit-policy" not in r.headers


async def test_each_caller_has_a_budget_inside_its_address_budget(
    client: AsyncTestClient[Litestar], clock: Clock
) -> None:
    for n in range(1, 4):
        r = await client.get("/api/v1/test-rl/item", headers=key(1))
        assert r.status_code == 200
        assert r.headers["ratelimit-policy"] == '"reads";q=3;w=60, "reads-address";q=6;w=60'
        assert r.headers["ratelimit"] == (
            f'"reads";r={3 - n};t={20 * n}, "reads-address";r={6 - n};t={10 * n}'
        )
    # The caller's own budget is used up (one unit per 20 s) ...
    r = await client.get("/api/v1/test-rl/item", headers=key(1))
    assert r.status_code == 429
    assert problem(r)["extra"] == {"policy": "reads", "retryAfterSeconds": 20}
    assert r.headers["retry-after"] == "20"
    assert r.headers["ratelimit"] == '"reads";r=0;t=60, "reads-address";r=3;t=30'
    # ... another caller at the same address still has its own, until the address's is gone.
    for n in range(1, 4):
        r = await client.get("/api/v1/test-rl/item", headers=key(2))
        assert r.status_code == 200
        assert r.headers["ratelimit"] == (
            f'"reads";r={3 - n};t={20 * n}, "reads-address";r={3 - n};t={30 + 10 * n}'
        )
    r = await client.get("/api/v1/test-rl/item", headers=key(3))
    assert r.status_code == 429
    assert problem(r)["extra"] == {"policy": "reads-address", "retryAfterSeconds": 10}
    assert r.headers["ratelimit"] == '"reads";r=3;t=0, "reads-address";r=0;t=60'
    # Anonymous requests from that address share the address budget too.
    assert (await client.get("/api/v1/test-rl/item")).status_code == 429
    clock.advance(10)
    r = await client.get("/api/v1/test-rl/item", headers=key(3))
    assert r.status_code == 200
    assert r.headers["ratelimit"] == '"reads";r=2;t=20, "reads-address";r=0;t=60'
    # Bad credentials count against the address only; the route still answers 401.
    clock.advance(10)
    r = await client.get("/api/v1/test-rl/whoami", headers=key(9))
    assert r.status_code == 401
    assert r.headers["ratelimit-policy"] == '"reads-address";q=6;w=60'


async def test_a_signed_in_user_is_one_caller_across_sessions(
    settings: Settings, clean_state: None, clock: Clock, database_url: str
) -> None:
    app = build(limited(settings, rate_limit_address_factor=10), clock)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        verifications = 0
        verifier = app.state.kernel.security.verifier
        verify = verifier.verify

        async def counting(token: str) -> Principal:
            nonlocal verifications
            verifications += 1
            return await verify(token)

        verifier.verify = counting
        first = await signed_in(client, database_url, "rl@example.com")
        second = (await login(client, "rl@example.com")).json()
        assert first["accessToken"] != second["accessToken"]
        verifications = 0
        for n, tokens in enumerate((first, second, first), start=1):
            r = await client.get("/api/v1/auth/me", headers=bearer(tokens["accessToken"]))
            assert r.status_code == 200, r.text
            assert r.headers["ratelimit"].startswith(f'"reads";r={3 - n};t={20 * n}, ')
        # The limiter and the handler share one token verification per request.
        assert verifications == 3
        r = await client.get("/api/v1/auth/me", headers=bearer(second["accessToken"]))
        assert r.status_code == 429
        assert problem(r)["extra"]["policy"] == "reads"


async def test_the_limit_check_reads_the_session_revocation_mark_on_the_way(
    client: AsyncTestClient[Litestar], clock: Clock, database_url: str
) -> None:
    """The script that spends the caller's budget also reads its session's revocation mark,
    so a signed-in request's revocation check costs no round trip of its own; a revoked
    session is refused all the same, and with the limiter out (fail open) the check asks
    Redis itself."""
    tokens = await signed_in(client, database_url, "probe@example.com")
    auth = bearer(tokens["accessToken"])
    kernel = client.app.state.kernel
    revocations = kernel.security.revocations
    asked = 0
    is_revoked = revocations.is_revoked

    async def counting(session_id: uuid.UUID) -> bool:
        nonlocal asked
        asked += 1
        return await is_revoked(session_id)

    revocations.is_revoked = counting
    r = await client.get("/api/v1/test-rl/whoami", headers=auth)
    assert r.status_code == 200, r.text
    assert asked == 0
    r = await client.delete(f"/api/v1/auth/sessions/{tokens['sessionId']}", headers=auth)
    assert r.status_code == 204, r.text
    r = await client.get("/api/v1/test-rl/whoami", headers=auth)
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_token"
    assert asked == 0
    clock.advance(60)  # a fresh budget (reads: 3 a minute here)
    rate_limits: RateLimiter = kernel.rate_limits
    working = rate_limits.script
    rate_limits.script = ScriptPipe(f"redis://127.0.0.1:{free_port()}/0", limiter.GCRA)
    try:
        r = await client.get("/api/v1/test-rl/whoami", headers=auth)
        assert r.status_code == 401
        assert "ratelimit" not in r.headers  # the limit failed open
        assert asked == 1
    finally:
        await rate_limits.script.close()
        rate_limits.script = working


async def test_two_app_instances_share_one_budget(
    settings: Settings, clean_state: None, clock: Clock
) -> None:
    one, two = build(limited(settings), clock), build(limited(settings), clock)
    async with (
        AsyncTestClient(app=one, base_url="http://testserver.local") as a,
        AsyncTestClient(app=two, base_url="http://testserver.local") as b,
    ):
        assert one.state.kernel.rate_limits is not two.state.kernel.rate_limits
        use_test_keys(one)
        use_test_keys(two)
        answers = []
        for n in range(4):
            r = await (a if n % 2 == 0 else b).get("/api/v1/test-rl/item", headers=key(1))
            answers.append((r.status_code, r.headers["ratelimit"].split(",")[0]))
        assert answers == [
            (200, '"reads";r=2;t=20'),
            (200, '"reads";r=1;t=40'),
            (200, '"reads";r=0;t=60'),
            (429, '"reads";r=0;t=60'),
        ]
        r = await a.get("/api/v1/test-rl/item", headers=key(1))
        assert r.status_code == 429


async def test_a_route_draws_from_the_bucket_it_names(
    client: AsyncTestClient[Litestar], clock: Clock
) -> None:
    for n in (1, 2):
        r = await client.post("/api/v1/test-rl/send", headers=key(1))
        assert r.status_code == 200
        assert r.headers["ratelimit-policy"] == '"sends";q=2;w=60, "sends-address";q=4;w=60'
        assert r.headers["ratelimit"].startswith(f'"sends";r={2 - n};t={30 * n}, ')
    r = await client.post("/api/v1/test-rl/send", headers=key(1))
    assert r.status_code == 429
    assert problem(r)["extra"] == {"policy": "sends", "retryAfterSeconds": 30}
    # Other writes of the same caller come from the writes bucket, untouched.
    r = await client.post("/api/v1/test-rl/item", headers=key(1))
    assert r.status_code == 200
    assert r.headers["ratelimit"].startswith('"writes";r=4;t=12, ')


async def test_a_narrower_limit_keyed_on_an_email_address(
    client: AsyncTestClient[Litestar], clock: Clock
) -> None:
    for n in (1, 2):
        r = await client.post("/api/v1/test-rl/forgot", json={"email": "ann@example.com"})
        assert r.status_code == 202
        assert r.json() == {"remaining": 2 - n}
    r = await client.post("/api/v1/test-rl/forgot", json={"email": "ann@example.com"})
    assert r.status_code == 429
    body = problem(r)
    assert body["code"] == "rate_limited"
    assert body["extra"] == {"policy": "password-reset", "retryAfterSeconds": 1800}
    assert r.headers["retry-after"] == "1800"
    # The keyed policy and the route's writes policy both apply and both are reported.
    assert r.headers.get_list("ratelimit-policy") == [
        '"password-reset";q=2;w=3600',
        '"writes-address";q=10;w=60',
    ]
    assert r.headers.get_list("ratelimit")[0] == '"password-reset";r=0;t=3600'
    # Another address is not affected; the address is not stored in clear.
    r = await client.post("/api/v1/test-rl/forgot", json={"email": "bob@example.com"})
    assert r.json() == {"remaining": 1}
    redis = Redis.from_url(client.app.state.settings.redis_url)
    try:
        keys = [k.decode() async for k in redis.scan_iter("hub:rl:*")]
    finally:
        await redis.aclose()
    assert not [k for k in keys if "example.com" in k]
    assert len([k for k in keys if k.startswith("hub:rl:x:password-reset:")]) == 2
    clock.advance(1800)
    r = await client.post("/api/v1/test-rl/forgot", json={"email": "ann@example.com"})
    assert r.json() == {"remaining": 0}


async def test_route_limits_fail_open_and_keyed_limits_fail_closed_without_redis(
    client: AsyncTestClient[Litestar], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = Events()
    monkeypatch.setattr(limiter, "log", events)
    rate_limits: RateLimiter = client.app.state.kernel.rate_limits
    working = rate_limits.script
    dead = ScriptPipe(f"redis://127.0.0.1:{free_port()}/0", limiter.GCRA)
    attempts = 0

    class Counting:
        async def __call__(self, keys: Any, args: Any) -> Any:
            nonlocal attempts
            attempts += 1
            return await dead(keys, args)

        async def close(self) -> None:
            await dead.close()

    rate_limits.script = Counting()
    allowed_before = metric("hub_rate_limit_unavailable_total", policy="reads", outcome="allowed")
    try:
        for _ in range(10):
            r = await client.get("/api/v1/test-rl/item")
            assert r.status_code == 200
            assert "ratelimit" not in r.headers
        r = await client.post("/api/v1/test-rl/forgot", json={"email": "ann@example.com"})
        assert r.status_code == 503
        assert problem(r)["code"] == "rate_limit_unavailable"
        assert r.headers["retry-after"] == "5"
        # One warning per outage; Redis is tried again after a second, not on every request.
        assert events.lines == [("warning", "rate_limit_unavailable")]
        assert attempts == 1
        assert (
            metric("hub_rate_limit_unavailable_total", policy="reads", outcome="allowed")
            == allowed_before + 10
        )
        clock.advance(1)
        assert (await client.get("/api/v1/test-rl/item")).status_code == 200
        assert attempts == 2
        clock.advance(-3600)  # a clock set back does not stretch the pause
        assert (await client.get("/api/v1/test-rl/item")).status_code == 200
        assert attempts == 3
        assert events.lines == [("warning", "rate_limit_unavailable")]
    finally:
        await rate_limits.script.close()
        rate_limits.script = working
    clock.advance(3601)
    r = await client.get("/api/v1/test-rl/item")
    assert r.headers["ratelimit"] == '"reads-address";r=5;t=10'
    assert events.lines[1:] == [("info", "rate_limit_restored")]


async def test_limits_off_means_no_headers_no_refusals(
    settings: Settings, clean_state: None, clock: Clock
) -> None:
    app = build(limited(settings, rate_limit_enabled=False), clock)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        for _ in range(10):
            r = await client.get("/api/v1/test-rl/item")
            assert r.status_code == 200
            assert "ratelimit" not in r.headers
        for _ in range(3):
            r = await client.post("/api/v1/test-rl/forgot", json={"email": "ann@example.com"})
            assert r.json() == {"remaining": None}


async def test_browsers_may_read_the_headers(
    settings: Settings, clean_state: None, clock: Clock
) -> None:
    app = build(limited(settings, cors_origins=("https://portal.example",)), clock)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        r = await client.get("/api/v1/test-rl/item", headers={"Origin": "https://portal.example"})
    exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
    assert {"ratelimit", "ratelimit-policy", "retry-after"} <= exposed


async def test_a_route_naming_an_unknown_bucket_stops_the_start(
    settings: Settings, clean_state: None
) -> None:
    @get("/api/v1/test-rl/typo", opt={"rate_limit": "serach"}, sync_to_thread=False)
    def typo() -> None:
        return None

    app = create_app(settings, extra_route_handlers=[typo], configure_logs=False)
    with pytest.raises(ExceptionGroup) as err:  # the test client wraps it in a group
        async with AsyncTestClient(app=app, base_url="http://testserver.local"):
            pass
    assert "SettingsError: route /api/v1/test-rl/typo names rate-limit bucket 'serach'" in "".join(
        traceback.format_exception(err.value)
    )


@pytest.fixture
def proxied_server(settings: Settings, clean_state: None, clock: Clock) -> Iterator[LiveServer]:
    app = build(limited(settings, trusted_proxies=("127.0.0.1",)), clock)
    with LiveServer(app) as server:
        yield server


async def test_through_uvicorn_addresses_behind_a_trusted_proxy_have_their_own_budget(
    proxied_server: LiveServer, clock: Clock
) -> None:
    async with httpx.AsyncClient(base_url=proxied_server.url, timeout=10) as http:

        async def read(forwarded: str) -> httpx.Response:
            return await http.get("/api/v1/test-rl/item", headers={"X-Forwarded-For": forwarded})

        for n in range(1, 7):
            r = await read("203.0.113.5")
            assert r.status_code == 200
            assert r.headers["ratelimit"] == f'"reads-address";r={6 - n};t={10 * n}'
        # A client cannot escape by writing its own hop in front of the proxy's.
        r = await read("198.51.100.1, 203.0.113.5")
        assert r.status_code == 429
        assert r.headers["retry-after"] == "10"
        body = problem(r)
        assert body["extra"] == {"policy": "reads-address", "retryAfterSeconds": 10}
        # Another address behind the same proxy is counted apart.
        r = await read("203.0.113.6")
        assert r.status_code == 200
        assert r.headers["ratelimit"] == '"reads-address";r=5;t=10'
        clock.advance(10)
        assert (await read("203.0.113.5")).status_code == 200


async def test_quotas_that_do_not_divide_their_window_stay_exact(
    client: AsyncTestClient[Litestar], clock: Clock
) -> None:
    rate_limits: RateLimiter = client.app.state.kernel.rate_limits
    seen = []
    for _ in range(7):
        verdict = await rate_limits.hit("awkward", key="k", limit=7, window=60)
        assert verdict is not None
        seen.append(verdict.remaining)
    assert seen == [6, 5, 4, 3, 2, 1, 0]
    with pytest.raises(limiter.RateLimited) as refused:
        await rate_limits.hit("awkward", key="k", limit=7, window=60)
    assert refused.value.headers["Retry-After"] == "9"  # 60/7 = 8.57 s, rounded up
    clock.advance(8.5)
    with pytest.raises(limiter.RateLimited):
        await rate_limits.hit("awkward", key="k", limit=7, window=60)
    clock.advance(0.1)
    assert await rate_limits.hit("awkward", key="k", limit=7, window=60)
    # A quota finer than a microsecond per request still answers sensibly.
    verdict = await rate_limits.hit("huge", key="k", limit=10**9, window=60)
    assert verdict is not None
    assert verdict.remaining <= 10**9 - 1
    assert verdict.reset_seconds == 1


async def test_tls_urls_go_through_redis_py_with_the_same_answers(
    settings: Settings, clean_state: None, clock: Clock
) -> None:
    redis = Redis.from_url(settings.redis_url or "")
    try:
        assert isinstance(script_runner("redis://cache:6379/0", limiter.GCRA, redis), ScriptPipe)
        assert isinstance(script_runner("unix:///run/redis.sock", limiter.GCRA, redis), ScriptPipe)
        tls = script_runner("rediss://cache:6380/0", limiter.GCRA, redis)
        assert isinstance(tls, RedisPyScript)
        # The same runner over the test Redis (plain TCP or socket) behaves the same.
        over_redis_py = RateLimiter(
            RedisPyScript(redis, limiter.GCRA), settings.rate_limit_quotas(), clock=clock
        )
        seen = [await over_redis_py.hit("tls", key="k", limit=2, window=60) for _ in range(2)]
        assert [v.remaining for v in seen if v] == [1, 0]
        with pytest.raises(limiter.RateLimited):
            await over_redis_py.hit("tls", key="k", limit=2, window=60)
        await over_redis_py.close()
    finally:
        await redis.aclose()
