"""E-mail deliveries: render one recipient's message and hand it to the kernel's mail
transport (the SMTP providers of ``HUB_SMTP_URLS``/``HUB_SMTP_URL`` in order, each behind
its circuit breaker, else the development mailbox), recording the outcome in the delivery
log: ``provider`` is the one that took the mail, ``provider_attempts`` every provider tried
(or skipped while its breaker was open), with how it failed.

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
from urllib.parse import urlsplit

import structlog
from sqlalchemy import select, update

from hub.communication import repositories
from hub.communication.domain.preferences import DEFERRED, FAILED, QUEUED, SENT
from hub.communication.domain.templates import render_channel
from hub.communication.services.deliveries import record_outcome
from hub.communication.services.fanout import SEND_JOBS
from hub.communication.services.templates import TemplateService
from hub.identity.api import IdentityApi
from hub.kernel.clock import Clock
from hub.kernel.mail import (
    MailAttempt,
    MailMessage,
    MailTransport,
    PermanentMailError,
    build_email,
)
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
        mail: MailTransport,
    ) -> None:
        self.store, self.templates, self.identity = store, templates, identity
        self.clock, self.settings, self.mail = clock, settings, mail

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
        wanted = await repositories.locales(self.store, d.user_id, n.organisation_id)
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
        tried: list[MailAttempt] = []
        try:
            provider = await self.mail.send(email, stored, tried)
        except Exception as exc:
            permanent = isinstance(exc, PermanentMailError)
            status = FAILED if permanent or final else QUEUED
            error = f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]
            await self._record(d.id, status=status, provider=None, error=error, tried=tried)
            log.warning("notification_email_failed", delivery_id=str(d.id), status=status)
            raise
        await self._record(d.id, status=SENT, provider=provider, error=None, tried=tried)
        return SENT

    async def _record(
        self,
        delivery_id: uuid.UUID,
        *,
        status: str,
        provider: str | None,
        error: str | None,
        tried: list[MailAttempt] | None = None,
    ) -> None:
        await record_outcome(
            self.store,
            self.clock,
            delivery_id,
            status=status,
            provider=provider,
            error=error,
            tried=tried or (),
        )


class DeferredRelease:
    """Hands deferred deliveries whose quiet hours are over to their send job (e-mail,
    push, chat and SMS; periodic)."""

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
                await uow.session.execute(
                    update(t)
                    .where(t.c.id.in_(due.scalar_subquery()))
                    .values(status=QUEUED, updated_at=now)
                    .returning(t.c.id, t.c.channel)
                )
            ).all()
            for delivery_id, channel in released:
                self.queue_job(uow, SEND_JOBS[channel], str(delivery_id))
            await uow.commit()
        return len(released)
