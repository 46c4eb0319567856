"""Reads of communication's tables: single SELECTs on the store's autocommit path.

Inbox and delivery lists page by keyset (the UUIDv7 id, newest first); the unread count
is one ``COUNT(*)`` over the partial index of unread rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, Table, and_, func, or_, select, tuple_
from sqlalchemy.dialects.postgresql import distinct_on

from hub.communication.models import (
    Delivery,
    Digest,
    DigestItem,
    InboxItem,
    Notification,
    NotificationChannel,
    OrganisationSettings,
    PushReceipt,
    PushSubscription,
    ShareNotice,
    Template,
    UserSettings,
    VapidKey,
)
from hub.kernel.store import Store

templates_t = cast(Table, Template.__table__)
inbox_t = cast(Table, InboxItem.__table__)
deliveries_t = cast(Table, Delivery.__table__)
notifications_t = cast(Table, Notification.__table__)
org_settings_t = cast(Table, OrganisationSettings.__table__)
user_settings_t = cast(Table, UserSettings.__table__)
share_notices_t = cast(Table, ShareNotice.__table__)
channels_t = cast(Table, NotificationChannel.__table__)
digest_items_t = cast(Table, DigestItem.__table__)
digests_t = cast(Table, Digest.__table__)
push_subscriptions_t = cast(Table, PushSubscription.__table__)
push_receipts_t = cast(Table, PushReceipt.__table__)
vapid_keys_t = cast(Table, VapidKey.__table__)


async def template_version(
    store: Store, organisation_id: uuid.UUID, key: str, version: int | None = None
) -> Row[Any] | None:
    """The organisation's version of a template (its latest when ``version`` is None)."""
    t = templates_t
    query = select(t).where(t.c.organisation_id == organisation_id, t.c.key == key)
    if version is not None:
        query = query.where(t.c.version == version)
    return await store.first(query.order_by(t.c.version.desc()).limit(1))


async def latest_templates(store: Store, organisation_id: uuid.UUID) -> list[Row[Any]]:
    """The current version of each of the organisation's own templates."""
    t = templates_t
    return await store.all(
        select(t)
        .ext(distinct_on(t.c.key))
        .where(t.c.organisation_id == organisation_id)
        .order_by(t.c.key, t.c.version.desc())
    )


async def template_history(
    store: Store, organisation_id: uuid.UUID, key: str, before: int | None, limit: int
) -> list[Row[Any]]:
    t = templates_t
    query = select(t.c.version, t.c.created_at, t.c.created_by).where(
        t.c.organisation_id == organisation_id, t.c.key == key
    )
    if before is not None:
        query = query.where(t.c.version < before)
    return await store.all(query.order_by(t.c.version.desc()).limit(limit + 1))


async def organisation_settings(store: Store, organisation_id: uuid.UUID) -> Row[Any] | None:
    t = org_settings_t
    return await store.first(select(t).where(t.c.organisation_id == organisation_id))


async def user_settings(store: Store, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Row[Any]]:
    if not user_ids:
        return {}
    t = user_settings_t
    rows = await store.all(select(t).where(t.c.user_id.in_(list(user_ids))))
    return {row.user_id: row for row in rows}


async def locales(store: Store, user_id: uuid.UUID, organisation_id: uuid.UUID) -> list[str | None]:
    """The languages to render one person's message in, best first: theirs, then their
    organisation's default (the template's own default after both)."""
    mine = (await user_settings(store, [user_id])).get(user_id)
    org = await organisation_settings(store, organisation_id)
    return [mine.locale if mine else None, org.default_locale if org else None]


async def notification(store: Store, notification_id: uuid.UUID) -> Row[Any] | None:
    t = notifications_t
    return await store.first(select(t).where(t.c.id == notification_id))


async def delivery(store: Store, delivery_id: uuid.UUID) -> Row[Any] | None:
    t = deliveries_t
    return await store.first(select(t).where(t.c.id == delivery_id))


def unread(now: datetime) -> Any:
    """The unread rule: neither read nor archived, and not snoozed into the future."""
    t = inbox_t
    return and_(
        t.c.read_at.is_(None),
        t.c.archived_at.is_(None),
        or_(t.c.snoozed_until.is_(None), t.c.snoozed_until <= now),
    )


async def unread_count(store: Store, user_id: uuid.UUID, now: datetime) -> int:
    t = inbox_t
    query = select(func.count()).select_from(t).where(t.c.user_id == user_id, unread(now))
    return int(await store.scalar(query))


async def inbox_item(store: Store, user_id: uuid.UUID, item_id: uuid.UUID) -> Row[Any] | None:
    t = inbox_t
    return await store.first(select(t).where(t.c.id == item_id, t.c.user_id == user_id))


async def inbox_page(
    store: Store,
    user_id: uuid.UUID,
    *,
    status: str | None,
    category: str | None,
    organisation_id: uuid.UUID | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
    now: datetime,
) -> list[Row[Any]]:
    """Newest notification first: items sort by when their notification was sent (a
    batch fanned out later still sorts by the send), then by id."""
    t = inbox_t
    query = select(t).where(t.c.user_id == user_id)
    if status == "unread":
        query = query.where(unread(now))
    elif status == "read":
        query = query.where(t.c.read_at.is_not(None), t.c.archived_at.is_(None))
    elif status == "archived":
        query = query.where(t.c.archived_at.is_not(None))
    elif status == "snoozed":
        query = query.where(t.c.archived_at.is_(None), t.c.snoozed_until > now)
    else:
        query = query.where(t.c.archived_at.is_(None))
    if category is not None:
        query = query.where(t.c.category == category)
    if organisation_id is not None:
        query = query.where(t.c.organisation_id == organisation_id)
    if before is not None:
        query = query.where(tuple_(t.c.created_at, t.c.id) < tuple_(*before))
    order = (t.c.created_at.desc(), t.c.id.desc())
    return await store.all(query.order_by(*order).limit(limit + 1))


async def delivery_page(
    store: Store,
    organisation_id: uuid.UUID,
    *,
    status: str | None,
    channel: str | None,
    notification_id: uuid.UUID | None,
    user_id: uuid.UUID | None,
    before: uuid.UUID | None,
    limit: int,
) -> list[Row[Any]]:
    t = deliveries_t
    query = select(t).where(t.c.organisation_id == organisation_id)
    for column, value in (
        (t.c.status, status),
        (t.c.channel, channel),
        (t.c.notification_id, notification_id),
        (t.c.user_id, user_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if before is not None:
        query = query.where(t.c.id < before)
    return await store.all(query.order_by(t.c.id.desc()).limit(limit + 1))


async def channel(store: Store, channel_id: uuid.UUID) -> Row[Any] | None:
    t = channels_t
    return await store.first(select(t).where(t.c.id == channel_id))


async def channel_count(store: Store, organisation_id: uuid.UUID) -> int:
    t = channels_t
    query = select(func.count()).select_from(t).where(t.c.organisation_id == organisation_id)
    return int(await store.scalar(query))


async def enabled_channels(
    store: Store, organisation_id: uuid.UUID, kinds: Sequence[str]
) -> list[Row[Any]]:
    """The organisation's enabled chat or SMS channels of ``kinds`` (not their URLs)."""
    t = channels_t
    query = select(
        t.c.id,
        t.c.kind,
        t.c.scheme,
        t.c.categories,
        t.c.quiet_start,
        t.c.quiet_end,
        t.c.time_zone,
    ).where(t.c.organisation_id == organisation_id, t.c.enabled, t.c.kind.in_(list(kinds)))
    return await store.all(query.order_by(t.c.id))


# --------------------------------------------------------------------------- web push


def wakes_for(category: str) -> ColumnElement[bool]:
    """A browser woken for ``category`` (every one, or one it chose)."""
    s = push_subscriptions_t
    return or_(s.c.categories.is_(None), s.c.categories.any_() == category)


async def with_push_subscription(
    store: Store, user_ids: Sequence[uuid.UUID], category: str
) -> set[uuid.UUID]:
    """Those of ``user_ids`` with a browser registered for push and woken for
    ``category``."""
    s = push_subscriptions_t
    rows = await store.all(
        select(s.c.user_id).where(s.c.user_id.in_(user_ids), wakes_for(category)).distinct()
    )
    return {row.user_id for row in rows}


async def push_subscriptions(store: Store, user_id: uuid.UUID) -> list[Row[Any]]:
    """A person's browsers, the most recently used first."""
    s = push_subscriptions_t
    return await store.all(
        select(s).where(s.c.user_id == user_id).order_by(s.c.last_used_at.desc(), s.c.id.desc())
    )


async def push_subscription(store: Store, subscription_id: uuid.UUID) -> Row[Any] | None:
    s = push_subscriptions_t
    return await store.first(select(s).where(s.c.id == subscription_id))


async def owed_push(
    store: Store, delivery_id: uuid.UUID, user_id: uuid.UUID, category: str
) -> tuple[list[Row[Any]], bool]:
    """The recipient's browsers woken for ``category`` a push delivery has not reached
    yet, and whether it reached any."""
    s, r = push_subscriptions_t, push_receipts_t
    reached = select(r.c.subscription_id).where(r.c.delivery_id == delivery_id)
    owed = await store.all(
        select(s.c.id, s.c.sealed, s.c.host)
        .where(s.c.user_id == user_id, s.c.id.not_in(reached), wakes_for(category))
        .order_by(s.c.last_used_at.desc(), s.c.id.desc())
    )
    before = await store.scalar(select(func.count()).select_from(reached.subquery()))
    return owed, bool(before)


async def vapid_key(store: Store) -> Row[Any] | None:
    k = vapid_keys_t
    return await store.first(select(k).where(k.c.id == 1))
