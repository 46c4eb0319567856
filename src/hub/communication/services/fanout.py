"""Fan-out: one batch of a notification's recipients turned into inbox items and
delivery-log rows, in one transaction with two bulk INSERTs.

For each recipient and channel the preference rule decides (``domain.preferences``):
in-app items are written at once; e-mail and push are queued (one
``communication.send_email`` or ``communication.send_push`` job per delivery, in the same
transaction), skipped by preference, or deferred to the end of the recipient's quiet
hours. Push rows exist only for recipients with a browser registered. Chat and SMS go
to the organisation's own channels, once per notification (written with the first batch,
``user_id`` null, ``channel_id`` set; one ``communication.send_chat`` job each). A
critical notification overrides preferences and quiet hours, and one
``PreferencesBypassed`` event per batch records whose were overridden (and which
organisation channels).

E-mail may then be held back as an escalation (sent only if the in-app item is still
unread later) or batched into a digest (``domain.escalation``): a digested delivery gets
its ``digest_items`` row in the same transaction (``services.digests``).

A redelivered batch inserts nothing twice: both tables are unique per notification and
recipient (and channel), the INSERTs skip conflicts, and only rows actually inserted get
their e-mail job or appear in the bypass record.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.dialects.postgresql import insert

from hub.communication import repositories
from hub.communication.api import PreferencesBypassed
from hub.communication.domain.categories import ORGANISATION_CHANNELS, Known
from hub.communication.domain.digests import period_for
from hub.communication.domain.escalation import route_email
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
from hub.communication.services.digests import INSERT_ITEMS, digest_item
from hub.communication.services.inbox_events import InboxEvents
from hub.communication.services.templates import TemplateService
from hub.kernel.clock import Clock
from hub.kernel.schema import new_id
from hub.kernel.store import Store

log = structlog.get_logger("hub.communication")

SEND_EMAIL = "communication.send_email"
SEND_CHAT = "communication.send_chat"
SEND_PUSH = "communication.send_push"
#: The job that sends a queued delivery of each channel (in-app needs none).
SEND_JOBS = {"email": SEND_EMAIL, "chat": SEND_CHAT, "sms": SEND_CHAT, "push": SEND_PUSH}
_ORG_BYPASS = "critical: organisation default or channel quiet hours overridden"
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
        # the category's defaults and mandatory flag (an organisation's own: one query)
        known = await self.templates.categories.one(n.organisation_id, n.category)
        org_switches = org.channels if org is not None else {}
        org_locale = org.default_locale if org is not None else None
        org_digests = org.digests if org is not None else {}
        users = await repositories.user_settings(self.store, ids)
        # Push goes to those with a browser registered; the others get no row at all.
        pushable = (
            await repositories.with_push_subscription(self.store, ids, n.category)
            if "push" in n.channels
            else set()
        )
        now = self.clock()
        rendered: dict[str | None, Rendered | None] = {}
        inbox_rows: list[dict[str, Any]] = []
        delivery_rows: list[dict[str, Any]] = []
        bypassed: dict[uuid.UUID, list[str]] = {}
        digested: dict[uuid.UUID, dict[str, Any]] = {}
        for user_id in ids:
            mine = users.get(user_id)
            quiet = quiet_until(now, mine.time_zone if mine else None, window_of(mine))
            for channel in n.channels:
                if channel in ORGANISATION_CHANNELS:
                    continue  # posted once per notification, below
                if channel == "push" and user_id not in pushable:
                    continue
                mine_on = mine.channels if mine else {}
                on = enabled(n.category, channel, org_switches, mine_on, known)
                decision = decide(channel=channel, priority=n.priority, on=on, quiet=quiet)
                reason = None
                if decision.bypassed:
                    reason = "critical: preferences or quiet hours overridden"
                    bypassed.setdefault(user_id, []).append(channel)
                elif decision.status == "skipped":
                    reason = "turned off in preferences"
                elif decision.status == "deferred":
                    reason = "quiet hours"
                status, deliver_after, if_unread = decision.status, decision.deliver_after, False
                if channel == "email":
                    routed = route_email(
                        decision,
                        priority=n.priority,
                        escalate_after_minutes=n.escalate_after_minutes,
                        sent_at=n.created_at,
                        period=period_for(n.category, org_digests, mine.digests if mine else {}),
                    )
                    if routed is not None:
                        status, reason = routed.status, routed.reason
                        deliver_after, if_unread = routed.deliver_after, routed.if_unread
                    if routed is not None and routed.period is not None:
                        digested[user_id] = digest_item(
                            n,
                            template.channels,
                            user_id=user_id,
                            period=routed.period,
                            zone=mine.time_zone if mine else None,
                            locales=[mine.locale if mine else None, org_locale],
                            now=now,
                        )
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
                        "channel_id": None,
                        "channel": channel,
                        "status": status,
                        "provider": "inbox" if channel == "in_app" else None,
                        "reason": reason,
                        "deliver_after": deliver_after,
                        "if_unread": if_unread,
                        "created_at": now,
                        "updated_at": now,
                        "sent_at": now if decision.status == SENT else None,
                    }
                )
        if start == 0:
            delivery_rows.extend(await self._organisation_posts(n, org_switches, now, known))
        async with self.store.uow() as uow:
            # executemany: SQLAlchemy's "insertmanyvalues" sends multi-row INSERTs compiled
            # once (a ``.values(rows)`` statement is compiled anew for every batch).
            if inbox_rows:
                await uow.session.execute(_INSERT_INBOX, inbox_rows)
            inserted = (
                (await uow.session.execute(_INSERT_DELIVERIES, delivery_rows)).all()
                if delivery_rows
                else []
            )
            fresh = {row.user_id for row in inserted}
            items: list[dict[str, Any]] = []
            for row in inserted:
                if row.status == QUEUED and row.channel in SEND_JOBS:
                    self.queue_job(uow, SEND_JOBS[row.channel], str(row.id))
                elif row.channel == "email" and row.user_id in digested:
                    items.append({**digested[row.user_id], "delivery_id": row.id})
            if items:
                await uow.session.execute(INSERT_ITEMS, items)
            by_channel: dict[str, list[uuid.UUID]] = {}
            for user_id, channels in bypassed.items():
                if user_id in fresh:
                    for channel in channels:
                        by_channel.setdefault(channel, []).append(user_id)
            fresh_ids = {row.id for row in inserted}
            by_kind: dict[str, list[uuid.UUID]] = {}
            for values in delivery_rows:
                if values["reason"] == _ORG_BYPASS and values["id"] in fresh_ids:
                    by_kind.setdefault(values["channel"], []).append(values["channel_id"])
            if by_channel or by_kind:
                uow.publish(
                    PreferencesBypassed(
                        notification_id=n.id,
                        organisation_id=n.organisation_id,
                        actor_id=n.sender_id,
                        category=n.category,
                        bypassed=by_channel,
                        bypassed_channels=by_kind,
                    )
                )
            await uow.commit()
        if self.events is not None:
            await self.events.created((r for r in inbox_rows if r["user_id"] in fresh), now)
        return len(inserted)

    async def _organisation_posts(
        self, n: Any, org_switches: Any, now: datetime, known: Known
    ) -> list[dict[str, Any]]:
        """One delivery per enabled chat or SMS channel of the organisation that serves
        the notification's category: the organisation's default for the category decides
        (a member's override is about their own channels, not the organisation's), the
        channel's own quiet hours defer, ``critical`` overrides both."""
        kinds = [c for c in n.channels if c in ORGANISATION_CHANNELS]
        if not kinds:
            return []
        rows: list[dict[str, Any]] = []
        for target in await repositories.enabled_channels(self.store, n.organisation_id, kinds):
            if target.categories and n.category not in target.categories:
                continue  # routing, not a preference: critical does not override it
            on = enabled(n.category, target.kind, org_switches, {}, known)
            quiet = quiet_until(now, target.time_zone, window_of(target))
            decision = decide(channel=target.kind, priority=n.priority, on=on, quiet=quiet)
            reason = None
            if decision.bypassed:
                reason = _ORG_BYPASS
            elif decision.status == "skipped":
                reason = "turned off in the organisation's defaults"
            elif decision.status == "deferred":
                reason = "quiet hours"
            rows.append(
                {
                    "id": new_id(),
                    "notification_id": n.id,
                    "organisation_id": n.organisation_id,
                    "user_id": None,
                    "channel_id": target.id,
                    "channel": target.kind,
                    "status": decision.status,
                    "provider": None,
                    "reason": reason,
                    "deliver_after": decision.deliver_after,
                    "if_unread": False,  # an organisation's channel has no inbox to read
                    "created_at": now,
                    "updated_at": now,
                    "sent_at": None,
                }
            )
        return rows
