"""The end of a snooze: the item counts as unread again, and open streams are told.

Nothing happens at the moment a snooze ends (the unread rule compares ``snoozed_until``
with the time), so a job every minute clears the snoozes that have ended
(``snoozed_until`` back to NULL, which changes no count or list) and publishes each item
as ``notification.updated`` with the owner's new ``unreadCount``. The ``UPDATE`` returns
a row once, so each ended snooze is announced once whichever worker runs the job; a
snooze extended meanwhile (``snoozed_until`` now in the future) is left alone.
"""

from __future__ import annotations

from sqlalchemy import select, update

from hub.communication import repositories
from hub.communication.services.inbox_events import InboxEvents
from hub.kernel.clock import Clock
from hub.kernel.store import Store


class SnoozeEnd:
    def __init__(self, store: Store, clock: Clock, events: InboxEvents | None = None) -> None:
        self.store, self.clock, self.events = store, clock, events

    async def release_due(self, limit: int = 1000) -> int:
        """Clear up to ``limit`` ended snoozes per round until none is left; how many."""
        t = repositories.inbox_t
        total = 0
        while True:
            now = self.clock()
            due = (
                select(t.c.id)
                .where(t.c.snoozed_until <= now)
                .order_by(t.c.snoozed_until)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            async with self.store.uow() as uow:
                rows = (
                    await uow.session.execute(
                        update(t)
                        .where(t.c.id.in_(due.scalar_subquery()), t.c.snoozed_until <= now)
                        .values(snoozed_until=None)
                        .returning(*t.c)
                    )
                ).all()
                await uow.commit()
            if self.events is not None and rows:
                await self.events.updated([row._mapping for row in rows], now)
            total += len(rows)
            if len(rows) < limit:
                return total
