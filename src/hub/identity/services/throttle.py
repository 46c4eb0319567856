"""Brute-force protection: attempt counters in Redis, shared by every process.

Each secret check first *reserves* an attempt on its counters (the account or second
factor, and the client IP) in one Lua script, so the check and the increment are atomic:
a burst of parallel guesses evaluates at most ``threshold`` of them before the lock
drops, however many processes serve the burst. The attempt that would exceed the
threshold sets a lock instead (60 s, doubling with each consecutive lockout up to 15 min;
the count of consecutive lockouts is forgotten after 12 h without one). A success
clears the account counter and gives back the IP's reservation.

Counters key on the *normalised* address, so unknown addresses lock exactly like known
ones and a locked login answers like a wrong password.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from redis.asyncio import Redis

from hub.identity.domain.settings import IdentitySettings

_ACQUIRE = """
local n = #KEYS / 3
for i = 0, n - 1 do
  local ttl = redis.call('PTTL', KEYS[i * 3 + 2])
  if ttl > 0 then return {0, i + 1, ttl, 0} end
end
for i = 0, n - 1 do
  local count = tonumber(redis.call('GET', KEYS[i * 3 + 1]) or '0')
  if count + 1 > tonumber(ARGV[i * 5 + 1]) then
    local strikes = redis.call('INCR', KEYS[i * 3 + 3])
    redis.call('PEXPIRE', KEYS[i * 3 + 3], ARGV[i * 5 + 5])
    local duration = tonumber(ARGV[i * 5 + 3]) * (2 ^ (strikes - 1))
    duration = math.min(duration, tonumber(ARGV[i * 5 + 4]))
    redis.call('SET', KEYS[i * 3 + 2], '1', 'PX', math.floor(duration))
    redis.call('DEL', KEYS[i * 3 + 1])
    return {0, i + 1, math.floor(duration), 1}
  end
end
for i = 0, n - 1 do
  local count = redis.call('INCR', KEYS[i * 3 + 1])
  if count == 1 then redis.call('PEXPIRE', KEYS[i * 3 + 1], ARGV[i * 5 + 2]) end
end
return {1, 0, 0, 0}
"""

_SUCCEED = """
for i, key in ipairs(KEYS) do
  if ARGV[i] == 'reset' then
    redis.call('DEL', key, key .. ':strikes')
  elseif redis.call('EXISTS', key) == 1 and tonumber(redis.call('GET', key)) > 0 then
    redis.call('DECR', key)
  end
end
return 1
"""


@dataclass(frozen=True)
class Counter:
    kind: str  # "account", "mfa", "ip"
    key: str
    threshold: int
    #: On success: "reset" clears the counter (accounts); "release" gives one back (IPs).
    on_success: str


@dataclass(frozen=True)
class Attempt:
    allowed: bool
    counters: tuple[Counter, ...]
    #: The counter that just locked (only on the attempt that set the lock).
    newly_locked: Counter | None = None
    locked_ms: int = 0


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]


class Throttle:
    def __init__(self, redis: Redis, settings: IdentitySettings) -> None:
        self.redis = redis
        self.settings = settings
        self._acquire = redis.register_script(_ACQUIRE)
        self._succeed = redis.register_script(_SUCCEED)

    def account(self, normalised_email: str) -> Counter:
        return Counter(
            "account",
            "hub:bf:account:" + _digest(normalised_email),
            self.settings.lockout_threshold,
            "reset",
        )

    def mfa(self, user_id: uuid.UUID) -> Counter:
        return Counter("mfa", f"hub:bf:mfa:{user_id}", self.settings.mfa_lockout_threshold, "reset")

    def ip(self, address: str) -> Counter:
        return Counter(
            "ip", "hub:bf:ip:" + _digest(address), self.settings.ip_lockout_threshold, "release"
        )

    async def acquire(self, *counters: Counter) -> Attempt:
        s = self.settings
        keys: list[str] = []
        args: list[int] = []
        for c in counters:
            keys += [c.key, c.key + ":lock", c.key + ":strikes"]
            args += [
                c.threshold,
                s.lockout_window_seconds * 1000,
                s.lockout_base_seconds * 1000,
                s.lockout_max_seconds * 1000,
                s.lockout_reset_seconds * 1000,
            ]
        allowed, index, ms, newly = await self._acquire(keys=keys, args=args)
        if allowed:
            return Attempt(True, counters)
        return Attempt(
            False,
            counters,
            newly_locked=counters[int(index) - 1] if newly else None,
            locked_ms=int(ms),
        )

    async def succeeded(self, attempt: Attempt) -> None:
        if not attempt.counters:
            return
        await self._succeed(
            keys=[c.key for c in attempt.counters],
            args=[c.on_success for c in attempt.counters],
        )

    async def is_locked(self, *counters: Counter) -> bool:
        """Whether any counter is locked right now: one ``EXISTS``, nothing counted.

        For checks of high-entropy secrets (API keys) that cannot be guessed anyway:
        a request pays this instead of a reservation, and only a failure is counted."""
        return bool(await self.redis.exists(*(c.key + ":lock" for c in counters)))

    async def failed(self, *counters: Counter) -> Attempt:
        """Count a failure that was checked without a reservation (see :meth:`is_locked`)."""
        return await self.acquire(*counters)

    async def unlock(self, *counters: Counter) -> None:
        """Forget counters, locks and consecutive-lock history (an administrator's unlock)."""
        await self.redis.delete(
            *(key for c in counters for key in (c.key, c.key + ":lock", c.key + ":strikes"))
        )
