"""Real-time push to the signed-in person: tickets and Redis pub/sub.

A browser's ``EventSource`` cannot send an ``Authorization`` header, so a signed-in person
first asks for a **ticket** (``POST /stream/ticket``): 32 random bytes, kept in Redis only
as a SHA-256 for ``TICKET_SECONDS`` and good for one connection (``GETDEL``), so a ticket
leaked through a URL log is already spent. ``GET /stream?ticket=`` then subscribes to the
person's Redis channel: any API process or worker publishing there (the fan-out, after
its commit) reaches the connection, whichever process holds it. A comment line goes out
every ``heartbeat_s`` so proxies keep the connection open; a stream ends after
``max_seconds`` and the client reconnects with a new ticket.

Delivery is best-effort (pub/sub keeps nothing for a client that is not connected): the
inbox and ``unread-count`` remain the authority; the stream only says "look now".
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from hub.kernel.clock import Clock
from hub.kernel.errors import Unauthorized

log = structlog.get_logger("hub.communication")

TICKET_SECONDS = 60
_TICKET_PREFIX = "hub:stream:ticket:"
_CHANNEL_PREFIX = "hub:stream:user:"


def channel_of(user_id: uuid.UUID) -> str:
    return f"{_CHANNEL_PREFIX}{user_id}"


def _ticket_key(ticket: str) -> str:
    return _TICKET_PREFIX + hashlib.sha256(ticket.encode()).hexdigest()


@dataclass(frozen=True)
class Ticket:
    ticket: str
    expires_at: datetime


@dataclass(frozen=True)
class Pushed:
    """One message of a stream: ``event`` None is a keep-alive comment."""

    event: str | None
    data: str = ""


class StreamService:
    def __init__(
        self, redis: Redis, clock: Clock, *, heartbeat_s: float = 15.0, max_seconds: float = 300.0
    ) -> None:
        self.redis, self.clock = redis, clock
        self.heartbeat_s, self.max_seconds = heartbeat_s, max_seconds

    async def ticket(self, user_id: uuid.UUID) -> Ticket:
        ticket = secrets.token_urlsafe(32)
        await self.redis.set(_ticket_key(ticket), str(user_id), ex=TICKET_SECONDS)
        return Ticket(ticket=ticket, expires_at=self.clock() + timedelta(seconds=TICKET_SECONDS))

    async def redeem(self, ticket: str) -> uuid.UUID:
        """The ticket's user, once; unknown, used or expired: 401."""
        raw = await self.redis.getdel(_ticket_key(ticket))
        if raw is None:
            raise Unauthorized(
                "The stream ticket is unknown, already used or expired; ask for a new one.",
                code="invalid_stream_ticket",
            )
        return uuid.UUID(raw.decode() if isinstance(raw, bytes) else str(raw))

    async def events(self, user_id: uuid.UUID) -> AsyncIterator[Pushed]:
        """What is published for the user, with keep-alives, until ``max_seconds``."""
        pubsub = self.redis.pubsub()
        await pubsub.subscribe(channel_of(user_id))
        try:
            yield Pushed(event="ready", data="{}")
            started = last = time.monotonic()
            while time.monotonic() - started < self.max_seconds:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                now = time.monotonic()
                if message is not None and message.get("type") == "message":
                    yield unpacked(message["data"])
                    last = now
                elif now - last >= self.heartbeat_s:
                    yield Pushed(event=None)
                    last = now
        finally:
            await pubsub.unsubscribe()
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def publish(self, messages: Iterable[tuple[uuid.UUID, Mapping[str, Any]]]) -> None:
        """One message per user channel, in one round trip; a Redis failure is logged,
        never raised (the inbox already holds the item)."""
        pipe = self.redis.pipeline(transaction=False)
        count = 0
        for user_id, body in messages:
            pipe.publish(channel_of(user_id), msgspec.json.encode(body))
            count += 1
        if not count:
            return
        try:
            await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("stream_publish_failed", error=type(exc).__name__, messages=count)

    async def publish_events(
        self, messages: Iterable[tuple[uuid.UUID, str, Mapping[str, Any]]]
    ) -> None:
        """Named events (``message.created``…) to user channels, like :meth:`publish`: one
        round trip, a Redis failure logged and never raised (the tables stay the authority)."""
        pipe = self.redis.pipeline(transaction=False)
        count = 0
        for user_id, event, body in messages:
            pipe.publish(channel_of(user_id), event.encode() + b"\n" + msgspec.json.encode(body))
            count += 1
        if not count:
            return
        try:
            await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("stream_publish_failed", error=type(exc).__name__, messages=count)


def unpacked(raw: bytes | str) -> Pushed:
    """A published message as a stream event: a bare JSON object is an inbox item
    (``notification``); ``<event>\n<json>`` is a named event."""
    data = raw.decode() if isinstance(raw, bytes) else str(raw)
    if data.startswith("{"):
        return Pushed(event="notification", data=data)
    event, _, body = data.partition("\n")
    return Pushed(event=event, data=body)
