"""Circuit breakers of the SMTP providers: purgatory's state machine, state in Redis, time
on the kernel clock.

One breaker per provider name (``?name=``, else ``host:port``). purgatory
(https://github.com/mardiros/purgatory) decides: closed, it counts consecutive failures and
opens at ``HUB_SMTP_BREAKER_FAILURES``; open, it refuses at once (the provider is not even
tried) until ``HUB_SMTP_BREAKER_RESET_S`` have passed; then half-open, the next send is a
trial: a success closes it, a failure opens it again for another period. Any success while
closed resets the count.

Shared by every worker process: the state lives in one Redis hash per provider
(``hub:mail:breaker:<name>``: ``state``, ``opened_at``, ``failures``), through this
module's repository (purgatory's own Redis store pins redis<6 and reads the wall clock).
Failures are counted with ``HINCRBY``, so concurrent processes lose none; two processes
deciding at the same instant may each take one more attempt before the state flips. A
breaker untouched for :data:`_FORGET_AFTER_S` is forgotten (closed again).

Time: purgatory's model reads ``time.time()`` itself (its ``OpenedState``), which a test
cannot move. The repository therefore keeps ``opened_at`` on the kernel clock and hands the
model that instant shifted by ``time.time() - clock()``: the model's "now > opened_at +
reset" then compares kernel-clock times. In production the clock is the wall clock and the
shift is nil; a test moves a :class:`hub.kernel.clock.MovableClock` past the reset period
and the breaker half-opens, without sleeping.

Redis trouble never stops mail: a breaker whose state cannot be read is treated as closed,
and one whose new state cannot be written keeps its old one (logged).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog
from purgatory import AsyncAbstractUnitOfWork, AsyncCircuitBreakerFactory
from purgatory.domain.model import Context, ExcludeType, OpenedState
from purgatory.service._async.circuitbreaker import AsyncCircuitBreaker
from purgatory.service._async.repository import AsyncAbstractRepository
from purgatory.typing import StateName
from redis.asyncio import Redis
from redis.exceptions import RedisError

from hub.kernel.clock import Clock

log = structlog.get_logger("hub.mail")

KEY_PREFIX = "hub:mail:breaker:"
#: A week: a provider that was removed (or renamed) leaves no state behind for long.
_FORGET_AFTER_S = 7 * 86_400
_STATES: tuple[StateName, ...] = ("closed", "opened", "half-opened")

#: Raised (by purgatory) when a provider's breaker is open: the provider is skipped.
CircuitOpen = OpenedState


class RedisBreakerRepository(AsyncAbstractRepository):
    """purgatory's repository interface over the kernel's Redis client and clock."""

    def __init__(
        self,
        redis: Redis,
        *,
        threshold: int,
        reset_s: float,
        clock: Clock,
        prefix: str = KEY_PREFIX,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.threshold = threshold
        self.reset_s = reset_s
        self.clock = clock
        self.messages = []

    def _key(self, name: str) -> str:
        return self.prefix + name

    def _shift(self) -> float:
        """Library time (``time.time()``) minus kernel time, now."""
        return time.time() - self.clock().timestamp()

    async def get(self, name: str) -> Context | None:
        try:
            raw = await self.redis.hgetall(self._key(name))
        except RedisError as exc:
            log.warning("mail_breaker_unreadable", provider=name, error=str(exc))
            return Context(name, self.threshold, self.reset_s)  # unknown: closed
        if not raw:
            return None
        fields = {_text(k): _text(v) for k, v in raw.items()}
        state = fields.get("state", "closed")
        opened = fields.get("opened_at") or None
        return Context(
            name,
            # The settings of this process, not those the breaker was created with: a
            # changed threshold or reset period applies at once.
            self.threshold,
            self.reset_s,
            state=state if state in _STATES else "closed",
            failure_count=int(fields.get("failures") or 0),
            opened_at=float(opened) + self._shift() if opened is not None else None,
        )

    async def register(self, context: Context) -> None:
        key = self._key(context.name)
        try:
            await self.redis.hsetnx(key, "state", context.state)
            await self.redis.expire(key, _FORGET_AFTER_S)
        except RedisError as exc:
            log.warning("mail_breaker_unwritable", provider=context.name, error=str(exc))

    async def update_state(self, name: str, state: str, opened_at: float | None) -> None:
        opened = "" if opened_at is None else repr(opened_at - self._shift())
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(self._key(name), mapping={"state": state, "opened_at": opened})
                pipe.expire(self._key(name), _FORGET_AFTER_S)
                await pipe.execute()
        except RedisError as exc:
            log.warning("mail_breaker_unwritable", provider=name, error=str(exc))
            return
        log.warning("mail_breaker_state", provider=name, state=state)

    async def inc_failures(self, name: str, failure_count: int) -> None:
        try:
            await self.redis.hincrby(self._key(name), "failures", 1)
        except RedisError as exc:
            log.warning("mail_breaker_unwritable", provider=name, error=str(exc))

    async def reset_failure(self, name: str) -> None:
        try:
            await self.redis.hset(self._key(name), "failures", "0")
        except RedisError as exc:
            log.warning("mail_breaker_unwritable", provider=name, error=str(exc))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class _UnitOfWork(AsyncAbstractUnitOfWork):
    """purgatory's unit of work: every Redis write above stands alone."""

    def __init__(self, repository: RedisBreakerRepository) -> None:
        self.contexts = repository

    async def commit(self) -> None:
        return None

    async def rollback(self) -> None:
        return None


class ProviderBreakers:
    """The breakers of the configured providers. ``counts(exc)`` says whether an exception
    is the provider's fault (a failure); any other exception counts as a success (the
    provider answered) for purgatory."""

    def __init__(
        self,
        redis: Redis,
        *,
        failures: int,
        reset_s: float,
        clock: Clock,
        counts: Callable[[BaseException], bool],
        prefix: str = KEY_PREFIX,
    ) -> None:
        self.repository = RedisBreakerRepository(
            redis, threshold=failures, reset_s=reset_s, clock=clock, prefix=prefix
        )
        self._counts = counts
        exclude: ExcludeType = [(BaseException, self._not_counted)]
        self.factory = AsyncCircuitBreakerFactory(
            default_threshold=failures,
            default_ttl=reset_s,
            exclude=exclude,
            uow=_UnitOfWork(self.repository),
        )

    def _not_counted(self, exc: BaseException) -> bool:
        return not self._counts(exc)

    @property
    def clock(self) -> Clock:
        return self.repository.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self.repository.clock = clock

    async def breaker(self, provider: str) -> AsyncCircuitBreaker:
        """``async with`` it around one send: raises :data:`CircuitOpen` on entry while
        open; records the outcome on exit."""
        return await self.factory.get_breaker(provider)

    async def state(self, provider: str) -> str:
        """``closed``, ``opened`` or ``half-opened`` as stored (an expired open breaker
        reads ``opened`` until a send tries it)."""
        context = await self.repository.get(provider)
        return "closed" if context is None else context.state
