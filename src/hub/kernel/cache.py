"""One shared async Redis client per process (rate limits, revocation sets, locks, cache)."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

#: The default of HUB_REDIS_TIMEOUT_MS, for callers without settings at hand.
DEFAULT_TIMEOUT_S = 2.0


def create_redis(url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> Redis:
    """A client whose every command answers or fails within ``timeout_s``.

    redis-py's default retries a timed-out command three times with backoff, which turned a
    frozen Redis into a 20-second wait per call. Here a command that times out fails at
    once; only a dropped connection (Redis restarted, idle connection closed) is retried,
    once and immediately, on a fresh connection.
    """
    return Redis.from_url(
        url,
        decode_responses=False,
        socket_connect_timeout=timeout_s,
        socket_timeout=timeout_s,
        health_check_interval=30,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )
