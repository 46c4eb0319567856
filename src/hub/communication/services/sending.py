"""Sending a notification: check it, resolve who gets it, record it, queue its fan-out.

The request is answered as soon as the notification and its recipient list are stored
(202 with the count); the fan-out jobs, queued in the same transaction, write the inbox
items and the delivery log in batches of ``HUB_NOTIFICATION_BATCH_SIZE`` (one bulk INSERT
each), so ten thousand recipients cost twenty statements, not ten thousand.

Recipients are always members of the organisation: named user ids that are not (or no
longer) active members are dropped, never told, so a sender learns nothing about them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import func, select, update

from hub.communication import repositories
from hub.communication.api import (
    NotificationCancelled,
    NotificationRequested,
    NotificationScheduled,
)
from hub.communication.domain.categories import SENDABLE_CHANNELS, text_of
from hub.communication.domain.escalation import check_escalation
from hub.communication.domain.permissions import SEND
from hub.communication.domain.templates import (
    check_category,
    check_key,
    check_payload,
    check_renders,
)
from hub.communication.models import Notification
from hub.communication.services.templates import TemplateService
from hub.communication.services.topics import Topics
from hub.identity.api import IdentityApi, Membership
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import Conflict, FieldError, Invalid
from hub.kernel.pagination import Page
from hub.kernel.problems import field_invalid, not_found
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.kernel.tenancy import Tenancy

FAN_OUT = "communication.fan_out"
#: How far ahead a notification may be scheduled.
MAX_SCHEDULE_DAYS = 366


def _facts(notification: Any, recipient_count: int) -> dict[str, Any]:
    """What ``notification.requested`` and ``.scheduled`` say of a notification (a stored
    one or its row)."""
    return {
        "notification_id": notification.id,
        "organisation_id": notification.organisation_id,
        "template_key": notification.template_key,
        "category": notification.category,
        "priority": notification.priority,
        "recipient_count": recipient_count,
    }


def check_send_at(send_at: datetime, now: datetime) -> None:
    """A scheduled time in the future, at most :data:`MAX_SCHEDULE_DAYS` ahead (422 naming
    ``sendAt``)."""
    if send_at <= now:
        raise field_invalid("sendAt", "must be in the future (leave it out to send now)")
    if send_at > now + timedelta(days=MAX_SCHEDULE_DAYS):
        raise field_invalid("sendAt", f"at most {MAX_SCHEDULE_DAYS} days ahead")


@dataclass(frozen=True)
class Recipients:
    user_ids: Sequence[uuid.UUID] = ()
    role_ids: Sequence[uuid.UUID] = ()
    permission: str | None = None
    everyone: bool = False
    #: Keys of the organisation's topics: their subscribers (``domain.topics``).
    topics: Sequence[str] = ()
    #: A key the organisation does not have: refused (422 ``unknown_topic``, the HTTP
    #: send) or reaching nobody (``CommunicationApi.notify``: checked at the caller's save).
    unknown_topics: Literal["refuse", "ignore"] = "refuse"


@dataclass(frozen=True)
class SendRequest:
    organisation_id: uuid.UUID
    template_key: str
    recipients: Recipients
    payload: Mapping[str, Any] = field(default_factory=dict)
    category: str | None = None
    priority: str = "normal"
    channels: Sequence[str] | None = None
    #: E-mail only if the in-app item is still unread this many minutes later.
    escalate_after_minutes: int | None = None
    #: Go out then instead of now (``scheduled``), at most :data:`MAX_SCHEDULE_DAYS` ahead.
    send_at: datetime | None = None


@dataclass(frozen=True)
class Sent:
    id: uuid.UUID
    recipient_count: int
    #: When it goes out, for a scheduled one.
    send_at: datetime | None = None


class SendService:
    def __init__(
        self,
        store: Store,
        tenancy: Tenancy,
        identity: IdentityApi,
        templates: TemplateService,
        clock: Clock,
        queue_job: Callable[..., uuid.UUID],
        *,
        batch_size: int,
        max_recipients: int,
        topics: Topics | None = None,
    ) -> None:
        self.store, self.tenancy, self.identity = store, tenancy, identity
        self.templates, self.clock, self.queue_job = templates, clock, queue_job
        self.batch_size, self.max_recipients = batch_size, max_recipients
        self.topics = topics or Topics(store, clock, identity)

    async def send(self, principal: Principal, request: SendRequest) -> Sent:
        """``POST /notifications``: the caller needs ``communication.notifications.send``
        in the organisation named in the body (404 outside it, 403 without it)."""
        member = cast(
            Membership, await self.tenancy.authorise(principal, request.organisation_id, SEND)
        )
        async with self.store.uow() as uow:
            sent = await self.create_in(uow, request, sender_id=member.user_id)
            await uow.commit()
        return sent

    async def create_in(
        self, uow: UnitOfWork, request: SendRequest, *, sender_id: uuid.UUID | None
    ) -> Sent:
        """Check, resolve and record the notification inside ``uow`` (the caller commits):
        the HTTP route, the in-process API and event handlers all come through here."""
        check_key(request.template_key, name="templateKey")
        org = request.organisation_id
        template = await self.templates.current(org, request.template_key)
        if template is None:
            raise field_invalid(
                "templateKey", "no such template in this organisation", code="unknown_template"
            )
        wanted = request.category or template.category
        category = check_category(wanted, known=await self.templates.categories.one(org, wanted))
        channels = self._channels(request.channels, template.channels)
        if request.escalate_after_minutes is not None:
            check_escalation(request.escalate_after_minutes, channels)
        payload = check_payload(template.variables, request.payload)
        sources = {text_of(c) for c in channels}
        check_renders({c: template.channels[c] for c in sources if c in template.channels}, payload)
        recipients = await self._resolve(org, request.recipients)
        if len(recipients) > self.max_recipients:
            raise field_invalid(
                "recipients",
                f"resolves to {len(recipients)} members; at most {self.max_recipients}",
                code="too_many_recipients",
            )
        now = self.clock()
        send_at = request.send_at.astimezone(UTC) if request.send_at is not None else None
        if send_at is not None:
            check_send_at(send_at, now)
        notification = Notification(
            organisation_id=org,
            sender_id=sender_id,
            template_key=request.template_key,
            template_version=template.version,
            category=category,
            priority=request.priority,
            channels=channels,
            payload=payload,
            recipient_ids=recipients,
            created_at=now,
            escalate_after_minutes=request.escalate_after_minutes,
            state="sent" if send_at is None else "scheduled",
            send_at=send_at,
        )
        uow.session.add(notification)
        await uow.session.flush()
        if send_at is not None:
            facts = _facts(notification, len(recipients))
            uow.publish(NotificationScheduled(**facts, send_at=send_at))
            return Sent(notification.id, len(recipients), send_at)
        self._fan_out(uow, notification.id, len(recipients))
        uow.publish(NotificationRequested(**_facts(notification, len(recipients))))
        return Sent(id=notification.id, recipient_count=len(recipients))

    def _fan_out(self, uow: UnitOfWork, notification_id: uuid.UUID, count: int) -> None:
        for start in range(0, count, self.batch_size):
            end = min(start + self.batch_size, count)
            self.queue_job(uow, FAN_OUT, str(notification_id), start, end)

    # ------------------------------------------------------------------ scheduled

    async def release_due(self, *, batch: int = 100) -> int:
        """Send the scheduled notifications whose time has come (the minute job): each is
        claimed once (``SKIP LOCKED``: two workers never both send it), its ``created_at``
        becomes now, recipients who are no longer members are dropped, and its fan-out is
        queued in the same transaction. How many went out."""
        n = repositories.notifications_t
        now = self.clock()
        async with self.store.uow() as uow:
            due = (
                select(n.c.id)
                .where(n.c.state == "scheduled", n.c.send_at <= now)
                .order_by(n.c.send_at)
                .limit(batch)
                .with_for_update(skip_locked=True)
                .scalar_subquery()
            )
            rows = (
                await uow.session.execute(
                    update(n)
                    .where(n.c.id.in_(due))
                    .values(state="sent", created_at=now)
                    .returning(n)
                )
            ).all()
            for row in rows:
                members = set(await self.identity.members_of(row.organisation_id))
                recipients = [u for u in row.recipient_ids if u in members]
                if len(recipients) != len(row.recipient_ids):
                    await uow.session.execute(
                        update(n).where(n.c.id == row.id).values(recipient_ids=recipients)
                    )
                self._fan_out(uow, row.id, len(recipients))
                uow.publish(NotificationRequested(**_facts(row, len(recipients))))
            await uow.commit()
        return len(rows)

    async def scheduled(self, member: Membership, *, limit: int, cursor: str | None) -> Page[Any]:
        """The organisation's notifications waiting to go out, in the order they were
        scheduled (the route's guard asked for ``communication.notifications.send``)."""
        organisation_id = member.organisation_id
        n = repositories.notifications_t
        stmt = select(
            n.c.id,
            n.c.organisation_id,
            n.c.sender_id,
            n.c.template_key,
            n.c.category,
            n.c.priority,
            n.c.send_at,
            n.c.created_at,
            func.cardinality(n.c.recipient_ids).label("recipient_count"),
        ).where(n.c.organisation_id == organisation_id, n.c.state == "scheduled")
        return await self.store.page(stmt, n.c.id, limit=limit, cursor=cursor)

    async def cancel(self, principal: Principal, notification_id: uuid.UUID) -> None:
        """Call off a scheduled notification (404 unless the caller may send in its
        organisation; 409 once it went out or was cancelled)."""
        n = repositories.notifications_t
        row = await self.store.first(
            select(n.c.organisation_id, n.c.state).where(n.c.id == notification_id)
        )
        if row is None:
            raise not_found("scheduled notification")
        await self.tenancy.authorise(principal, row.organisation_id, SEND)
        async with self.store.uow() as uow:
            cancelled = (
                await uow.session.execute(
                    update(n)
                    .where(n.c.id == notification_id, n.c.state == "scheduled")
                    .values(state="cancelled")
                    .returning(n.c.id)
                )
            ).first()
            if cancelled is None:
                raise Conflict(
                    "The notification is not waiting to go out any more "
                    "(it was sent or cancelled).",
                    code="not_scheduled",
                )
            uow.publish(
                NotificationCancelled(
                    notification_id=notification_id, organisation_id=row.organisation_id
                )
            )
            await uow.commit()

    @staticmethod
    def _channels(wanted: Sequence[str] | None, available: Mapping[str, Any]) -> list[str]:
        if wanted is None:
            chosen = [c for c in SENDABLE_CHANNELS if text_of(c) in available]
            if not chosen:
                raise field_invalid(
                    "templateKey", "the template has no channel that can be sent yet"
                )
            return chosen
        for i, channel in enumerate(wanted):
            if channel not in SENDABLE_CHANNELS:
                raise field_invalid(
                    f"channels[{i}]", f"not sendable yet; one of: {', '.join(SENDABLE_CHANNELS)}"
                )
            if text_of(channel) not in available:
                raise field_invalid(f"channels[{i}]", "the template has no text for this channel")
        if not wanted:
            raise field_invalid("channels", "at least one channel, or leave it out")
        return list(dict.fromkeys(wanted))

    async def _resolve(self, org: uuid.UUID, to: Recipients) -> list[uuid.UUID]:
        """Members named, holding a role, holding a permission, subscribed to a topic, or
        all of them; sorted, each once."""
        if not (to.user_ids or to.role_ids or to.permission or to.everyone or to.topics):
            raise field_invalid(
                "recipients",
                "name userIds, roleIds, a permission, topics or everyone",
                code="no_recipients",
            )
        members = set(await self.identity.members_of(org))
        if to.everyone:
            return sorted(members)
        chosen: set[uuid.UUID] = {u for u in to.user_ids if u in members}
        if to.role_ids:
            roles = {role.id for role in await self.identity.roles_of(org)}
            unknown = [i for i, r in enumerate(to.role_ids) if r not in roles]
            if unknown:
                raise Invalid(
                    "Some roles are not roles of this organisation.",
                    code="unknown_role",
                    errors=[
                        FieldError(field=f"recipients.roleIds[{i}]", message="no such role")
                        for i in unknown
                    ],
                )
            for role_id in dict.fromkeys(to.role_ids):
                chosen.update(await self.identity.members_with_role(org, str(role_id)))
        if to.permission:
            chosen.update(await self.identity.members_with_permission(org, to.permission))
        if to.topics:
            keys = list(dict.fromkeys(to.topics))
            chosen.update(
                await self.topics.reached(org, keys, refuse_unknown=to.unknown_topics == "refuse")
            )
        return sorted(chosen & members)
