"""Fan-out: one batch of a notification's recipients turned into inbox items and
delivery-log rows, in one transaction with two bulk INSERTs.

For each recipient and channel the preference rule decides (``domain.preferences``):
in-app items are written at once; e-mail is queued (one ``communication.send_email`` job
per delivery, in the same transaction), skipped by preference, or deferred to the end of
the recipient's quiet hours. A critical notification overrides preferences and quiet
hours, and one ``PreferencesBypassed`` event per batch records whose were overridden.

A redelivered batch inserts nothing twice: both tables are unique per notification and
recipient (and channel), the INSERTs skip conflicts, and only rows actually inserted get
their e-mail job or appear in the bypass record.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy.dialects.postgresql import insert

from hub.communication import repositories
from hub.communication.api import PreferencesBypassed
from hub.communication.domain.preferences import (
    QUEUED,
    SENT,
    QuietHours,
    decide,
    enabled,
    parse_clock,
    quiet_until,
)
from hub.communication.domain.templates import Rendered, render_channel
from hub.communication.services.inbox_events import InboxEvents
from hub.communication.services.templates import TemplateService
from hub.kernel.clock import Clock
from hub.kernel.schema import new_id
from hub.kernel.store import Store

log = structlog.get_logger("hub.communication")

SEND_EMAIL = "communication.send_email"
_d = repositories.deliveries_t
_INSERT_INBOX = insert(repositories.inbox_t).on_conflict_do_nothing()
_INSERT_DELIVERIES = (
    insert(_d).on_conflict_do_nothing().returning(_d.c.id, _d.c.user_id, _d.c.channel, _d.c.status)
)


def window_of(settings: Any) -> QuietHours | None:
    if settings is None or not settings.quiet_start or not settings.quiet_end:
        return None
    return QuietHours(
        parse_clock(settings.quiet_start, "quietHours.start"),
        parse_clock(settings.quiet_end, "quietHours.end"),
    )


class FanOut:
    def __init__(
        self,
        store: Store,
        templates: TemplateService,
        clock: Clock,
        queue_job: Callable[..., uuid.UUID],
        events: InboxEvents | None = None,
    ) -> None:
        self.store, self.templates, self.clock, self.queue_job = store, templates, clock, queue_job
        self.events = events

    async def run(self, notification_id: uuid.UUID, start: int, end: int) -> int:
        """Deliver to recipients ``[start, end)``; returns the deliveries written."""
        n = await repositories.notification(self.store, notification_id)
        if n is None:
            return 0
        ids: list[uuid.UUID] = list(n.recipient_ids[start:end])
        template = await self.templates.at_version(
            n.organisation_id, n.template_key, n.template_version
        )
        if template is None or not ids:
            log.warning("fan_out_nothing_to_do", notification_id=str(notification_id))
            return 0
        org = await repositories.organisation_settings(self.store, n.organisation_id)
        org_switches = org.channels if org is not None else {}
        org_locale = org.default_locale if org is not None else None
        users = await repositories.user_settings(self.store, ids)
        now = self.clock()
        rendered: dict[str | None, Rendered | None] = {}
        inbox_rows: list[dict[str, Any]] = []
        delivery_rows: list[dict[str, Any]] = []
        bypassed: dict[uuid.UUID, list[str]] = {}
        for user_id in ids:
            mine = users.get(user_id)
            quiet = quiet_until(now, mine.time_zone if mine else None, window_of(mine))
            for channel in n.channels:
                on = enabled(n.category, channel, org_switches, mine.channels if mine else {})
                decision = decide(channel=channel, priority=n.priority, on=on, quiet=quiet)
                reason = None
                if decision.bypassed:
                    reason = "critical: preferences or quiet hours overridden"
                    bypassed.setdefault(user_id, []).append(channel)
                elif decision.status == "skipped":
                    reason = "turned off in preferences"
                elif decision.status == "deferred":
                    reason = "quiet hours"
                if channel == "in_app" and decision.status == SENT:
                    locale = mine.locale if mine else None
                    if locale not in rendered:
                        rendered[locale] = render_channel(
                            template.channels, "in_app", [locale, org_locale], n.payload
                        )
                    item = rendered[locale]
                    if item is not None:
                        inbox_rows.append(
                            {
                                "id": new_id(),
                                "notification_id": n.id,
                                "user_id": user_id,
                                "organisation_id": n.organisation_id,
                                "category": n.category,
                                "priority": n.priority,
                                "title": item.parts.get("title", ""),
                                "body": item.parts.get("body", ""),
                                "action_url": item.parts.get("actionUrl") or None,
                                "created_at": n.created_at,
                            }
                        )
                delivery_rows.append(
                    {
                        "id": new_id(),
                        "notification_id": n.id,
                        "organisation_id": n.organisation_id,
                        "user_id": user_id,
                        "channel": channel,
                        "status": decision.status,
                        "provider": "inbox" if channel == "in_app" else None,
                        "reason": reason,
                        "deliver_after": decision.deliver_after,
                        "created_at": now,
                        "updated_at": now,
                        "sent_at": now if decision.status == SENT else None,
                    }
                )
        async with self.store.uow() as uow:
            # executemany: SQLAlchemy's "insertmanyvalues" sends multi-row INSERTs compiled
            # once (a ``.values(rows)`` statement is compiled anew for every batch).
            if inbox_rows:
                await uow.session.execute(_INSERT_INBOX, inbox_rows)
            inserted = (await uow.session.execute(_INSERT_DELIVERIES, delivery_rows)).all()
            fresh = {row.user_id for row in inserted}
            for row in inserted:
                if row.channel == "email" and row.status == QUEUED:
                    self.queue_job(uow, SEND_EMAIL, str(row.id))
            by_channel: dict[str, list[uuid.UUID]] = {}
            for user_id, channels in bypassed.items():
                if user_id in fresh:
                    for channel in channels:
                        by_channel.setdefault(channel, []).append(user_id)
            if by_channel:
                uow.publish(
                    PreferencesBypassed(
                        notification_id=n.id,
                        organisation_id=n.organisation_id,
                        actor_id=n.sender_id,
                        category=n.category,
                        bypassed=by_channel,
                    )
                )
            await uow.commit()
        if self.events is not None:
            await self.events.created((r for r in inbox_rows if r["user_id"] in fresh), now)
        return len(inserted)
