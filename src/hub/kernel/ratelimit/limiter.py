"""The limiter: buckets compiled from settings, one GCRA script, keyed extra limits.

The algorithm is GCRA (a token bucket kept as one timestamp per key): ``requests`` per
``window`` with bursts up to ``requests``, refilled continuously, so there is no window edge
at which a client can spend twice its quota. Both budgets of a request (caller, address)
are checked and spent by one Lua script, atomically and in one round trip; nothing is spent
when either refuses. The time comes from Python (``RateLimiter.clock``, injectable for
tests) in microseconds, so API hosts are expected to keep NTP time, as for token expiry.

If Redis cannot be reached, route limits *fail open*: the request is served without the
headers, ``hub_rate_limit_unavailable_total`` counts it and one warning is logged per outage
(Redis is then tried at most once a second, so an outage adds no latency). ``/ready``
already reports Redis down; refusing every request as well would turn a Redis outage into
an API outage. A keyed :meth:`RateLimiter.hit` *fails closed* by default (503
``rate_limit_unavailable``): it guards the abuse-prone actions (sign-up, password-reset
mail, invitations) where unlimited attempts are worse than a short refusal.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Mapping
from typing import Final

import msgspec
import structlog
from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from hub.kernel.errors import AppError
from hub.kernel.redis_pipe import CommandRunner, ScriptRunner, script_runner
from hub.kernel.settings import Settings, SettingsError

log = structlog.get_logger("hub.ratelimit")

#: The buckets a route can draw from; each has its ``HUB_RATE_LIMIT_<NAME>`` quota.
#: ``auth`` is the tight one for credential and account-mail endpoints (each may cost an
#: argon2 hash or send a mail), so a client cannot turn them into CPU or mail exhaustion.
BUCKETS: Final = ("reads", "writes", "uploads", "search", "sends", "auth")
_KEY_PREFIX: Final = "hub:rl:"
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
#: After a failed call, Redis is left alone this long (requests fail open meanwhile).
_RETRY_PAUSE_US: Final = 1_000_000

RATE_LIMITED = Counter(
    "hub_rate_limited_total", "Requests refused by a rate limit (429)", ["policy"]
)
UNAVAILABLE = Counter(
    "hub_rate_limit_unavailable_total",
    "Requests whose rate limit could not be checked (Redis unreachable)",
    ["policy", "outcome"],
)

#: GCRA over 1 or 2 keys, all or nothing, in integer microseconds (exact in Lua's doubles).
#: ARGV[1]: now; per key i, from ARGV[3i-1]: the emission interval (window / requests,
#: rounded down), the window, the requests. A key holds its theoretical arrival time (TAT);
#: a request fits when TAT + interval - now <= window. Returns {allowed, then per key:
#: remaining, seconds until the quota is whole again, seconds to wait (0: that key allows)}.
#: KEYS beyond the ARGV triples are probes: their ``EXISTS`` (1 or 0) is appended, read in
#: the same round trip (the session revocation mark of the caller, see ``middleware``).
GCRA = """
local now = tonumber(ARGV[1])
local limited = (#ARGV - 1) / 3
local allowed = 1
local tats = {}
for i = 1, limited do
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  tats[i] = tat
  if tat + tonumber(ARGV[3 * i - 1]) - now > tonumber(ARGV[3 * i]) then allowed = 0 end
end
local out = {allowed}
for i = 1, limited do
  local interval = tonumber(ARGV[3 * i - 1])
  local window = tonumber(ARGV[3 * i])
  local tat = tats[i]
  local wait = 0
  if allowed == 1 then
    tat = tat + interval
    redis.call('SET', KEYS[i], tat, 'PX', math.ceil((tat - now) / 1000))
  else
    wait = math.max(0, tat + interval - now - window)
  end
  out[#out + 1] = math.min(tonumber(ARGV[3 * i + 1]), math.floor((window - (tat - now)) / interval))
  out[#out + 1] = math.ceil((tat - now) / 1000000)
  out[#out + 1] = math.ceil(wait / 1000000)
end
for i = limited + 1, #KEYS do
  out[#out + 1] = redis.call('EXISTS', KEYS[i])
end
return out
"""


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


class Policy:
    """A quota compiled once into what each request sends and answers with."""

    __slots__ = ("args", "header", "name", "requests", "window_seconds")

    def __init__(self, name: str, requests: int, window_seconds: int) -> None:
        self.name = name
        self.requests = requests
        self.window_seconds = window_seconds
        window_us = window_seconds * 1_000_000
        #: The script's per-key arguments: interval, window (µs), requests.
        self.args = (
            str(max(1, window_us // requests)).encode(),
            str(window_us).encode(),
            str(requests).encode(),
        )
        self.header = f'"{name}";q={requests};w={window_seconds}'.encode()


class Bucket:
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
        self.caller = Policy(name, requests, window_seconds)
        self.address = Policy(f"{name}-address", requests * address_factor, window_seconds)
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
        script: ScriptRunner,
        quotas: Mapping[str, tuple[int, int]],
        *,
        address_factor: int = 4,
        enabled: bool = True,
        clock: Clock = time.time,
    ) -> None:
        self.enabled = enabled
        self.clock = clock
        self.buckets = {
            name: Bucket(name, requests, window, address_factor)
            for name, (requests, window) in quotas.items()
        }
        missing = set(BUCKETS) - set(self.buckets)
        if missing:
            raise SettingsError(f"rate-limit quotas missing for {', '.join(sorted(missing))}")
        #: Runs :data:`GCRA` in Redis; replaceable (a test points it at a dead server).
        self.script = script
        self._paused_until = 0
        self._outage = False

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        redis_url: str,
        redis: Redis,
        *,
        pipe: CommandRunner | None = None,
    ) -> RateLimiter:
        """Over the process's lean connection ``pipe`` when given, else a pipelined
        connection of its own to ``redis_url`` (redis-py's ``redis`` for TLS URLs);
        nothing connects before the first check."""
        timeout = settings.redis_timeout_ms / 1000
        return cls(
            script_runner(redis_url, GCRA, redis, timeout=timeout, pipe=pipe),
            settings.rate_limit_quotas(),
            address_factor=settings.rate_limit_address_factor,
            enabled=settings.rate_limit_enabled,
        )

    async def _run(self, now: int, keys: list[str], args: list[bytes | int]) -> list[int] | None:
        """The script's answer, or None when Redis is unreachable (then paused a second).

        ``args`` starts with ``now`` (µs), the time the check is made at.
        """
        # Paused for a second after a failure (a clock set back ends the pause early).
        if self._paused_until and self._paused_until - _RETRY_PAUSE_US <= now < self._paused_until:
            return None
        try:
            result: list[int] = await self.script(keys, args)
        except (RedisError, OSError) as exc:
            self._paused_until = now + _RETRY_PAUSE_US
            if not self._outage:
                self._outage = True
                log.warning("rate_limit_unavailable", error=f"{type(exc).__name__}: {exc}")
            return None
        if self._outage:
            self._outage = False
            self._paused_until = 0
            log.info("rate_limit_restored")
        return result

    async def close(self) -> None:
        await self.script.close()

    def _now_us(self) -> int:
        return int(self.clock() * 1_000_000)

    async def check(
        self, bucket: Bucket, caller: str | None, address: str, *, probe: str | None = None
    ) -> list[int] | None:
        """Spend one unit of the bucket from the caller's and the address's budgets.

        The raw answer (see ``GCRA``; the caller's triple first when there is a caller,
        then ``EXISTS probe`` when a probe key is given), or None when the store is
        unreachable.
        """
        now = self._now_us()
        if caller is None:
            keys = [bucket.address_prefix + address]
            args: list[bytes | int] = [now, *bucket.address.args]
        else:
            keys = [bucket.key_prefix + caller, bucket.address_prefix + address]
            args = [now, *bucket.caller.args, *bucket.address.args]
        if probe is not None:
            keys.append(probe)
        return await self._run(now, keys, args)

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
        policy = Policy(name, limit, window)
        digest = hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
        now = self._now_us()
        result = await self._run(now, [f"{_KEY_PREFIX}x:{name}:{digest}"], [now, *policy.args])
        if result is None:
            UNAVAILABLE.labels(name, "allowed" if fail_open else "refused").inc()
            if fail_open:
                return None
            raise RateLimitUnavailable(
                "This action cannot be checked against its rate limit right now; "
                "try again in a few seconds.",
                headers={"Retry-After": "5"},
            )
        verdict = verdicts_of(result, (policy,))[0]
        if not verdict.allowed:
            RATE_LIMITED.labels(name).inc()
            raise RateLimited(
                refusal_detail(verdict),
                extra={"policy": name, "retryAfterSeconds": verdict.retry_after_seconds},
                headers={
                    "Retry-After": str(verdict.retry_after_seconds),
                    "RateLimit-Policy": policy.header.decode(),
                    "RateLimit": _state_header((verdict,)).decode(),
                },
            )
        return verdict


def verdicts_of(result: list[int], policies: tuple[Policy, ...]) -> list[Verdict]:
    out = []
    for i, policy in enumerate(policies):
        remaining, reset, wait = result[1 + 3 * i : 4 + 3 * i]
        out.append(
            Verdict(
                policy=policy.name,
                requests=policy.requests,
                window_seconds=policy.window_seconds,
                remaining=max(0, remaining),
                reset_seconds=reset,
                retry_after_seconds=wait,
            )
        )
    return out


def _state_header(verdicts: tuple[Verdict, ...] | list[Verdict]) -> bytes:
    return b", ".join(
        b'"%s";r=%d;t=%d' % (v.policy.encode(), v.remaining, v.reset_seconds) for v in verdicts
    )


def refusal_detail(verdict: Verdict) -> str:
    return (
        f"Too many requests: the {verdict.policy!r} limit of {verdict.requests} per "
        f"{verdict.window_seconds} s is used up; retry after {verdict.retry_after_seconds} s."
    )
