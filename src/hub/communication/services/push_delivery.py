"""Push deliveries: one notification's in-app text, encrypted for each of the recipient's
browsers (RFC 8291, ``http_ece``), signed for their push services (a VAPID ES256 token,
PyJWT) and POSTed through the kernel's egress guard (the endpoint's addresses checked
at connect time, as webhooks are: a subscription cannot point the hub at its network).

Run by the ``communication.send_push`` job. Every browser tried is a line in the
delivery's ``provider_attempts`` (``webpush:<push service host>``). A browser that took
the message gets a ``push_receipts`` row, so a retry after another browser's push service
was down pushes only to the browsers still owed it. A push service answering 404/410 has
dropped the subscription: it is forgotten. The delivery is ``sent`` once every browser
was reached or refused for good, with at least one reached; ``failed`` when none was
(nothing to retry); queued again, with the job retrying, while a push service is down.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import http_ece
import httpx
import jwt
import msgspec
import structlog
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert

from hub.communication import repositories
from hub.communication.domain.preferences import FAILED, QUEUED, SENT
from hub.communication.domain.push import (
    DOWN,
    GONE,
    REJECTED,
    Outcome,
    Subscription,
    message,
    outcome,
    test_message,
    vapid_claims,
)
from hub.communication.domain.push import SENT as PUSHED
from hub.communication.domain.templates import render_channel
from hub.communication.services.deliveries import record_outcome
from hub.communication.services.push import VapidKeys
from hub.communication.services.templates import TemplateService
from hub.kernel.clock import Clock
from hub.kernel.egress import AddressPolicy, EgressRefused, Resolver, request, system_resolver
from hub.kernel.errors import AppError
from hub.kernel.problems import not_found
from hub.kernel.sealing import Sealer, UnsealableError
from hub.kernel.store import Store

log = structlog.get_logger("hub.communication")
_MAX_ERROR = 300
_VAPID_UNREADABLE = (
    "the VAPID key does not open with HUB_SECRET_KEY or HUB_SECRET_KEY_PREVIOUS "
    "(README: Rotating HUB_SECRET_KEY)"
)
#: Seconds to connect to a push service, and for the whole request.
CONNECT_TIMEOUT, TOTAL_TIMEOUT = 5.0, 10.0


class PushSendError(Exception):
    """A push service was down or slow: the job retries (only the browsers still owed)."""


class PermanentPushError(PushSendError):
    """The hub's VAPID key does not open: no retry can help, straight to the dead letters."""


class PushAttempt(msgspec.Struct, kw_only=True, frozen=True):
    """One browser's part in a push delivery, in the delivery log's provider attempts."""

    provider: str
    outcome: Outcome
    error: str | None = None
    at: datetime


class PushDelivery:
    def __init__(
        self,
        store: Store,
        templates: TemplateService,
        clock: Clock,
        *,
        sealer: Sealer,
        keys: VapidKeys,
        policy: AddressPolicy,
        subject: str,
        ttl_seconds: int,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.store, self.templates, self.clock = store, templates, clock
        self.sealer, self.keys, self.policy = sealer, keys, policy
        self.subject, self.ttl_seconds, self.resolver = subject, ttl_seconds, resolver
        #: The verifying TLS context (None: the system's CA bundle); a test's own CA.
        self.tls: Any = None

    async def send(self, delivery_id: uuid.UUID, *, final: bool) -> str | None:
        """Push one queued delivery to the recipient's browsers; the status it ends in
        (None: nothing to do). Raises :class:`PushSendError` after recording, so the job
        retries, while a push service is down."""
        d = await repositories.delivery(self.store, delivery_id)
        if d is None or d.channel != "push" or d.status not in (QUEUED, FAILED):
            return None  # sent, skipped, deferred or unknown: a redelivery changes nothing
        payload = await self._message(d)
        if payload is None:
            await self._record(d.id, FAILED, [], "the notification or its in-app text is gone")
            return FAILED
        owed, reached_before = await repositories.owed_push(self.store, d.id, d.user_id, payload[2])
        if not owed:
            status = SENT if reached_before else FAILED
            await self._record(d.id, status, [], None if reached_before else "no browser")
            return status
        try:
            signing, public = await self.keys.pair()
        except UnsealableError:
            await self._record(d.id, FAILED, [], _VAPID_UNREADABLE)
            raise PermanentPushError(_VAPID_UNREADABLE) from None
        urgency = "high" if payload[1] == "critical" else "normal"
        attempts: list[PushAttempt] = []
        for row in owed:
            attempts.append(await self._push(d.id, row, payload[0], signing, public, urgency))
        outcomes = {a.outcome for a in attempts}
        if DOWN in outcomes:
            status = FAILED if final else QUEUED
            error = next(a.error for a in attempts if a.outcome == DOWN)
            await self._record(d.id, status, attempts, error)
            log.warning("notification_push_failed", delivery_id=str(d.id), status=status)
            raise PushSendError(error or "a push service is down")
        if PUSHED in outcomes or reached_before:
            await self._record(d.id, SENT, attempts, None)
            return SENT
        await self._record(d.id, FAILED, attempts, attempts[-1].error)
        return FAILED

    async def _message(self, d: Any) -> tuple[bytes, str, str] | None:
        """The JSON the service worker gets, in the recipient's language, and the
        notification's priority and category."""
        n = await repositories.notification(self.store, d.notification_id)
        if n is None:
            return None
        template = await self.templates.at_version(
            n.organisation_id, n.template_key, n.template_version
        )
        if template is None:
            return None
        wanted = await repositories.locales(self.store, d.user_id, n.organisation_id)
        rendered = render_channel(template.channels, "in_app", wanted, n.payload)
        if rendered is None:
            return None
        i = repositories.inbox_t
        item = await self.store.scalar(
            select(i.c.id).where(i.c.notification_id == n.id, i.c.user_id == d.user_id)
        )
        body = message(
            notification_id=str(n.id),
            inbox_item_id=str(item) if item is not None else None,
            organisation_id=str(n.organisation_id),
            category=n.category,
            priority=n.priority,
            parts=rendered.parts,
        )
        return body, n.priority, n.category

    async def test(self, user_id: uuid.UUID, subscription_id: uuid.UUID) -> PushAttempt:
        """Push a test message to one of the caller's browsers now and say what its push
        service answered (someone else's browser: 404, like an unknown one)."""
        row = await repositories.push_subscription(self.store, subscription_id)
        if row is None or row.user_id != user_id:
            raise not_found("push subscription")
        try:
            signing, public = await self.keys.pair()
        except UnsealableError:
            raise AppError(_VAPID_UNREADABLE, code="push_unavailable", status_code=503) from None
        return await self._push(None, row, test_message(), signing, public, "normal")

    async def _push(
        self,
        delivery_id: uuid.UUID | None,
        row: Any,
        plaintext: bytes,
        signing: ec.EllipticCurvePrivateKey,
        public: str,
        urgency: str,
    ) -> PushAttempt:
        provider = f"webpush:{row.host}"
        now = self.clock()
        try:
            subscription = Subscription.from_json(
                self.sealer.open(row.sealed, context=row.id.bytes)
            )
        except UnsealableError:
            why = "no configured key unseals it: the browser must subscribe again"
            return PushAttempt(provider=provider, outcome=REJECTED, error=why, at=now)
        result, error = await self._post(subscription, plaintext, signing, public, urgency, now)
        await self._remember(delivery_id, row.id, result, now)
        return PushAttempt(provider=provider, outcome=result, error=error, at=now)

    async def _post(
        self,
        subscription: Subscription,
        plaintext: bytes,
        signing: ec.EllipticCurvePrivateKey,
        public: str,
        urgency: str,
        now: datetime,
    ) -> tuple[Outcome, str | None]:
        """Encrypt, sign and send to one browser's push service: the outcome and why."""
        token = jwt.encode(vapid_claims(subscription, self.subject, now), signing, "ES256")
        body = http_ece.encrypt(
            plaintext,
            private_key=ec.generate_private_key(ec.SECP256R1()),
            dh=subscription.p256dh,
            auth_secret=subscription.auth,
            version="aes128gcm",
        )
        headers = {
            "authorization": f"vapid t={token}, k={public}",
            "content-encoding": "aes128gcm",
            "content-type": "application/octet-stream",
            "ttl": str(self.ttl_seconds),
            "urgency": urgency,
        }
        try:
            answer = await request(
                "POST",
                subscription.endpoint,
                body,
                headers,
                policy=self.policy,
                resolver=self.resolver,
                connect_timeout=CONNECT_TIMEOUT,
                total_timeout=TOTAL_TIMEOUT,
                max_body=1024,
                tls=self.tls,
            )
        except EgressRefused as exc:
            return REJECTED, exc.reason
        except (TimeoutError, httpx.TimeoutException):
            return DOWN, f"timed out (at most {TOTAL_TIMEOUT:g} s)"
        except httpx.HTTPError as exc:
            return DOWN, f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]
        result = outcome(answer.status)
        if result == PUSHED:
            return result, None
        said = answer.body.decode(errors="replace").strip()
        return result, (f"{answer.status}: {said}" if said else str(answer.status))[:_MAX_ERROR]

    async def _remember(
        self,
        delivery_id: uuid.UUID | None,
        subscription_id: uuid.UUID,
        result: str,
        now: datetime,
    ) -> None:
        """A reached browser gets its receipt (a delivery's); a gone one is forgotten."""
        s = repositories.push_subscriptions_t
        async with self.store.uow() as uow:
            if result == PUSHED and delivery_id is not None:
                await uow.session.execute(
                    insert(repositories.push_receipts_t)
                    .values(delivery_id=delivery_id, subscription_id=subscription_id, sent_at=now)
                    .on_conflict_do_nothing()
                )
            if result == PUSHED:
                await uow.session.execute(
                    update(s)
                    .where(s.c.id == subscription_id)
                    .values(last_success_at=now, last_used_at=now)
                )
            elif result == GONE:
                await uow.session.execute(delete(s).where(s.c.id == subscription_id))
            await uow.commit()

    async def _record(
        self, delivery_id: uuid.UUID, status: str, attempts: list[PushAttempt], error: str | None
    ) -> None:
        await record_outcome(
            self.store,
            self.clock,
            delivery_id,
            status=status,
            provider="webpush",
            error=error,
            tried=attempts,
        )
