"""Delivering outbound webhooks: from an event to signed POSTs, retries and give-ups.

1. :class:`WebhookDispatch` runs in the kernel's catch-all subscription, in the same
   transaction as its inbox row: an event of an organisation becomes one pending delivery
   per enabled endpoint of *that* organisation whose patterns match, and a job for each.
   Events without an organisation (platform events) are never sent.
2. :class:`WebhookSender` makes one attempt (the job): the Standard Webhooks headers and
   signature(s), the request through :mod:`hub.kernel.egress` (SSRF rules, pinned
   address, no redirects, bounded time and body), then the outcome in one transaction:
   2xx succeeds; ``410 Gone`` fails the delivery and disables the endpoint at once; any
   other answer or error schedules the next attempt (``domain.webhooks.SCHEDULE``) or,
   after the last, fails it. An endpoint with no success for five days of failures is
   disabled, and the members who manage webhooks are notified in-app and by e-mail.
3. :class:`WebhookRetries` (every five seconds) hands due deliveries to jobs again; times
   come from the injected clock, so tests move it instead of waiting.

``webhook-timestamp`` is the real time of the attempt, not the injected clock: receivers
compare it with their own clock to refuse replays, and it must be the moment the bytes
were signed.
"""

from __future__ import annotations

import contextlib
import ssl
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import msgspec
import structlog
from sqlalchemy import Row, delete, func, select, update

from hub.communication.api import WebhookDisabled
from hub.communication.domain import webhooks as rules
from hub.communication.domain.permissions import WEBHOOKS_MANAGE
from hub.communication.services.sending import Recipients, SendRequest, SendService
from hub.communication.services.webhooks import (
    DELIVER,
    FAILED,
    LEASE,
    PENDING,
    SUCCEEDED,
    endpoints_t,
    fail_pending,
    insert_delivery,
    open_headers,
)
from hub.communication.services.webhooks import webhook_deliveries_t as deliveries_t
from hub.kernel.clock import Clock, wall_clock
from hub.kernel.db import UnitOfWork
from hub.kernel.egress import (
    AddressPolicy,
    Answer,
    EgressRefused,
    Resolver,
    request,
    system_resolver,
)
from hub.kernel.events import EventEnvelope
from hub.kernel.sealing import Sealer, UnsealableError
from hub.kernel.store import Store

log = structlog.get_logger("hub.communication.webhooks")

USER_AGENT = "Hub-Webhooks/1.0"
#: Finished deliveries are kept this long in the log.
KEEP_FINISHED = timedelta(days=30)
_REASONS = {
    "gone": "the receiver answered 410 Gone",
    "failing": "every delivery failed for 5 days",
}


def event_body(envelope: EventEnvelope) -> str:
    """``{type, timestamp, data}``: the event's own fields plus who and where."""
    data: dict[str, Any] = {
        "eventId": envelope.event_id,
        "eventVersion": envelope.event_version,
        "organisationId": envelope.organisation_id,
        "actorId": envelope.actor_id,
        **envelope.payload,
    }
    return msgspec.json.encode(
        {"type": envelope.event_type, "timestamp": envelope.occurred_at, "data": data}
    ).decode()


class WebhookDispatch:
    def __init__(self, clock: Clock, queue_job: Callable[..., uuid.UUID]) -> None:
        self.clock, self.queue_job = clock, queue_job

    async def dispatch(self, uow: UnitOfWork, envelope: EventEnvelope) -> int:
        """Pending deliveries (and their jobs) for the endpoints this event goes to."""
        if envelope.organisation_id is None:
            return 0
        t = endpoints_t
        endpoints = (
            await uow.session.execute(
                select(t.c.id, t.c.organisation_id, t.c.event_types).where(
                    t.c.organisation_id == envelope.organisation_id, t.c.enabled.is_(True)
                )
            )
        ).all()
        chosen = [e for e in endpoints if rules.matches_any(e.event_types, envelope.event_type)]
        if not chosen:
            return 0
        now = self.clock()
        body = event_body(envelope)
        for endpoint in chosen:
            row = await insert_delivery(
                uow.session,
                endpoint,
                event_id=envelope.event_id,
                event_type=envelope.event_type,
                body=body,
                now=now,
            )
            self.queue_job(uow, DELIVER, str(row.id), 0)
        return len(chosen)


class WebhookSender:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        sending: SendService,
        *,
        sealer: Sealer,
        policy: AddressPolicy,
        timeout_s: float,
        resolver: Resolver = system_resolver,
        wall: Clock = wall_clock,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.store, self.clock, self.sending = store, clock, sending
        self.sealer, self.policy, self.timeout_s = sealer, policy, timeout_s
        #: Seams for what the hub does not run: DNS, the real time of signing, and the
        #: certificate authorities receivers are trusted by (None: the system's).
        self.resolver, self.wall, self.tls = resolver, wall, tls

    async def attempt(self, delivery_id: uuid.UUID, attempts_before: int) -> str | None:
        """One attempt of a pending delivery that has had ``attempts_before`` attempts
        (a redelivered job finds the count moved on and does nothing). Returns the
        delivery's status after it, or None when there was nothing to do."""
        d, e = deliveries_t, endpoints_t
        row = await self.store.first(
            select(
                d,
                e.c.url,
                e.c.enabled,
                e.c.secret_sealed,
                e.c.previous_secret_sealed,
                e.c.previous_secret_expires_at,
                e.c.headers_sealed,
            )
            .join_from(d, e, e.c.id == d.c.endpoint_id, isouter=True)
            .where(d.c.id == delivery_id)
        )
        if row is None or row.status != PENDING or row.attempts != attempts_before:
            return None
        if row.url is None or not row.enabled:
            why = "endpoint deleted" if row.url is None else "endpoint disabled"
            async with self.store.uow() as uow:
                await fail_pending(uow.session, row.endpoint_id, why, self.clock())
                await uow.commit()
            return FAILED
        answer: Answer | None = None
        error: str | None = None
        custom = open_headers(self.sealer, row.endpoint_id, row.headers_sealed)
        try:
            headers = self._headers(row)
        except UnsealableError:
            headers = None
            error = (
                "the endpoint's secret does not open with HUB_SECRET_KEY or "
                "HUB_SECRET_KEY_PREVIOUS: rotate the secret"
            )
        if custom is None:
            headers = None
            error = (
                "the endpoint's custom headers do not open with HUB_SECRET_KEY or "
                "HUB_SECRET_KEY_PREVIOUS: set them again"
            )
        elif headers is not None:
            # Reserved names were refused when they were set: the hub's own come last.
            headers = {**custom, **headers}
        try:
            if headers is not None:
                answer = await request(
                    "POST",
                    row.url,
                    row.body.encode(),
                    headers,
                    policy=self.policy,
                    resolver=self.resolver,
                    connect_timeout=min(5.0, self.timeout_s),
                    total_timeout=self.timeout_s,
                    max_body=rules.RESPONSE_BODY_LIMIT,
                    tls=self.tls,
                )
        except EgressRefused as exc:
            error = f"refused: {exc.reason}"
        except (TimeoutError, httpx.TimeoutException):
            error = f"timed out (at most {self.timeout_s:g} s per attempt)"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        status = await self._record(row, answer, error)
        log.info(
            "webhook_attempt",
            delivery_id=str(delivery_id),
            endpoint_id=str(row.endpoint_id),
            event_type=row.event_type,
            attempt=attempts_before + 1,
            response_status=answer.status if answer else None,
            error=error,
            outcome=status,
        )
        return status

    def _headers(self, row: Row[Any]) -> dict[str, str]:
        context = row.endpoint_id.bytes
        secrets = [self.sealer.open(row.secret_sealed, context=context).decode()]
        expires = row.previous_secret_expires_at
        previous = row.previous_secret_sealed
        if previous is not None and expires is not None and expires > self.clock():
            with contextlib.suppress(UnsealableError):  # a lost key: the new secret signs
                secrets.append(self.sealer.open(previous, context=context).decode())
        msg_id = rules.webhook_id(row.id)
        timestamp = int(self.wall().timestamp())
        return {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": rules.sign(secrets, msg_id, timestamp, row.body.encode()),
        }

    async def _record(self, row: Row[Any], answer: Answer | None, error: str | None) -> str:
        now = self.clock()
        ok = answer is not None and 200 <= answer.status < 300
        gone = answer is not None and answer.status == 410
        if answer is not None and not ok and error is None:
            error = f"HTTP {answer.status}"
            if 300 <= answer.status < 400:
                where = answer.headers.get("location", "?")
                error = f"HTTP {answer.status}: redirect to {where[:200]} not followed"
        attempts = row.attempts + 1
        due = None if ok or gone else rules.next_attempt(now, attempts)
        status = SUCCEEDED if ok else (PENDING if due is not None else FAILED)
        d, e = deliveries_t, endpoints_t
        async with self.store.uow() as uow:
            done = await uow.session.execute(
                update(d)
                .where(d.c.id == row.id, d.c.status == PENDING, d.c.attempts == row.attempts)
                .values(
                    status=status,
                    attempts=attempts,
                    next_attempt_at=due,
                    last_attempt_at=now,
                    response_status=answer.status if answer else None,
                    response_body=rules.truncate(answer.body) if answer else None,
                    duration_ms=answer.duration_ms if answer else None,
                    last_error=None if ok else error,
                    updated_at=now,
                )
                .returning(d.c.id)
            )
            if done.first() is None:
                return status  # another attempt recorded first
            if ok:
                await uow.session.execute(
                    update(e)
                    .where(e.c.id == row.endpoint_id, e.c.failing_since.is_not(None))
                    .values(failing_since=None)
                )
            else:
                since = (
                    await uow.session.execute(
                        update(e)
                        .where(e.c.id == row.endpoint_id)
                        .values(failing_since=func.coalesce(e.c.failing_since, now))
                        .returning(e.c.failing_since)
                    )
                ).scalar()
                if gone:
                    await self._disable(uow, row, "gone", now)
                elif rules.given_up(since, now):
                    await self._disable(uow, row, "failing", now)
            await uow.commit()
        return status

    async def _disable(self, uow: UnitOfWork, row: Row[Any], reason: str, now: datetime) -> None:
        e = endpoints_t
        endpoint = (
            await uow.session.execute(
                update(e)
                .where(e.c.id == row.endpoint_id, e.c.enabled.is_(True))
                .values(enabled=False, disabled_reason=reason, updated_at=now)
                .returning(e)
            )
        ).first()
        if endpoint is None:
            return  # already disabled
        await fail_pending(uow.session, endpoint.id, "endpoint disabled", now)
        uow.publish(
            WebhookDisabled(
                webhook_id=endpoint.id, organisation_id=endpoint.organisation_id, reason=reason
            )
        )
        host = httpx.URL(endpoint.url).host
        await self.sending.create_in(
            uow,
            SendRequest(
                organisation_id=endpoint.organisation_id,
                template_key="webhook.disabled",
                recipients=Recipients(permission=WEBHOOKS_MANAGE),
                payload={
                    "host": host,
                    "description": endpoint.description or "(no description)",
                    "reason": _REASONS[reason],
                    "webhookId": str(endpoint.id),
                },
            ),
            sender_id=None,
        )
        log.warning("webhook_disabled", endpoint_id=str(endpoint.id), reason=reason, host=host)


class WebhookRetries:
    """Hands due deliveries to the delivery job (periodic), drops rotated-out secrets
    whose overlap ended and finished deliveries past :data:`KEEP_FINISHED`."""

    def __init__(self, store: Store, clock: Clock, queue_job: Callable[..., uuid.UUID]) -> None:
        self.store, self.clock, self.queue_job = store, clock, queue_job

    async def release_due(self, limit: int = 1000) -> int:
        d, e = deliveries_t, endpoints_t
        now = self.clock()
        due = (
            select(d.c.id)
            .where(d.c.status == PENDING, d.c.next_attempt_at <= now)
            .order_by(d.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        async with self.store.uow() as uow:
            released = (
                await uow.session.execute(
                    update(d)
                    .where(d.c.id.in_(due.scalar_subquery()))
                    .values(next_attempt_at=now + LEASE, updated_at=now)
                    .returning(d.c.id, d.c.attempts)
                )
            ).all()
            for delivery_id, attempts in released:
                self.queue_job(uow, DELIVER, str(delivery_id), attempts)
            await uow.session.execute(
                update(e)
                .where(e.c.previous_secret_expires_at <= now)
                .values(previous_secret_sealed=None, previous_secret_expires_at=None)
            )
            old = (
                select(d.c.id)
                .where(d.c.status != PENDING, d.c.updated_at < now - KEEP_FINISHED)
                .limit(limit)
            )
            await uow.session.execute(delete(d).where(d.c.id.in_(old.scalar_subquery())))
            await uow.commit()
        return len(released)
