"""Inbox retention: read and archived in-app items are deleted after their periods
(``HUB_NOTIFICATION_READ_RETENTION_DAYS`` after being read,
``HUB_NOTIFICATION_ARCHIVED_RETENTION_DAYS`` after being archived) by the daily
``communication.prune_inbox`` job. An unread item (snoozed ones included) is never
pruned, so the unread count, a ``COUNT(*)`` of unread rows, is unchanged by it.

Rows go in batches, each ``DELETE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)``: an
item a user is marking unread at that moment is either locked (skipped, left for the next
run) or re-checked against the rule after the mark (PostgreSQL re-evaluates the condition
on the updated row), so an item made unread is never deleted.

The delivery log is kept: it is the organisation's record of what went where (an admin
reads it after the recipient has long cleared their inbox), and it holds no notification
text, only ids, statuses and errors.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, delete, or_, select

from hub.communication import repositories
from hub.kernel.clock import Clock
from hub.kernel.store import Store


class InboxRetention:
    def __init__(
        self, store: Store, clock: Clock, *, read_days: int, archived_days: int, batch: int = 5000
    ) -> None:
        self.store, self.clock = store, clock
        self.read_days, self.archived_days, self.batch = read_days, archived_days, batch

    async def prune(self) -> int:
        """Delete what is past its period; how many items went."""
        t = repositories.inbox_t
        now = self.clock()
        old = or_(
            and_(
                t.c.archived_at.is_not(None),
                t.c.archived_at < now - timedelta(days=self.archived_days),
            ),
            and_(
                t.c.archived_at.is_(None),
                t.c.read_at.is_not(None),
                t.c.read_at < now - timedelta(days=self.read_days),
            ),
        )
        total = 0
        while True:
            chosen = select(t.c.id).where(old).limit(self.batch).with_for_update(skip_locked=True)
            async with self.store.uow() as uow:
                result = await uow.session.execute(
                    delete(t).where(t.c.id.in_(chosen.scalar_subquery()))
                )
                await uow.commit()
            deleted = int(getattr(result, "rowcount", 0) or 0)
            total += deleted
            if deleted < self.batch:
                return total
