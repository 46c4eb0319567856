"""Escalate if unread: the e-mail of a notification sent with ``escalateAfterMinutes``
waits (``deferred``, ``if_unread``) until then, and goes out only if the recipient has
not seen the in-app item.

:class:`Escalation` (the periodic ``communication.escalate_unread``, every minute) takes
the due ones with ``SELECT … FOR UPDATE SKIP LOCKED`` (a second worker skips them) and
for each decides, on the injected clock:

* the in-app item is no longer unread (read, archived, or snoozed into the future): the
  e-mail is ``skipped``, reason "read in the app before the escalation";
* critical: queued (preferences and quiet hours do not apply, as on fan-out);
* e-mail turned off in the preferences now: ``skipped``;
* inside quiet hours: stays deferred to their end (and is checked again then, so reading
  it overnight still cancels it);
* otherwise queued for the ``communication.send_email`` job.

A recipient without an in-app item (in-app turned off for them) never sees one, so the
e-mail is sent when due.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import not_, select, tuple_, update

from hub.communication import repositories
from hub.communication.domain.preferences import (
    DEFERRED,
    QUEUED,
    SKIPPED,
    enabled,
    quiet_until,
)
from hub.communication.services.fanout import SEND_EMAIL, window_of
from hub.kernel.clock import Clock
from hub.kernel.store import Store

READ_IN_TIME = "read in the app before the escalation"


class Escalation:
    def __init__(self, store: Store, clock: Clock, queue_job: Callable[..., uuid.UUID]) -> None:
        self.store, self.clock, self.queue_job = store, clock, queue_job

    async def run_due(self, limit: int = 1000) -> dict[str, int]:
        """Decide the due escalations; how many ended in each status."""
        now = self.clock()
        d, inbox, nt = repositories.deliveries_t, repositories.inbox_t, repositories.notifications_t
        outcome = {QUEUED: 0, SKIPPED: 0, DEFERRED: 0}
        async with self.store.uow() as uow:
            s = uow.session
            due = (
                await s.execute(
                    select(d.c.id, d.c.user_id, d.c.notification_id, d.c.organisation_id)
                    .where(d.c.status == DEFERRED, d.c.if_unread, d.c.deliver_after <= now)
                    .order_by(d.c.deliver_after)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not due:
                return outcome
            pairs = [(row.notification_id, row.user_id) for row in due]
            seen = {
                (row.notification_id, row.user_id)
                for row in await s.execute(
                    select(inbox.c.notification_id, inbox.c.user_id).where(
                        tuple_(inbox.c.notification_id, inbox.c.user_id).in_(pairs),
                        not_(repositories.unread(now)),
                    )
                )
            }
            notes = {
                row.id: row
                for row in (
                    await s.execute(
                        select(nt.c.id, nt.c.category, nt.c.priority).where(
                            nt.c.id.in_({row.notification_id for row in due})
                        )
                    )
                ).all()
            }
            users = await repositories.user_settings(self.store, list({r.user_id for r in due}))
            orgs: dict[uuid.UUID, Any] = {}
            for org_id in {row.organisation_id for row in due}:
                orgs[org_id] = await repositories.organisation_settings(self.store, org_id)
            for row in due:
                values: dict[str, Any] = {"updated_at": now}
                note = notes.get(row.notification_id)
                mine = users.get(row.user_id)
                org = orgs.get(row.organisation_id)
                if (row.notification_id, row.user_id) in seen or note is None:
                    values.update(status=SKIPPED, reason=READ_IN_TIME)
                elif note.priority == "critical":
                    values.update(status=QUEUED, reason="escalated: still unread (critical)")
                elif not enabled(
                    note.category,
                    "email",
                    org.channels if org is not None else {},
                    mine.channels if mine else {},
                ):
                    values.update(status=SKIPPED, reason="turned off in preferences")
                else:
                    quiet = quiet_until(now, mine.time_zone if mine else None, window_of(mine))
                    if quiet is not None:
                        values.update(deliver_after=quiet, reason="escalation: quiet hours")
                    else:
                        values.update(status=QUEUED, reason="escalated: still unread")
                await s.execute(update(d).where(d.c.id == row.id).values(**values))
                status = values.get("status", DEFERRED)
                outcome[status] += 1
                if status == QUEUED:
                    self.queue_job(uow, SEND_EMAIL, str(row.id))
            await uow.commit()
        return outcome
