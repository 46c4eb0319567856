"""One shared async Redis client per process (rate limits, revocation sets, locks, cache)."""

from __future__ import annotations

from redis.asyncio import Redis


def create_redis(url: str) -> Redis:
    return Redis.from_url(
        url,
        decode_responses=False,
        socket_connect_timeout=2.0,
        socket_timeout=5.0,
        health_check_interval=30,
    )
