"""E-mail deliveries: render one recipient's message and hand it to the kernel's mail
transport (SMTP with ``HUB_SMTP_URL``, else the development mailbox), recording the
outcome in the delivery log.

Run by the ``communication.send_email`` job, not the kernel's ``kernel.send_mail``,
because the log needs to know: each attempt counts in ``attempts`` with its error;
success is ``sent``; a permanent refusal (5xx) or the last retry is ``failed`` and the
job's message goes to the dead letters (``hub jobs failed``), whence an operator can retry
it after fixing the cause (a retried failed delivery is sent again).

Deferred deliveries are released by :class:`DeferredRelease` once their quiet hours end.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import structlog
from sqlalchemy import select, update

from hub.communication import repositories
from hub.communication.domain.preferences import DEFERRED, FAILED, QUEUED, SENT
from hub.communication.domain.templates import render_channel
from hub.communication.services.fanout import SEND_EMAIL
from hub.communication.services.templates import TemplateService
from hub.identity.api import IdentityApi
from hub.kernel.clock import Clock
from hub.kernel.mail import MailMessage, PermanentMailError, build_email, transport_for
from hub.kernel.settings import Settings
from hub.kernel.store import Store

log = structlog.get_logger("hub.communication")
_MAX_ERROR = 500


class EmailDelivery:
    def __init__(
        self,
        store: Store,
        templates: TemplateService,
        identity: IdentityApi,
        clock: Clock,
        settings: Settings,
    ) -> None:
        self.store, self.templates, self.identity = store, templates, identity
        self.clock, self.settings = clock, settings

    async def send(self, delivery_id: uuid.UUID, *, final: bool) -> str | None:
        """Send one queued delivery; the status it ends in (None: nothing to do).

        Raises what the transport raised after recording it, so the job retries (or
        dead-letters on ``final`` and on a permanent refusal)."""
        d = await repositories.delivery(self.store, delivery_id)
        if d is None or d.channel != "email" or d.status not in (QUEUED, FAILED):
            return None  # sent, skipped, deferred or unknown: a redelivery changes nothing
        n = await repositories.notification(self.store, d.notification_id)
        people = await self.identity.display_info([d.user_id])
        person = people.get(d.user_id)
        template = (
            await self.templates.at_version(n.organisation_id, n.template_key, n.template_version)
            if n is not None
            else None
        )
        if n is None or template is None or person is None or not person.active:
            await self._record(d.id, status=FAILED, provider=None, error="recipient unavailable")
            return FAILED
        mine = (await repositories.user_settings(self.store, [d.user_id])).get(d.user_id)
        org = await repositories.organisation_settings(self.store, n.organisation_id)
        wanted = [mine.locale if mine else None, org.default_locale if org else None]
        rendered = render_channel(template.channels, "email", wanted, n.payload)
        if rendered is None:
            await self._record(d.id, status=FAILED, provider=None, error="no e-mail text")
            return FAILED
        parts = rendered.parts
        message = MailMessage(
            to=[person.email],
            subject=" ".join(parts["subject"].split()),
            text=parts["text"],
            html=parts.get("html") or None,
            tags=["notification", n.template_key],
        )
        settings = self.settings
        domain = urlsplit(settings.public_url).hostname or "hub.local"
        email, stored = build_email(
            message, mail_id=str(d.id), sender=settings.mail_from, domain=domain
        )
        provider = "smtp" if settings.smtp_url else "mailbox"
        try:
            await transport_for(settings).send(email, stored)
        except Exception as exc:
            permanent = isinstance(exc, PermanentMailError)
            status = FAILED if permanent or final else QUEUED
            error = f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]
            await self._record(d.id, status=status, provider=provider, error=error)
            log.warning("notification_email_failed", delivery_id=str(d.id), status=status)
            raise
        await self._record(d.id, status=SENT, provider=provider, error=None)
        return SENT

    async def _record(
        self, delivery_id: uuid.UUID, *, status: str, provider: str | None, error: str | None
    ) -> None:
        t = repositories.deliveries_t
        now = self.clock()
        values: dict[str, Any] = {
            "status": status,
            "attempts": t.c.attempts + 1,
            "updated_at": now,
            "provider": provider,
        }
        if error is not None:
            values["last_error"] = error
        if status == SENT:
            values["sent_at"] = now
        async with self.store.uow() as uow:
            await uow.session.execute(update(t).where(t.c.id == delivery_id).values(**values))
            await uow.commit()


class DeferredRelease:
    """Hands deferred deliveries whose quiet hours are over to the send job (periodic)."""

    def __init__(self, store: Store, clock: Clock, queue_job: Callable[..., uuid.UUID]) -> None:
        self.store, self.clock, self.queue_job = store, clock, queue_job

    async def release_due(self, limit: int = 1000) -> int:
        t = repositories.deliveries_t
        now = self.clock()
        due = (
            select(t.c.id)
            # escalations wait for ``services.escalation``, which checks the inbox first
            .where(t.c.status == DEFERRED, t.c.deliver_after <= now, t.c.if_unread.is_(False))
            .order_by(t.c.deliver_after)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        async with self.store.uow() as uow:
            released = (
                (
                    await uow.session.execute(
                        update(t)
                        .where(t.c.id.in_(due.scalar_subquery()))
                        .values(status=QUEUED, updated_at=now)
                        .returning(t.c.id)
                    )
                )
                .scalars()
                .all()
            )
            for delivery_id in released:
                self.queue_job(uow, SEND_EMAIL, str(delivery_id))
            await uow.commit()
        return len(released)
