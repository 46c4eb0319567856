"""An organisation's chat and SMS channels (``/orgs/{orgId}/notification-channels``).

Organisation admins (``communication.channels.manage``) add, change and remove them. The
Apprise URL is checked when saved (a scheme Apprise does not know, or a URL its service
refuses, is a 422 naming ``url``), the host of a service at an address of the
organisation's choosing must be public unless ``HUB_NOTIFICATION_CHANNEL_ALLOWED_NETWORKS``
lets it through (422 ``address_not_allowed``), and the URL is sealed at rest bound to the
channel's id. Nothing here returns, logs or raises the URL.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, select, update

from hub.communication import repositories
from hub.communication.api import (
    NotificationChannelCreated,
    NotificationChannelDeleted,
    NotificationChannelUpdated,
)
from hub.communication.domain.categories import CATEGORIES, Known
from hub.communication.domain.chat_channels import KINDS, Target, check_url
from hub.communication.domain.preferences import check_quiet_hours, check_time_zone
from hub.communication.services.org_categories import OrganisationCategories
from hub.identity.api import Membership
from hub.kernel.clock import Clock
from hub.kernel.errors import NotFound
from hub.kernel.netguard import Network, refused_addresses
from hub.kernel.pagination import Page, after_uuid, page_of
from hub.kernel.problems import field_invalid
from hub.kernel.schema import new_id
from hub.kernel.sealing import Sealer
from hub.kernel.store import Store

#: The sealing purpose (its own key derived from ``HUB_SECRET_KEY``).
SEAL_PURPOSE = "communication.notification_channels"
MAX_CHANNELS = 50


@dataclass(frozen=True)
class ChannelDraft:
    kind: str
    name: str
    url: str | None
    enabled: bool = True
    categories: tuple[str, ...] = ()
    quiet_hours: tuple[str, str] | None = None
    time_zone: str | None = None


@dataclass(frozen=True)
class ChannelView:
    id: uuid.UUID
    organisation_id: uuid.UUID
    kind: str
    name: str
    scheme: str
    service: str
    host: str | None
    enabled: bool
    categories: list[str]
    quiet_hours: tuple[str, str] | None
    time_zone: str | None
    created_at: datetime
    updated_at: datetime


def view_of(row: Row[Any]) -> ChannelView:
    quiet = (row.quiet_start, row.quiet_end) if row.quiet_start and row.quiet_end else None
    return ChannelView(
        id=row.id,
        organisation_id=row.organisation_id,
        kind=row.kind,
        name=row.name,
        scheme=row.scheme,
        service=row.service,
        host=row.shown_host,
        enabled=row.enabled,
        categories=list(row.categories),
        quiet_hours=quiet,
        time_zone=row.time_zone,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _not_found() -> NotFound:
    return NotFound("No such notification channel in this organisation.")


class ChannelService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        sealer: Sealer,
        allowed: Sequence[Network],
        categories: OrganisationCategories | None = None,
    ) -> None:
        self.store, self.clock, self.sealer = store, clock, sealer
        self.allowed = tuple(allowed)
        self.categories = categories

    async def _known(self, organisation_id: uuid.UUID) -> Known:
        if self.categories is None:
            return CATEGORIES
        return await self.categories.known(organisation_id)

    # ----------------------------------------------------------------- reading

    async def page(
        self, member: Membership, *, limit: int, cursor: str | None
    ) -> Page[ChannelView]:
        t = repositories.channels_t
        query = select(t).where(t.c.organisation_id == member.organisation_id)
        if cursor:
            query = query.where(t.c.id < after_uuid(cursor))
        rows = await self.store.all(query.order_by(t.c.id.desc()).limit(limit + 1))
        page = page_of(rows, limit, lambda row: (str(row.id),))
        return Page(
            items=[view_of(r) for r in page.items], limit=page.limit, next_cursor=page.next_cursor
        )

    async def _row(self, member: Membership, channel_id: uuid.UUID) -> Row[Any]:
        row = await repositories.channel(self.store, channel_id)
        if row is None or row.organisation_id != member.organisation_id:
            raise _not_found()  # another organisation's channel does not exist here
        return row

    async def get(self, member: Membership, channel_id: uuid.UUID) -> ChannelView:
        return view_of(await self._row(member, channel_id))

    # ----------------------------------------------------------------- writing

    async def create(
        self, member: Membership, draft: ChannelDraft, *, actor_id: uuid.UUID | None
    ) -> ChannelView:
        draft = self._checked(draft, await self._known(member.organisation_id))
        if draft.url is None:
            raise field_invalid("url", "required")
        target = await self.check_target(draft.url)
        count = await repositories.channel_count(self.store, member.organisation_id)
        if count >= MAX_CHANNELS:
            raise field_invalid(
                "url", f"an organisation has at most {MAX_CHANNELS} channels", code="too_many"
            )
        now, channel_id = self.clock(), new_id()
        values = {
            "id": channel_id,
            "organisation_id": member.organisation_id,
            "created_at": now,
            "created_by": actor_id,
            **self._values(draft, target, channel_id, now),
        }
        t = repositories.channels_t
        async with self.store.uow() as uow:
            await uow.session.execute(t.insert().values(**values))
            uow.publish(
                NotificationChannelCreated(
                    organisation_id=member.organisation_id,
                    channel_id=channel_id,
                    kind=draft.kind,
                    scheme=target.scheme,
                )
            )
            await uow.commit()
        return await self.get(member, channel_id)

    async def update(
        self, member: Membership, channel_id: uuid.UUID, changes: dict[str, Any]
    ) -> ChannelView:
        """``changes``: the fields of :class:`ChannelDraft` the PATCH body carried."""
        row = await self._row(member, channel_id)
        current = view_of(row)
        draft = replace(
            ChannelDraft(
                kind=current.kind,
                name=current.name,
                url=None,
                enabled=current.enabled,
                categories=tuple(current.categories),
                quiet_hours=current.quiet_hours,
                time_zone=current.time_zone,
            ),
            **changes,
        )
        draft = self._checked(draft, await self._known(member.organisation_id))
        target = await self.check_target(draft.url) if draft.url is not None else None
        now = self.clock()
        t = repositories.channels_t
        values = self._values(draft, target, channel_id, now)
        async with self.store.uow() as uow:
            await uow.session.execute(update(t).where(t.c.id == channel_id).values(**values))
            uow.publish(
                NotificationChannelUpdated(
                    organisation_id=member.organisation_id,
                    channel_id=channel_id,
                    kind=draft.kind,
                    scheme=target.scheme if target is not None else current.scheme,
                    url_changed=target is not None,
                    enabled=draft.enabled,
                )
            )
            await uow.commit()
        return await self.get(member, channel_id)

    async def delete(self, member: Membership, channel_id: uuid.UUID) -> None:
        row = await self._row(member, channel_id)
        t = repositories.channels_t
        async with self.store.uow() as uow:
            await uow.session.execute(delete(t).where(t.c.id == channel_id))
            uow.publish(
                NotificationChannelDeleted(
                    organisation_id=member.organisation_id,
                    channel_id=channel_id,
                    kind=row.kind,
                    scheme=row.scheme,
                )
            )
            await uow.commit()

    # ----------------------------------------------------------------- checks

    async def check_target(self, url: str, *, name: str = "url") -> Target:
        target = check_url(url, name=name)
        if target.host is not None:
            refused = await refused_addresses(target.host, target.port, self.allowed)
            if refused:
                raise field_invalid(
                    name,
                    "the host is not a public address (loopback, private, link-local or "
                    "reserved) and HUB_NOTIFICATION_CHANNEL_ALLOWED_NETWORKS does not allow it",
                    code="address_not_allowed",
                )
        return target

    @staticmethod
    def _checked(draft: ChannelDraft, known: Known) -> ChannelDraft:
        if draft.kind not in KINDS:
            raise field_invalid("kind", f"one of: {', '.join(KINDS)}")
        if not draft.name.strip():
            raise field_invalid("name", "must not be blank")
        for i, category in enumerate(draft.categories):
            if category not in known:
                raise field_invalid(
                    f"categories[{i}]",
                    f"unknown category; one of: {', '.join(sorted(known))}",
                    code="unknown_category",
                )
        if draft.quiet_hours is not None:
            check_quiet_hours(*draft.quiet_hours)
        check_time_zone(draft.time_zone)
        return replace(
            draft, name=draft.name.strip(), categories=tuple(dict.fromkeys(draft.categories))
        )

    def _values(
        self, draft: ChannelDraft, target: Target | None, channel_id: uuid.UUID, now: datetime
    ) -> dict[str, Any]:
        quiet = draft.quiet_hours
        values: dict[str, Any] = {
            "kind": draft.kind,
            "name": draft.name,
            "enabled": draft.enabled,
            "categories": list(draft.categories),
            "quiet_start": quiet[0] if quiet else None,
            "quiet_end": quiet[1] if quiet else None,
            "time_zone": draft.time_zone,
            "updated_at": now,
        }
        if target is not None and draft.url is not None:
            values.update(
                url_sealed=self.seal(draft.url, channel_id),
                scheme=target.scheme,
                service=target.service,
                shown_host=target.shown_host,
            )
        return values

    # ----------------------------------------------------------------- sealing

    def seal(self, url: str, channel_id: uuid.UUID) -> bytes:
        return self.sealer.seal(url.encode(), context=channel_id.bytes)

    def open(self, row: Row[Any]) -> str:
        """The channel's URL (for the send job only; raises UnsealableError)."""
        return self.sealer.open(bytes(row.url_sealed), context=row.id.bytes).decode()
