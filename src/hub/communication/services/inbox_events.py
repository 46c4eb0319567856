"""What the inbox tells open streams after each change: the item and the unread count.

``notification.created`` (the fan-out wrote an item), ``notification.updated`` (read,
unread, archive, unarchive, snooze: the item as it is now) and ``unread.count`` (a change
touching many items at once, e.g. read-all). Every event carries ``unreadCount``, counted
from the rows after the change (``stream_buffer`` explains why the last one received is
the current value even when changes race).

Published after the database commit and best-effort: a Redis failure is logged, never
raised, since the change itself is already saved and the inbox stays the authority.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec
import structlog
from redis.exceptions import RedisError
from sqlalchemy import func, select

from hub.communication import repositories
from hub.communication.services.stream_buffer import StreamBuffer
from hub.kernel.store import Store

log = structlog.get_logger("hub.communication")

CREATED = "notification.created"
UPDATED = "notification.updated"
COUNT = "unread.count"


def item_body(row: Mapping[Any, Any]) -> dict[str, Any]:
    """An inbox item with the inbox's wire names (``GET /notifications``' items)."""
    return {
        "id": row["id"],
        "organisationId": row["organisation_id"],
        "notificationId": row["notification_id"],
        "category": row["category"],
        "priority": row["priority"],
        "title": row["title"],
        "body": row["body"],
        "actionUrl": row.get("action_url"),
        "createdAt": row["created_at"],
        "readAt": row.get("read_at"),
        "archivedAt": row.get("archived_at"),
        "snoozedUntil": row.get("snoozed_until"),
    }


class InboxEvents:
    def __init__(self, store: Store, buffer: StreamBuffer) -> None:
        self.store, self.buffer = store, buffer

    async def counts(self, user_ids: Iterable[uuid.UUID], now: datetime) -> dict[uuid.UUID, int]:
        """Each user's unread count (one grouped query over the partial index)."""
        ids = list(set(user_ids))
        t = repositories.inbox_t
        query = (
            select(t.c.user_id, func.count())
            .where(t.c.user_id.in_(ids), repositories.unread(now))
            .group_by(t.c.user_id)
        )
        found: dict[uuid.UUID, int] = {
            user_id: int(count)
            for user_id, count in (tuple(r) for r in await self.store.all(query))
        }
        return {user_id: found.get(user_id, 0) for user_id in ids}

    async def created(self, rows: Iterable[Mapping[Any, Any]], now: datetime) -> None:
        await self._publish(
            [(row["user_id"], CREATED, {"item": item_body(row)}) for row in rows], now
        )

    async def updated(self, rows: Iterable[Mapping[Any, Any]], now: datetime) -> None:
        events = [(row["user_id"], UPDATED, {"item": item_body(row)}) for row in rows]
        await self._publish(events, now)

    async def count_changed(self, user_id: uuid.UUID, now: datetime, **cause: Any) -> None:
        await self._publish([(user_id, COUNT, cause)], now)

    async def publish(
        self, events: Sequence[tuple[uuid.UUID, str, Mapping[str, Any]]], now: datetime
    ) -> None:
        """Any named events (conversations' ``message.created``…) to the people's streams,
        stamped with each one's unread count like the inbox's own."""
        await self._publish(events, now)

    async def _publish(
        self, events: Sequence[tuple[uuid.UUID, str, Mapping[str, Any]]], now: datetime
    ) -> None:
        if not events:
            return
        try:
            ticket = await self.buffer.ticket()
            counts = await self.counts((user_id for user_id, _, _ in events), now)
            await self.buffer.append(
                ticket,
                [
                    (user_id, event, counts[user_id], msgspec.json.encode(body).decode())
                    for user_id, event, body in events
                ],
            )
        except (RedisError, OSError) as exc:
            log.warning("stream_publish_failed", error=type(exc).__name__, events=len(events))
