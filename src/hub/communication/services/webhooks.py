"""Managing an organisation's outbound webhooks: endpoints, their secrets, their delivery
log, manual retries and pings. ``communication.webhooks.manage`` throughout; an endpoint
of an organisation the caller is not a member of is a 404 like one that does not exist.

A secret is generated here and shown once (creation, rotation); the table holds it sealed
under ``HUB_SECRET_KEY`` with the endpoint id as associated data, so a sealed secret
copied onto another row does not open. A rotation keeps the previous secret signing for
``HUB_WEBHOOK_SECRET_OVERLAP_HOURS``, then it is dropped.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import msgspec
from sqlalchemy import Row, Table, delete, select, update

from hub.communication.api import (
    WebhookCreated,
    WebhookDeleted,
    WebhookSecretRotated,
    WebhookUpdated,
)
from hub.communication.domain import webhooks as rules
from hub.communication.domain.permissions import WEBHOOKS_MANAGE
from hub.communication.models import WebhookDelivery, WebhookEndpoint
from hub.kernel.clock import Clock
from hub.kernel.egress import AddressPolicy, EgressRefused, check_url
from hub.kernel.errors import Conflict, FieldError, Invalid
from hub.kernel.events import EVENT_TYPES
from hub.kernel.pagination import Page, after_uuid, page_of
from hub.kernel.problems import field_invalid, not_found
from hub.kernel.schema import new_id
from hub.kernel.sealing import Sealer, UnsealableError
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.kernel.tenancy import Tenancy

endpoints_t = cast(Table, WebhookEndpoint.__table__)
webhook_deliveries_t = cast(Table, WebhookDelivery.__table__)

SEAL_PURPOSE = "communication.webhook-secret"
DELIVER = "communication.webhook_deliver"
#: How long a delivery handed to a job is not handed out again (longer than any attempt
#: may take); a worker that dies mid-attempt leaves it due again after this.
LEASE = timedelta(minutes=5)
PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
#: Event types never offered to webhooks (job requests are not events).
_INTERNAL_PREFIX = "kernel."


@dataclass(frozen=True)
class EndpointDraft:
    url: str
    event_types: Sequence[str]
    description: str = ""
    enabled: bool = True
    #: Custom headers sent with every delivery (name → value).
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Created:
    endpoint: Row[Any]
    secret: str


def sealer_for(secrets: Sequence[str]) -> Sealer:
    return Sealer(list(secrets), SEAL_PURPOSE)


def subscribable_event_types() -> list[str]:
    """Every event type an endpoint may ask for (every context's, plus the ping)."""
    names = [n for n in EVENT_TYPES.names() if not n.startswith(_INTERNAL_PREFIX)]
    return sorted([*names, rules.PING])


def check_event_types(patterns: Sequence[str], known: Sequence[str]) -> list[str]:
    """The patterns, each once; 422 naming ``eventTypes[i]`` for a malformed one or one
    that matches no event type there is."""
    errors: list[FieldError] = []
    if not patterns:
        errors.append(FieldError(field="eventTypes", message="at least one pattern"))
    for i, pattern in enumerate(patterns):
        problem = rules.check_pattern(pattern)
        if problem is None and not any(rules.matches(pattern, t) for t in known):
            problem = "matches no event type (GET /webhooks/event-types lists them)"
        if problem is not None:
            errors.append(FieldError(field=f"eventTypes[{i}]", message=problem))
    if errors:
        raise Invalid("Some event types are not valid.", code="invalid_event_types", errors=errors)
    return list(dict.fromkeys(patterns))


class WebhookService:
    def __init__(
        self,
        store: Store,
        tenancy: Tenancy,
        clock: Clock,
        queue_job: Callable[..., uuid.UUID],
        *,
        sealer: Sealer,
        policy: AddressPolicy,
        overlap: timedelta,
    ) -> None:
        self.store, self.tenancy, self.clock, self.queue_job = store, tenancy, clock, queue_job
        self.sealer, self.policy, self.overlap = sealer, policy, overlap

    # ------------------------------------------------------------------ endpoints

    def check_url(self, url: str) -> str:
        if len(url) > rules.MAX_URL_LENGTH:
            raise field_invalid("url", f"at most {rules.MAX_URL_LENGTH} characters")
        try:
            check_url(url, self.policy)
        except EgressRefused as exc:
            raise field_invalid("url", exc.reason, code="url_refused") from None
        return url

    async def _endpoint(self, principal: Principal, webhook_id: uuid.UUID) -> Row[Any]:
        """The endpoint if the caller may manage it (404 when not a member, 403 without
        the permission)."""
        t = endpoints_t
        row = await self.store.first(select(t).where(t.c.id == webhook_id))
        if row is None or await self.tenancy.membership(principal, row.organisation_id) is None:
            raise not_found("webhook")
        await self.tenancy.authorise(principal, row.organisation_id, WEBHOOKS_MANAGE)
        return row

    async def list(
        self, organisation_id: uuid.UUID, limit: int, cursor: str | None
    ) -> Page[Row[Any]]:
        t = endpoints_t
        query = select(t).where(t.c.organisation_id == organisation_id)
        if cursor:
            query = query.where(t.c.id < after_uuid(cursor))
        rows = await self.store.all(query.order_by(t.c.id.desc()).limit(limit + 1))
        return page_of(rows, limit, lambda row: (str(row.id),))

    async def get(self, principal: Principal, webhook_id: uuid.UUID) -> Row[Any]:
        return await self._endpoint(principal, webhook_id)

    async def create(
        self, principal: Principal, organisation_id: uuid.UUID, draft: EndpointDraft
    ) -> Created:
        await self.tenancy.authorise(principal, organisation_id, WEBHOOKS_MANAGE)
        url = self.check_url(draft.url)
        check_headers(draft.headers)
        patterns = check_event_types(draft.event_types, subscribable_event_types())
        now = self.clock()
        endpoint_id = new_id()
        secret = rules.new_secret()
        async with self.store.uow() as uow:
            await uow.session.execute(
                endpoints_t.insert().values(
                    id=endpoint_id,
                    organisation_id=organisation_id,
                    url=url,
                    description=draft.description,
                    event_types=patterns,
                    enabled=draft.enabled,
                    secret_sealed=self._seal(endpoint_id, secret),
                    **self._headers(endpoint_id, draft.headers),
                    created_at=now,
                    created_by=principal.user_id,
                    updated_at=now,
                )
            )
            uow.publish(
                WebhookCreated(
                    webhook_id=endpoint_id, organisation_id=organisation_id, event_types=patterns
                )
            )
            await uow.commit()
        row = await self.store.first(select(endpoints_t).where(endpoints_t.c.id == endpoint_id))
        assert row is not None
        return Created(endpoint=row, secret=secret)

    async def update(
        self, principal: Principal, webhook_id: uuid.UUID, changes: dict[str, Any]
    ) -> Row[Any]:
        """``changes``: any of ``url``, ``event_types``, ``description``, ``enabled``.
        Enabling an endpoint the hub disabled, or giving it another URL, starts its
        failure count afresh."""
        row = await self._endpoint(principal, webhook_id)
        values: dict[str, Any] = {}
        if "url" in changes:
            values["url"] = self.check_url(changes["url"])
            if values["url"] != row.url:
                values["failing_since"] = None  # another receiver: its own record
        if "event_types" in changes:
            values["event_types"] = check_event_types(
                changes["event_types"], subscribable_event_types()
            )
        if "description" in changes:
            values["description"] = changes["description"]
        headers_changed = False
        if "headers" in changes:
            check_headers(changes["headers"])
            headers_changed = self.opened_headers(row) != dict(changes["headers"])
            if headers_changed:
                values.update(self._headers(webhook_id, changes["headers"]))
        if "enabled" in changes:
            values["enabled"] = bool(changes["enabled"])
            if values["enabled"] and not row.enabled:
                values["disabled_reason"] = None
                values["failing_since"] = None
        changed = [k for k, v in values.items() if k in changes and getattr(row, k) != v]
        if headers_changed:
            changed.append("headers")
        if not changed:
            return row
        values["updated_at"] = self.clock()
        t = endpoints_t
        async with self.store.uow() as uow:
            await uow.session.execute(update(t).where(t.c.id == webhook_id).values(**values))
            if values.get("enabled") is False:
                await fail_pending(uow.session, webhook_id, "endpoint disabled", self.clock())
            uow.publish(
                WebhookUpdated(
                    webhook_id=webhook_id,
                    organisation_id=row.organisation_id,
                    changed=[_wire(k) for k in changed],
                )
            )
            await uow.commit()
        fresh = await self.store.first(select(t).where(t.c.id == webhook_id))
        assert fresh is not None
        return fresh

    async def delete(self, principal: Principal, webhook_id: uuid.UUID) -> None:
        row = await self._endpoint(principal, webhook_id)
        async with self.store.uow() as uow:
            await uow.session.execute(
                delete(webhook_deliveries_t).where(webhook_deliveries_t.c.endpoint_id == webhook_id)
            )
            await uow.session.execute(delete(endpoints_t).where(endpoints_t.c.id == webhook_id))
            uow.publish(WebhookDeleted(webhook_id=webhook_id, organisation_id=row.organisation_id))
            await uow.commit()

    async def rotate_secret(
        self, principal: Principal, webhook_id: uuid.UUID
    ) -> tuple[str, datetime]:
        """A new secret (returned, shown once); the current one keeps signing beside it
        until the returned time. Rotating again during an overlap drops the oldest."""
        row = await self._endpoint(principal, webhook_id)
        now = self.clock()
        until = now + self.overlap
        secret = rules.new_secret()
        t = endpoints_t
        async with self.store.uow() as uow:
            await uow.session.execute(
                update(t)
                .where(t.c.id == webhook_id)
                .values(
                    secret_sealed=self._seal(webhook_id, secret),
                    previous_secret_sealed=row.secret_sealed if self.overlap else None,
                    previous_secret_expires_at=until if self.overlap else None,
                    updated_at=now,
                )
            )
            uow.publish(
                WebhookSecretRotated(webhook_id=webhook_id, organisation_id=row.organisation_id)
            )
            await uow.commit()
        return secret, until

    def _seal(self, endpoint_id: uuid.UUID, secret: str) -> bytes:
        return self.sealer.seal(secret.encode(), context=endpoint_id.bytes)

    def _headers(self, endpoint_id: uuid.UUID, headers: Mapping[str, str]) -> dict[str, Any]:
        """The columns holding ``headers``: their names, and all of them sealed."""
        if not headers:
            return {"header_names": [], "headers_sealed": None}
        sealed = self.sealer.seal(
            msgspec.json.encode(dict(headers)), context=headers_context(endpoint_id)
        )
        return {"header_names": list(headers), "headers_sealed": sealed}

    def opened_headers(self, row: Row[Any]) -> dict[str, str] | None:
        """The endpoint's custom headers (None when no configured key opens them)."""
        return open_headers(self.sealer, row.id, row.headers_sealed)

    # ------------------------------------------------------------------ deliveries

    async def deliveries(
        self,
        principal: Principal,
        webhook_id: uuid.UUID,
        *,
        status: str | None,
        limit: int,
        cursor: str | None,
    ) -> Page[Row[Any]]:
        await self._endpoint(principal, webhook_id)
        t = webhook_deliveries_t
        query = select(t).where(t.c.endpoint_id == webhook_id)
        if status is not None:
            query = query.where(t.c.status == status)
        if cursor:
            query = query.where(t.c.id < after_uuid(cursor))
        rows = await self.store.all(query.order_by(t.c.id.desc()).limit(limit + 1))
        return page_of(rows, limit, lambda row: (str(row.id),))

    async def retry(
        self, principal: Principal, webhook_id: uuid.UUID, delivery_id: uuid.UUID
    ) -> Row[Any]:
        """Send a delivery again (same ``webhook-id`` and body), whatever its state."""
        endpoint = await self._endpoint(principal, webhook_id)
        _refuse_disabled(endpoint)
        t = webhook_deliveries_t
        now = self.clock()
        async with self.store.uow() as uow:
            row = (
                await uow.session.execute(
                    update(t)
                    .where(t.c.id == delivery_id, t.c.endpoint_id == webhook_id)
                    .values(status=PENDING, next_attempt_at=now + LEASE, updated_at=now)
                    .returning(t)
                )
            ).first()
            if row is None:
                raise not_found("delivery")
            self.queue_job(uow, DELIVER, str(delivery_id), row.attempts)
            await uow.commit()
        return cast(Row[Any], row)

    async def ping(self, principal: Principal, webhook_id: uuid.UUID) -> Row[Any]:
        """Queue a ``webhook.ping`` to the endpoint (whatever its event types)."""
        endpoint = await self._endpoint(principal, webhook_id)
        _refuse_disabled(endpoint)
        now = self.clock()
        body = ping_body(endpoint.id, endpoint.organisation_id, now)
        async with self.store.uow() as uow:
            row = await insert_delivery(
                uow.session, endpoint, event_id=None, event_type=rules.PING, body=body, now=now
            )
            self.queue_job(uow, DELIVER, str(row.id), 0)
            await uow.commit()
        return row


def headers_context(endpoint_id: uuid.UUID) -> bytes:
    """The AEAD context of an endpoint's headers: its id, told apart from its secret's."""
    return b"headers:" + endpoint_id.bytes


def open_headers(
    sealer: Sealer, endpoint_id: uuid.UUID, sealed: bytes | None
) -> dict[str, str] | None:
    """An endpoint's custom headers ({} for none; None when no configured key opens them)."""
    if sealed is None:
        return {}
    try:
        opened = sealer.open(sealed, context=headers_context(endpoint_id))
    except UnsealableError:
        return None
    return msgspec.json.decode(opened, type=dict[str, str])


def check_headers(headers: Mapping[str, str]) -> None:
    """422 naming ``headers.<name>`` for each wrong custom header."""
    problems = rules.header_problems(dict(headers))
    if problems:
        raise Invalid(
            "Some headers cannot be sent.",
            errors=[FieldError(field=f, message=m) for f, m in problems],
        )


def _wire(name: str) -> str:
    return {"event_types": "eventTypes"}.get(name, name)


def _refuse_disabled(endpoint: Row[Any]) -> None:
    if not endpoint.enabled:
        raise Conflict(
            "The webhook is disabled; enable it first.",
            code="webhook_disabled",
        )


def ping_body(webhook_id: uuid.UUID, organisation_id: uuid.UUID, now: datetime) -> str:
    return msgspec.json.encode(
        {
            "type": rules.PING,
            "timestamp": now,
            "data": {"webhookId": webhook_id, "organisationId": organisation_id},
        }
    ).decode()


async def insert_delivery(
    session: Any,
    endpoint: Any,
    *,
    event_id: uuid.UUID | None,
    event_type: str,
    body: str,
    now: datetime,
) -> Row[Any]:
    t = webhook_deliveries_t
    row = (
        await session.execute(
            t.insert()
            .values(
                id=new_id(),
                endpoint_id=endpoint.id,
                organisation_id=endpoint.organisation_id,
                event_id=event_id,
                event_type=event_type,
                body=body,
                status=PENDING,
                attempts=0,
                next_attempt_at=now + LEASE,
                created_at=now,
                updated_at=now,
            )
            .returning(t)
        )
    ).first()
    assert row is not None
    return cast(Row[Any], row)


async def fail_pending(session: Any, endpoint_id: uuid.UUID, why: str, now: datetime) -> None:
    """Pending deliveries of an endpoint that will not be tried any more."""
    t = webhook_deliveries_t
    await session.execute(
        update(t)
        .where(t.c.endpoint_id == endpoint_id, t.c.status == PENDING)
        .values(status=FAILED, next_attempt_at=None, last_error=why, updated_at=now)
    )
