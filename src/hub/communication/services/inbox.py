"""The signed-in user's in-app inbox: list, count and mark.

Every mark is one ``UPDATE … RETURNING`` on the caller's own row (another user's id is a
404, like one that does not exist) and the unread count is a ``COUNT(*)`` over the partial
index of unread rows, so concurrent marks and arrivals can never make the count drift:
there is no counter, only the rows.

Snoozing hides an item from the unread count until a time; after it, the item is unread
again (``read_at`` cleared when snoozed, the time passing does the rest).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, update

from hub.communication import repositories
from hub.communication.services.inbox_events import InboxEvents
from hub.kernel.clock import Clock
from hub.kernel.pagination import Page, after_time_and_id, page_of
from hub.kernel.problems import field_invalid, not_found
from hub.kernel.store import Store

INBOX_STATUSES = ("unread", "read", "archived", "snoozed")


class InboxService:
    def __init__(self, store: Store, clock: Clock, events: InboxEvents | None = None) -> None:
        self.store, self.clock, self.events = store, clock, events

    async def list(
        self,
        user_id: uuid.UUID,
        *,
        status: str | None,
        category: str | None,
        organisation_id: uuid.UUID | None,
        limit: int,
        cursor: str | None,
    ) -> Page[Row[Any]]:
        rows = await repositories.inbox_page(
            self.store,
            user_id,
            status=status,
            category=category,
            organisation_id=organisation_id,
            before=after_time_and_id(cursor) if cursor else None,
            limit=limit,
            now=self.clock(),
        )
        return page_of(rows, limit, lambda row: (row.created_at.isoformat(), str(row.id)))

    async def unread_count(self, user_id: uuid.UUID) -> int:
        return await repositories.unread_count(self.store, user_id, self.clock())

    async def mark(
        self, user_id: uuid.UUID, item_id: uuid.UUID, action: str, until: datetime | None = None
    ) -> Row[Any]:
        t = repositories.inbox_t
        now = self.clock()
        values: dict[str, Any]
        if action == "read":
            values = {"read_at": func.coalesce(t.c.read_at, now), "snoozed_until": None}
        elif action == "unread":
            values = {"read_at": None, "snoozed_until": None}
        elif action == "archive":
            values = {"archived_at": func.coalesce(t.c.archived_at, now)}
        elif action == "unarchive":
            values = {"archived_at": None}
        elif action == "snooze":
            if until is None or until <= now:
                raise field_invalid("until", "a snooze ends in the future")
            values = {"snoozed_until": until, "read_at": None}
        else:  # pragma: no cover - the routes name the action
            raise ValueError(action)
        async with self.store.uow() as uow:
            row = (
                await uow.session.execute(
                    update(t)
                    .where(t.c.id == item_id, t.c.user_id == user_id)
                    .values(**values)
                    .returning(*t.c)
                )
            ).first()
            await uow.commit()
        if row is None:
            raise not_found("notification")
        if self.events is not None:
            await self.events.updated([row._mapping], now)
        return row

    async def read_all(self, user_id: uuid.UUID, category: str | None) -> int:
        """Mark every unread item (of one category) read; how many changed."""
        t = repositories.inbox_t
        now = self.clock()
        query = update(t).where(t.c.user_id == user_id, repositories.unread(now))
        if category is not None:
            query = query.where(t.c.category == category)
        async with self.store.uow() as uow:
            result = await uow.session.execute(query.values(read_at=now))
            await uow.commit()
        updated = int(getattr(result, "rowcount", 0) or 0)
        if updated and self.events is not None:
            await self.events.count_changed(
                user_id, now, cause="read_all", category=category, readAt=now
            )
        return updated
