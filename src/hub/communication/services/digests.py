"""Digests: e-mail batched per user, organisation, category and window into one message.

Fan-out writes a ``digest_items`` row (the in-app title and text, rendered in the
recipient's locale) for each e-mail delivery it marks ``digested``, keyed by the window
holding the notification's send time (``domain.digests``).

:class:`DigestClosing` (the periodic ``communication.close_digests``, every minute) takes
the open items of windows whose end is ≤ now with ``SELECT … FOR UPDATE SKIP LOCKED``,
groups them by key and inserts one ``digests`` row per key; that table is unique per
(user, organisation, category, period, window start) and the INSERT skips a conflict, so
a re-run or a second worker running at the same moment cannot make a second digest:

* an item is locked by one closer only (``SKIP LOCKED``) and gets its ``digest_id`` once;
* a closer whose INSERT meets the window's digest (made by another closer, or an earlier
  run, before this item's fan-out committed) moves its items to the window open now; they
  go out with the next digest, never lost and never twice.

The digest e-mail is non-critical: inside the recipient's quiet hours it is deferred to
their end (released by the same periodic job). :class:`DigestEmail` sends it (the
``communication.send_digest`` job) with the ``communication.digest`` template, which an
organisation may override like any platform template.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import structlog
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from hub.communication import repositories
from hub.communication.domain.digests import window
from hub.communication.domain.preferences import (
    DEFERRED,
    FAILED,
    QUEUED,
    SENT,
    QuietHours,
    parse_clock,
    quiet_until,
)
from hub.communication.domain.templates import Channels, render_channel
from hub.communication.services.templates import TemplateService
from hub.identity.api import IdentityApi
from hub.kernel.clock import Clock
from hub.kernel.mail import MailMessage, MailTransport, PermanentMailError, build_email
from hub.kernel.schema import new_id
from hub.kernel.settings import Settings
from hub.kernel.store import Store

log = structlog.get_logger("hub.communication")

SEND_DIGEST = "communication.send_digest"
DIGEST_TEMPLATE = "communication.digest"
_MAX_ERROR = 500
_i = repositories.digest_items_t
_d = repositories.digests_t
INSERT_ITEMS = insert(_i).on_conflict_do_nothing(index_elements=[_i.c.delivery_id])


def digest_item(
    n: Any,
    channels: Channels,
    *,
    user_id: uuid.UUID,
    period: str,
    zone: str | None,
    locales: Iterable[str | None],
    now: Any,
) -> dict[str, Any]:
    """The ``digest_items`` row of one recipient's digested e-mail (its ``delivery_id``
    added once the delivery is inserted): the in-app title and text, else the e-mail's
    subject, in the recipient's locale."""
    wanted = list(locales)
    start, end = window(period, n.created_at, zone)
    title, body, url = "", "", None
    in_app = render_channel(channels, "in_app", wanted, n.payload)
    if in_app is not None:
        title, body = in_app.parts.get("title", ""), in_app.parts.get("body", "")
        url = in_app.parts.get("actionUrl") or None
    else:
        email = render_channel(channels, "email", wanted, n.payload)
        title = " ".join(email.parts.get("subject", "").split()) if email else n.template_key
    return {
        "id": new_id(),
        "notification_id": n.id,
        "user_id": user_id,
        "organisation_id": n.organisation_id,
        "category": n.category,
        "period": period,
        "window_start": start,
        "window_end": end,
        "title": title,
        "body": body,
        "action_url": url,
        "created_at": n.created_at,
    }


def _quiet(settings: Any) -> QuietHours | None:
    if settings is None or not settings.quiet_start or not settings.quiet_end:
        return None
    return QuietHours(
        parse_clock(settings.quiet_start, "quietHours.start"),
        parse_clock(settings.quiet_end, "quietHours.end"),
    )


class DigestClosing:
    """Closes the windows that have ended (periodic) and releases deferred digests."""

    def __init__(self, store: Store, clock: Clock, queue_job: Callable[..., uuid.UUID]) -> None:
        self.store, self.clock, self.queue_job = store, clock, queue_job

    async def close_due(self, limit: int = 5000) -> int:
        """Make the digests of ended windows; how many were made."""
        now = self.clock()
        made = 0
        async with self.store.uow() as uow:
            s = uow.session
            rows = (
                await s.execute(
                    select(
                        _i.c.id,
                        _i.c.user_id,
                        _i.c.organisation_id,
                        _i.c.category,
                        _i.c.period,
                        _i.c.window_start,
                        _i.c.window_end,
                    )
                    .where(_i.c.digest_id.is_(None), _i.c.window_end <= now)
                    .order_by(
                        _i.c.window_end,
                        _i.c.user_id,
                        _i.c.organisation_id,
                        _i.c.category,
                        _i.c.period,
                        _i.c.id,
                    )
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            groups: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
            for row in rows:
                key = (row.user_id, row.organisation_id, row.category, row.period)
                groups[(*key, row.window_start)].append(row)
            if len(rows) == limit and len(groups) > 1:
                # the last key may go on past the limit: left whole for the next run
                # rather than split into two digests
                groups.popitem()
            users = await repositories.user_settings(self.store, list({k[0] for k in groups}))
            for (user_id, org_id, category, period, start), items in groups.items():
                mine = users.get(user_id)
                zone = mine.time_zone if mine else None
                quiet = quiet_until(now, zone, _quiet(mine))
                ids = [item.id for item in items]
                digest_id = (
                    await s.execute(
                        insert(_d)
                        .values(
                            id=new_id(),
                            user_id=user_id,
                            organisation_id=org_id,
                            category=category,
                            period=period,
                            window_start=start,
                            window_end=items[0].window_end,
                            status=DEFERRED if quiet else QUEUED,
                            deliver_after=quiet,
                            item_count=len(ids),
                            created_at=now,
                            updated_at=now,
                        )
                        .on_conflict_do_nothing(
                            index_elements=[
                                _d.c.user_id,
                                _d.c.organisation_id,
                                _d.c.category,
                                _d.c.period,
                                _d.c.window_start,
                            ]
                        )
                        .returning(_d.c.id)
                    )
                ).scalar_one_or_none()
                if digest_id is None:
                    # That window's digest exists already: these items arrived after it
                    # was made, so they join the window open now.
                    next_start, next_end = window(period, now, zone)
                    await s.execute(
                        update(_i)
                        .where(_i.c.id.in_(ids))
                        .values(window_start=next_start, window_end=next_end)
                    )
                    log.info("digest_items_moved", user_id=str(user_id), items=len(ids))
                    continue
                await s.execute(update(_i).where(_i.c.id.in_(ids)).values(digest_id=digest_id))
                if quiet is None:
                    self.queue_job(uow, SEND_DIGEST, str(digest_id))
                made += 1
            due = (
                select(_d.c.id)
                .where(_d.c.status == DEFERRED, _d.c.deliver_after <= now)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            released = (
                (
                    await s.execute(
                        update(_d)
                        .where(_d.c.id.in_(due.scalar_subquery()))
                        .values(status=QUEUED, updated_at=now)
                        .returning(_d.c.id)
                    )
                )
                .scalars()
                .all()
            )
            for digest_id in released:
                self.queue_job(uow, SEND_DIGEST, str(digest_id))
            await uow.commit()
        return made


class DigestEmail:
    """Sends one digest: its items, oldest first, in the ``communication.digest`` e-mail."""

    def __init__(
        self,
        store: Store,
        templates: TemplateService,
        identity: IdentityApi,
        clock: Clock,
        settings: Settings,
        mail: MailTransport,
    ) -> None:
        self.store, self.templates, self.identity = store, templates, identity
        self.clock, self.settings, self.mail = clock, settings, mail

    async def send(self, digest_id: uuid.UUID, *, final: bool) -> str | None:
        """The status the digest ends in (None: nothing to do); raises what the transport
        raised after recording it, so the job retries."""
        digest = await self.store.first(select(_d).where(_d.c.id == digest_id))
        if digest is None or digest.status not in (QUEUED, FAILED):
            return None
        items = await self.store.all(
            select(_i).where(_i.c.digest_id == digest_id).order_by(_i.c.created_at, _i.c.id)
        )
        person = (await self.identity.display_info([digest.user_id])).get(digest.user_id)
        template = await self.templates.current(digest.organisation_id, DIGEST_TEMPLATE)
        if template is None or person is None or not person.active:
            await self._record(digest_id, FAILED, None, "recipient unavailable")
            return FAILED
        known = (await self.templates.categories.one(digest.organisation_id, digest.category)).get(
            digest.category
        )
        payload = {
            "count": len(items),
            "categoryName": (known.name or known.description) if known else digest.category,
            "period": digest.period,
            "items": [
                {"title": item.title, "body": item.body, "actionUrl": item.action_url}
                for item in items
            ],
        }
        wanted = await repositories.locales(self.store, digest.user_id, digest.organisation_id)
        rendered = render_channel(template.channels, "email", wanted, payload)
        if rendered is None:
            await self._record(digest_id, FAILED, None, "no e-mail text")
            return FAILED
        parts = rendered.parts
        message = MailMessage(
            to=[person.email],
            subject=" ".join(parts["subject"].split()),
            text=parts["text"],
            html=parts.get("html") or None,
            tags=["notification", "digest", digest.category],
        )
        settings = self.settings
        domain = urlsplit(settings.public_url).hostname or "hub.local"
        email, stored = build_email(
            message, mail_id=str(digest_id), sender=settings.mail_from, domain=domain
        )
        try:
            # The kernel's providers in order, each behind its breaker (as EmailDelivery).
            provider = await self.mail.send(email, stored)
        except Exception as exc:
            status = FAILED if final or isinstance(exc, PermanentMailError) else QUEUED
            await self._record(digest_id, status, None, f"{type(exc).__name__}: {exc}")
            log.warning("notification_digest_failed", digest_id=str(digest_id), status=status)
            raise
        await self._record(digest_id, SENT, provider, None)
        return SENT

    async def _record(
        self, digest_id: uuid.UUID, status: str, provider: str | None, error: str | None
    ) -> None:
        now = self.clock()
        values: dict[str, Any] = {
            "status": status,
            "attempts": _d.c.attempts + 1,
            "updated_at": now,
            "provider": provider,
        }
        if error is not None:
            values["last_error"] = error[:_MAX_ERROR]
        if status == SENT:
            values["sent_at"] = now
        async with self.store.uow() as uow:
            await uow.session.execute(update(_d).where(_d.c.id == digest_id).values(**values))
            if status == SENT:
                # the batched deliveries record when and how their digest went out
                t = repositories.deliveries_t
                batched = select(_i.c.delivery_id).where(_i.c.digest_id == digest_id)
                await uow.session.execute(
                    update(t)
                    .where(t.c.id.in_(batched.scalar_subquery()))
                    .values(sent_at=now, provider=provider, updated_at=now)
                )
            await uow.commit()
