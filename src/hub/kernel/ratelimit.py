"""Rate limits every API process shares: named buckets per route, counted in Redis.

Each ``/api/v1`` route draws from a bucket — ``reads`` for GET/HEAD/OPTIONS, ``writes`` for
the other methods, or the one it names with ``opt=rate_limit("sends")`` (a controller or
router can name one for all its routes). A request spends one unit from two budgets and must
find both non-empty: its caller's (user id, or API key id) and its client address's (the
proxy-aware address of :class:`~hub.kernel.security.ClientAddress`; the quota times
``HUB_RATE_LIMIT_ADDRESS_FACTOR``, since one address may carry a whole office). Anonymous
requests only have the address budget. A service adds a narrower limit on anything else with
``await limiter.hit("password-reset", key=email, limit=5, window=3600)``.

The algorithm is GCRA (a token bucket kept as one timestamp per key): ``requests`` per
``window`` with bursts up to ``requests``, refilled continuously, so there is no window edge
at which a client can spend twice its quota. Both budgets of a request are checked and
spent by one Lua script, atomically and in one round trip; nothing is spent when either
refuses. The time comes from Python (``RateLimiter.clock``, injectable for tests), so API
hosts are expected to keep NTP time like for token expiry.

Responses carry ``RateLimit-Policy`` and ``RateLimit`` (draft-ietf-httpapi-ratelimit-headers);
a refusal is a 429 ``rate_limited`` problem with ``Retry-After``.

If Redis cannot be reached, route limits *fail open*: the request is served without the
headers, ``hub_rate_limit_unavailable_total`` counts it and one warning is logged per outage
(Redis is then retried at most once a second, so an outage adds no latency). ``/ready``
already reports Redis down; refusing every request as well would turn a cache outage into an
API outage. A keyed :meth:`RateLimiter.hit` *fails closed* by default (503
``rate_limit_unavailable``): it guards the abuse-prone actions (sign-up, password reset
mail, invitations) where unlimited attempts are worse than a short refusal.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Literal

import msgspec
import structlog
from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.enums import ScopeType
from litestar.middleware import DefineMiddleware
from litestar.plugins import InitPlugin
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, Scope, Send
from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from hub.kernel.errors import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE, AppError, Problem
from hub.kernel.security import Authenticator, ClientAddress, Principal
from hub.kernel.settings import Settings, SettingsError

log = structlog.get_logger("hub.ratelimit")

#: The buckets a route can draw from; each has its ``HUB_RATE_LIMIT_<NAME>`` quota.
BUCKETS: Final = ("reads", "writes", "uploads", "search", "sends")
#: The route ``opt`` key naming a bucket (or ``False``: not limited).
OPT_KEY: Final = "rate_limit"
_READ_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
_KEY_PREFIX: Final = "hub:rl:"
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
#: After a failed call, Redis is left alone this long (requests fail open meanwhile).
_RETRY_PAUSE_MS: Final = 1000

RATE_LIMITED = Counter(
    "hub_rate_limited_total", "Requests refused by a rate limit (429)", ["policy"]
)
UNAVAILABLE = Counter(
    "hub_rate_limit_unavailable_total",
    "Requests whose rate limit could not be checked (Redis unreachable)",
    ["policy", "outcome"],
)

#: GCRA over 1 or 2 keys, all or nothing. ARGV[1]: now (ms); per key i: ARGV[2i] the
#: emission interval (window / requests, ms), ARGV[2i+1] the window (ms). A key holds its
#: theoretical arrival time (TAT); a request fits when TAT + interval - now <= window.
#: Returns {allowed, then per key: remaining, ms until the quota is whole again, ms to wait
#: (0 when that key would allow)}.
_GCRA = """
local now = tonumber(ARGV[1])
local n = #KEYS
local tats = {}
local allowed = 1
for i = 1, n do
  local interval = tonumber(ARGV[2 * i])
  local window = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  tats[i] = tat
  if tat + interval - now > window + 0.001 then allowed = 0 end
end
local out = {allowed}
for i = 1, n do
  local interval = tonumber(ARGV[2 * i])
  local window = tonumber(ARGV[2 * i + 1])
  local tat = tats[i]
  local wait = 0
  if allowed == 1 then
    tat = tat + interval
    redis.call('SET', KEYS[i], tat, 'PX', math.ceil(tat - now))
  elseif tat + interval - now > window + 0.001 then
    wait = math.ceil(tat + interval - now - window)
  end
  out[#out + 1] = math.floor((window - (tat - now)) / interval + 0.001)
  out[#out + 1] = math.ceil(tat - now)
  out[#out + 1] = wait
end
return out
"""


def rate_limit(bucket: str | Literal[False]) -> dict[str, Any]:
    """Route ``opt`` for a bucket: ``@post("/messages", opt=rate_limit("sends"))``.

    ``rate_limit(False)`` exempts a route. Works on controllers and routers too (the
    innermost layer wins). An unknown name fails here, at import.
    """
    if bucket is not False and bucket not in BUCKETS:
        raise ValueError(f"unknown rate-limit bucket {bucket!r}; one of {', '.join(BUCKETS)}")
    return {OPT_KEY: bucket}


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"


class RateLimitUnavailable(AppError):
    status_code = 503
    code = "rate_limit_unavailable"


class Verdict(msgspec.Struct, frozen=True):
    """One policy's state after a request: what is left and when it is whole again."""

    policy: str
    requests: int
    window_seconds: int
    remaining: int
    reset_seconds: int
    retry_after_seconds: int = 0

    @property
    def allowed(self) -> bool:
        return self.retry_after_seconds == 0


class _Policy:
    """A quota compiled once into what each request sends and answers with."""

    __slots__ = ("header", "interval", "name", "requests", "window", "window_seconds")

    def __init__(self, name: str, requests: int, window_seconds: int) -> None:
        self.name = name
        self.requests = requests
        self.window_seconds = window_seconds
        window_ms = window_seconds * 1000
        self.interval = repr(window_ms / requests).encode()
        self.window = str(window_ms).encode()
        self.header = f'"{name}";q={requests};w={window_seconds}'.encode()


class _Bucket:
    """A bucket's two policies (caller, address) with their key prefixes and headers."""

    __slots__ = (
        "address",
        "address_prefix",
        "anonymous_policy_header",
        "anonymous_state",
        "caller",
        "key_prefix",
        "name",
        "policy_header",
        "state",
    )

    def __init__(self, name: str, requests: int, window_seconds: int, address_factor: int):
        self.name = name
        self.caller = _Policy(name, requests, window_seconds)
        self.address = _Policy(f"{name}-address", requests * address_factor, window_seconds)
        self.key_prefix = f"{_KEY_PREFIX}{name}:"
        self.address_prefix = f"{_KEY_PREFIX}{name}:a:"
        self.policy_header = self.caller.header + b", " + self.address.header
        self.anonymous_policy_header = self.address.header
        #: ``RateLimit`` values, filled with (remaining, reset seconds) per policy.
        self.state = f'"{name}";r=%d;t=%d, "{name}-address";r=%d;t=%d'.encode()
        self.anonymous_state = f'"{name}-address";r=%d;t=%d'.encode()


Clock = Callable[[], float]


class RateLimiter:
    """Checks and spends budgets in Redis; one per process, on the kernel.

    ``clock`` (seconds, like :func:`time.time`) is read once per check; tests replace it to
    move through windows without sleeping.
    """

    def __init__(
        self,
        redis: Redis,
        quotas: Mapping[str, tuple[int, int]],
        *,
        address_factor: int = 4,
        enabled: bool = True,
        clock: Clock = time.time,
    ) -> None:
        self.enabled = enabled
        self.clock = clock
        self.buckets = {
            name: _Bucket(name, requests, window, address_factor)
            for name, (requests, window) in quotas.items()
        }
        missing = set(BUCKETS) - set(self.buckets)
        if missing:
            raise SettingsError(f"rate-limit quotas missing for {', '.join(sorted(missing))}")
        #: The store; replaceable (a test points it at a dead server to see an outage).
        self.redis = redis
        self._script = redis.register_script(_GCRA)
        self._paused_until = 0.0
        self._outage = False

    @classmethod
    def from_settings(cls, settings: Settings, redis: Redis) -> RateLimiter:
        return cls(
            redis,
            settings.rate_limit_quotas(),
            address_factor=settings.rate_limit_address_factor,
            enabled=settings.rate_limit_enabled,
        )

    async def _run(self, now_ms: int, keys: list[str], args: list[bytes]) -> list[int] | None:
        """The script's answer, or None when Redis is unreachable (then paused a second)."""
        if self._paused_until and now_ms < self._paused_until:
            return None
        try:
            result: list[int] = await self._script(
                keys=keys, args=[now_ms, *args], client=self.redis
            )
        except (RedisError, OSError) as exc:
            self._paused_until = now_ms + _RETRY_PAUSE_MS
            if not self._outage:
                self._outage = True
                log.warning("rate_limit_unavailable", error=f"{type(exc).__name__}: {exc}")
            return None
        if self._outage:
            self._outage = False
            self._paused_until = 0.0
            log.info("rate_limit_restored")
        return result

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    async def check(self, bucket: _Bucket, caller: str | None, address: str) -> list[int] | None:
        """Spend one unit of the bucket from the caller's and the address's budgets.

        The raw answer (see ``_GCRA``; the caller's triple first when there is a caller),
        or None when the store is unreachable.
        """
        now = self._now_ms()
        if caller is None:
            return await self._run(
                now,
                [bucket.address_prefix + address],
                [bucket.address.interval, bucket.address.window],
            )
        return await self._run(
            now,
            [bucket.key_prefix + caller, bucket.address_prefix + address],
            [
                bucket.caller.interval,
                bucket.caller.window,
                bucket.address.interval,
                bucket.address.window,
            ],
        )

    async def hit(
        self, name: str, *, key: str, limit: int, window: int, fail_open: bool = False
    ) -> Verdict | None:
        """Spend one unit of a narrower limit keyed on anything (an e-mail address, an
        organisation): at most ``limit`` calls per ``window`` seconds per ``key``.

        Raises :class:`RateLimited` (429, ``Retry-After`` and the rate-limit headers) when
        used up, and :class:`RateLimitUnavailable` (503) when Redis cannot be reached
        unless ``fail_open``. The key is stored hashed (e-mail addresses stay out of Redis).
        Returns None when rate limits are disabled or the check failed open.
        """
        if not _NAME.fullmatch(name):
            raise ValueError(f"rate-limit name {name!r} must match {_NAME.pattern}")
        if limit < 1 or window < 1:
            raise ValueError("a rate limit needs limit >= 1 and window >= 1 second")
        if not self.enabled:
            return None
        policy = _Policy(name, limit, window)
        digest = hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
        result = await self._run(
            self._now_ms(), [f"{_KEY_PREFIX}x:{name}:{digest}"], [policy.interval, policy.window]
        )
        if result is None:
            UNAVAILABLE.labels(name, "allowed" if fail_open else "refused").inc()
            if fail_open:
                return None
            raise RateLimitUnavailable(
                "This action cannot be checked against its rate limit right now; "
                "try again in a few seconds.",
                headers={"Retry-After": "5"},
            )
        verdict = _verdicts(result, (policy,))[0]
        if not verdict.allowed:
            RATE_LIMITED.labels(name).inc()
            raise RateLimited(
                _refusal_detail(verdict),
                extra={"policy": name, "retryAfterSeconds": verdict.retry_after_seconds},
                headers={
                    "Retry-After": str(verdict.retry_after_seconds),
                    "RateLimit-Policy": policy.header.decode(),
                    "RateLimit": _state_header((verdict,)).decode(),
                },
            )
        return verdict


def _verdicts(result: list[int], policies: tuple[_Policy, ...]) -> list[Verdict]:
    out = []
    for i, policy in enumerate(policies):
        remaining, reset_ms, wait_ms = result[1 + 3 * i : 4 + 3 * i]
        out.append(
            Verdict(
                policy=policy.name,
                requests=policy.requests,
                window_seconds=policy.window_seconds,
                remaining=max(0, int(remaining)),
                reset_seconds=math.ceil(int(reset_ms) / 1000),
                retry_after_seconds=math.ceil(int(wait_ms) / 1000),
            )
        )
    return out


def _state_header(verdicts: tuple[Verdict, ...] | list[Verdict]) -> bytes:
    return b", ".join(
        b'"%s";r=%d;t=%d' % (v.policy.encode(), v.remaining, v.reset_seconds) for v in verdicts
    )


def _refusal_detail(verdict: Verdict) -> str:
    return (
        f"Too many requests: the {verdict.policy!r} limit of {verdict.requests} per "
        f"{verdict.window_seconds} s is used up; retry after {verdict.retry_after_seconds} s."
    )


#: Identifies the caller of a request (or None); the authenticator's ``identify``.
Identify = Callable[[dict[str, Any]], Awaitable[Principal | None]]


class RateLimitMiddleware:
    """Applies each route's bucket before the handler runs (route-level: installed as app
    middleware, so Litestar has already matched the route and merged its ``opt``).

    Pure ASGI and allocation-light: buckets are resolved once per (handler, method), keys
    are two string concatenations, headers one ``%`` format.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter,
        identify: Identify,
        client_address: ClientAddress,
        prefix: str,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.identify = identify
        self.client_address = client_address
        self.prefix = prefix
        self._routes: dict[tuple[Any, str], _Bucket | None] = {}

    def _bucket(self, scope: Scope) -> _Bucket | None:
        handler = scope.get("route_handler")
        method: str = scope["method"]  # type: ignore[typeddict-item]  # HTTP only
        try:
            return self._routes[(handler, method)]
        except KeyError:
            pass
        named = handler.opt.get(OPT_KEY) if handler is not None else None
        bucket: _Bucket | None = None
        if named is None:
            path: str = scope.get("path_template") or scope["path"]
            if path == self.prefix or path.startswith(self.prefix + "/"):
                bucket = self.limiter.buckets["reads" if method in _READ_METHODS else "writes"]
        elif named is not False:
            bucket = self.limiter.buckets[named]
        self._routes[(handler, method)] = bucket
        return bucket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        bucket = self._bucket(scope)
        if bucket is None:
            await self.app(scope, receive, send)
            return
        address = self.client_address.of(scope)
        try:
            principal = await self.identify(scope)  # type: ignore[arg-type]
        except AppError:
            principal = None  # bad credentials: the handler answers 401 if it needs any
        caller = None
        if principal is not None:
            caller = (
                "u:" + principal.user_id.hex
                if principal.api_key_id is None
                else "k:" + principal.api_key_id.hex
            )
        result = await self.limiter.check(bucket, caller, address)
        if result is None:
            UNAVAILABLE.labels(bucket.name, "allowed").inc()
            await self.app(scope, receive, send)
            return
        # -(-ms // 1000): whole seconds, rounded up.
        if caller is None:
            policy_header = bucket.anonymous_policy_header
            state = bucket.anonymous_state % (max(0, result[1]), -(-result[2] // 1000))
        else:
            policy_header = bucket.policy_header
            state = bucket.state % (
                max(0, result[1]),
                -(-result[2] // 1000),
                max(0, result[4]),
                -(-result[5] // 1000),
            )
        extra = ((b"ratelimit-policy", policy_header), (b"ratelimit", state))
        if not result[0]:
            await self._refuse(scope, send, bucket, caller is not None, result, extra)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers")
                if isinstance(headers, list):
                    headers.extend(extra)
                else:
                    message["headers"] = [*(headers or ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _refuse(
        self,
        scope: Scope,
        send: Send,
        bucket: _Bucket,
        has_caller: bool,
        result: list[int],
        extra: tuple[tuple[bytes, bytes], ...],
    ) -> None:
        """Answer 429 problem+json here: raising would let the metrics count a 500."""
        policies = (bucket.caller, bucket.address) if has_caller else (bucket.address,)
        verdicts = _verdicts(result, policies)
        refused = max(verdicts, key=lambda v: v.retry_after_seconds)
        RATE_LIMITED.labels(refused.policy).inc()
        body = msgspec.json.encode(
            Problem(
                type=PROBLEM_TYPE_BASE + RateLimited.code.replace("_", "-"),
                title="Too Many Requests",
                status=429,
                detail=_refusal_detail(refused),
                code=RateLimited.code,
                instance=scope["path"],
                request_id=scope.get("state", {}).get("request_id"),
                extra={"policy": refused.policy, "retryAfterSeconds": refused.retry_after_seconds},
            )
        )
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(refused.retry_after_seconds).encode()),
                *extra,
            ],
        }
        await send(start)
        await send({"type": "http.response.body", "body": body, "more_body": False})


class RateLimitPlugin(InitPlugin):
    """Installs the middleware (innermost of the app's, so metrics count 429s) and checks
    at start that every route names a known bucket. Nothing when rate limits are off."""

    def __init__(self, limiter: RateLimiter, authenticator: Authenticator, *, prefix: str):
        self.limiter = limiter
        self.identify = authenticator.identify
        self.client_address = authenticator.client_address
        self.prefix = prefix

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        if not self.limiter.enabled:
            return app_config
        app_config.middleware.append(
            DefineMiddleware(
                RateLimitMiddleware,
                limiter=self.limiter,
                identify=self.identify,
                client_address=self.client_address,
                prefix=self.prefix,
            )
        )
        app_config.on_startup.append(check_routes)
        return app_config


def check_routes(app: Litestar) -> None:
    """Refuse to start when a route's ``opt`` names a bucket that does not exist."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            named = handler.opt.get(OPT_KEY)
            if named is not None and named is not False and named not in BUCKETS:
                raise SettingsError(
                    f"route {route.path} names rate-limit bucket {named!r}; "
                    f"known buckets: {', '.join(BUCKETS)}"
                )
