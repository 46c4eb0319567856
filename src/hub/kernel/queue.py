"""dramatiq on a Redis broker: the one place the broker is built and installed."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker


def create_broker(redis_url: str, *, namespace: str = "hub") -> RedisBroker:
    return RedisBroker(url=redis_url, namespace=namespace)


def install_broker(redis_url: str) -> RedisBroker:
    """Build the broker and make it dramatiq's global one (actors bind to it)."""
    broker = create_broker(redis_url)
    dramatiq.set_broker(broker)
    return broker
