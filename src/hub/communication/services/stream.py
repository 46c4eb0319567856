"""Real-time push to the signed-in person: tickets, then a stream that replays and lives.

A browser's ``EventSource`` cannot send an ``Authorization`` header, so a signed-in person
first asks for a **ticket** (``POST /stream/ticket``): 32 random bytes, kept in Redis only
as a SHA-256 for ``TICKET_SECONDS`` together with the user and the *session* that asked,
and good for one connection (``GETDEL``), so a ticket leaked through a URL log is already
spent.

``GET /stream?ticket=`` then (in this order, so nothing falls between the steps):

1. subscribes to the person's pub/sub channel and to the session's revocation channel
   (``hub.kernel.security.revoked_channel``, announced by every logout, session
   revocation, password change or reset and account disablement), and refuses a session
   already revoked;
2. asks the buffer (``stream_buffer``) what the client missed since its ``Last-Event-ID``:
   those events, or a ``reset`` when they are no longer all there, and the position every
   later event will exceed;
3. sends ``ready`` with the position as its id and the current ``unreadCount``;
4. forwards live messages with an id past what it already sent (so an event both in the
   backlog and on the channel goes out once), a ``: ping`` comment whenever
   ``heartbeat_s`` pass without anything sent, and ends when the session is revoked or
   after ``max_seconds`` (the client reconnects with a new ticket and its last id).

Any API process or worker publishing for the person reaches the connection, whichever
process holds it.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis

from hub.communication.services.stream_buffer import BufferedEvent, StreamBuffer, channel_of, id_key
from hub.kernel.clock import Clock
from hub.kernel.errors import Unauthorized
from hub.kernel.security import RevocationList, revoked_channel

TICKET_SECONDS = 60
_TICKET_PREFIX = "hub:stream:ticket:"


def _ticket_key(ticket: str) -> str:
    return _TICKET_PREFIX + hashlib.sha256(ticket.encode()).hexdigest()


@dataclass(frozen=True)
class Ticket:
    ticket: str
    expires_at: datetime


@dataclass(frozen=True)
class Holder:
    """Who redeemed a ticket: the user and the session that asked for it."""

    user_id: uuid.UUID
    session_id: uuid.UUID | None


@dataclass(frozen=True)
class Pushed:
    """One message of a stream: ``event`` None is a heartbeat comment."""

    event: str | None
    data: str = ""
    id: str | None = None


class StreamService:
    def __init__(
        self,
        redis: Redis,
        clock: Clock,
        buffer: StreamBuffer,
        revocations: RevocationList,
        *,
        heartbeat_s: float = 15.0,
        max_seconds: float = 300.0,
    ) -> None:
        self.redis, self.clock, self.buffer, self.revocations = redis, clock, buffer, revocations
        self.heartbeat_s, self.max_seconds = heartbeat_s, max_seconds

    async def ticket(self, user_id: uuid.UUID, session_id: uuid.UUID | None) -> Ticket:
        ticket = secrets.token_urlsafe(32)
        expires_at = self.clock() + timedelta(seconds=TICKET_SECONDS)
        holder = f"{user_id}:{session_id or ''}:{expires_at.timestamp()}"
        # Redis forgets it a little after it expires; the clock decides when it does
        await self.redis.set(_ticket_key(ticket), holder, ex=TICKET_SECONDS + 5)
        return Ticket(ticket=ticket, expires_at=expires_at)

    async def redeem(self, ticket: str) -> Holder:
        """The ticket's holder, once; unknown, used or expired, or its session since
        revoked: 401."""
        raw = await self.redis.getdel(_ticket_key(ticket))
        holder = None
        if raw is not None:
            try:
                user, session, expires = _text(raw).split(":")
                if self.clock().timestamp() < float(expires):
                    holder = Holder(uuid.UUID(user), uuid.UUID(session) if session else None)
            except ValueError:  # not a ticket this version wrote
                holder = None
        if holder is None or (
            holder.session_id is not None and await self.revocations.is_revoked(holder.session_id)
        ):
            raise Unauthorized(
                "The stream ticket is unknown, already used or expired; ask for a new one.",
                code="invalid_stream_ticket",
            )
        return holder

    async def events(
        self,
        holder: Holder,
        last_event_id: str | None,
        unread_count: Callable[[], Awaitable[int]],
    ) -> AsyncIterator[Pushed]:
        """Missed events (or ``reset``), ``ready``, then live events with heartbeats,
        until the session is revoked or ``max_seconds`` pass."""
        pubsub = self.redis.pubsub()
        revoked = revoked_channel(holder.session_id) if holder.session_id else None
        await pubsub.subscribe(channel_of(holder.user_id), *([revoked] if revoked else []))
        try:
            if holder.session_id is not None and await self.revocations.is_revoked(
                holder.session_id
            ):
                return
            resumed = await self.buffer.resume(holder.user_id, last_event_id)
            sent = id_key(resumed.position)
            if resumed.status == "reset":
                yield Pushed(event="reset", data='{"reason":"events_expired"}')
            for missed in resumed.backlog:
                yield Pushed(event=missed.event, data=missed.data(), id=missed.id)
            count = await unread_count()
            yield Pushed(event="ready", data=f'{{"unreadCount":{count}}}', id=resumed.position)
            started = last = time.monotonic()
            while (now := time.monotonic()) - started < self.max_seconds:
                wait = max(
                    0.0, min(self.heartbeat_s - (now - last), self.max_seconds - (now - started))
                )
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=wait)
                if message is not None and message.get("type") == "message":
                    if revoked is not None and _text(message["channel"]) == revoked:
                        return
                    pushed = BufferedEvent.parse_message(message["data"])
                    if id_key(pushed.id) > sent:
                        sent = id_key(pushed.id)
                        yield Pushed(event=pushed.event, data=pushed.data(), id=pushed.id)
                        last = time.monotonic()
                elif time.monotonic() - last >= self.heartbeat_s:
                    if holder.session_id is not None and await self.revocations.is_revoked(
                        holder.session_id
                    ):
                        return  # a revocation announced while this process was not listening
                    yield Pushed(event=None)
                    last = time.monotonic()
        finally:
            await pubsub.unsubscribe()
            await pubsub.aclose()  # type: ignore[no-untyped-call]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
