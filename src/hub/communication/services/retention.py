"""Inbox retention: read and archived in-app items are deleted after their periods
(``HUB_NOTIFICATION_READ_RETENTION_DAYS`` after being read,
``HUB_NOTIFICATION_ARCHIVED_RETENTION_DAYS`` after being archived) by the daily
``communication.prune_inbox`` job. An unread item (snoozed ones included) is never
pruned, so the unread count, a ``COUNT(*)`` of unread rows, is unchanged by it.

Rows go in batches, each ``DELETE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)``: an
item a user is marking unread at that moment is either locked (skipped, left for the next
run) or re-checked against the rule after the mark (PostgreSQL re-evaluates the condition
on the updated row), so an item made unread is never deleted.

History retention: the delivery log outlives the inbox (it is the organisation's record of
what went where, read after the recipient has long cleared their inbox), but not forever.
``HUB_NOTIFICATION_HISTORY_DAYS`` after a notification was sent, the daily
``communication.prune_history`` job deletes its finished deliveries (sent, failed, skipped,
digested), the digest items and sent or failed digests of that age, and then the
notification itself once nothing refers to it any more: an item still in someone's inbox
(unread ones are never pruned), or a delivery still queued or deferred, keeps it. ``0``
keeps the history forever.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, or_, select

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
        return await _delete_in_batches(self.store, t, old, self.batch)


async def _delete_in_batches(store: Store, table: Any, old: Any, batch: int) -> int:
    """Delete the rows ``old`` selects, ``batch`` at a time (locked rows are left for the
    next run); how many went."""
    total = 0
    while True:
        chosen = select(table.c.id).where(old).limit(batch).with_for_update(skip_locked=True)
        async with store.uow() as uow:
            result = await uow.session.execute(
                delete(table).where(table.c.id.in_(chosen.scalar_subquery()))
            )
            await uow.commit()
        deleted = int(getattr(result, "rowcount", 0) or 0)
        total += deleted
        if deleted < batch:
            return total


#: Delivery states nothing will change any more.
FINISHED_DELIVERIES = ("sent", "failed", "skipped", "digested")
FINISHED_DIGESTS = ("sent", "failed")


class HistoryRetention:
    def __init__(self, store: Store, clock: Clock, *, days: int, batch: int = 5000) -> None:
        self.store, self.clock, self.days, self.batch = store, clock, days, batch

    async def prune(self) -> dict[str, int]:
        """Delete the history older than the period; how many rows of each kind went."""
        if self.days == 0:
            return {}
        cutoff = self.clock() - timedelta(days=self.days)
        d, di = repositories.deliveries_t, repositories.digest_items_t
        g, n, i = repositories.digests_t, repositories.notifications_t, repositories.inbox_t
        steps = (
            ("deliveries", d, and_(d.c.created_at < cutoff, d.c.status.in_(FINISHED_DELIVERIES))),
            ("digest_items", di, and_(di.c.created_at < cutoff, di.c.digest_id.is_not(None))),
            (
                "digests",
                g,
                and_(
                    g.c.created_at < cutoff,
                    g.c.status.in_(FINISHED_DIGESTS),
                    ~exists().where(di.c.digest_id == g.c.id),
                ),
            ),
            (
                "notifications",
                n,
                and_(
                    n.c.created_at < cutoff,
                    n.c.state != "scheduled",  # it has not gone out yet
                    ~exists().where(i.c.notification_id == n.c.id),
                    ~exists().where(d.c.notification_id == n.c.id),
                    ~exists().where(di.c.notification_id == n.c.id),
                ),
            ),
        )
        return {
            kind: await _delete_in_batches(self.store, table, old, self.batch)
            for kind, table, old in steps
        }
