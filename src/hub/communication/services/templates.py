"""Notification templates of an organisation: the platform's, overridden by its own.

Every save is a new version row (history is kept; the highest version is current). The
template is checked before anything is written (``domain.templates.check_draft``), so a
broken or unsafe template is a 422 and the previous version stays in use.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from hub.communication import repositories
from hub.communication.api import TemplateSaved
from hub.communication.domain.platform_templates import PLATFORM_TEMPLATES
from hub.communication.domain.templates import (
    Channels,
    Rendered,
    TemplateDraft,
    check_draft,
    check_key,
    check_locale,
    render_channel,
    sample_values,
)
from hub.communication.models import Template
from hub.communication.services.org_categories import OrganisationCategories
from hub.identity.api import Membership
from hub.kernel.clock import Clock
from hub.kernel.errors import Conflict
from hub.kernel.pagination import Page, decode_cursor, encode_cursor
from hub.kernel.problems import invalid_cursor, not_found
from hub.kernel.store import Store


@dataclass(frozen=True)
class TemplateView:
    """A template as an organisation sees it (``version`` 0: the platform's own)."""

    key: str
    organisation_id: uuid.UUID
    version: int
    source: str
    category: str
    description: str
    variables: list[str]
    sample: dict[str, Any]
    channels: Channels
    created_at: datetime | None = None
    created_by: uuid.UUID | None = None


@dataclass(frozen=True)
class TemplateVersion:
    version: int
    created_at: datetime
    created_by: uuid.UUID | None


@dataclass(frozen=True)
class Preview:
    channels: dict[str, Rendered] = field(default_factory=dict)


def _platform(key: str, organisation_id: uuid.UUID) -> TemplateView | None:
    draft = PLATFORM_TEMPLATES.get(key)
    if draft is None:
        return None
    return TemplateView(
        key=key,
        organisation_id=organisation_id,
        version=0,
        source="platform",
        category=draft.category,
        description=draft.description,
        variables=list(draft.variables),
        sample=dict(draft.sample),
        channels=draft.channels,
    )


def _view(row: Any) -> TemplateView:
    return TemplateView(
        key=row.key,
        organisation_id=row.organisation_id,
        version=row.version,
        source="organisation",
        category=row.category,
        description=row.description,
        variables=list(row.variables),
        sample=dict(row.sample),
        channels=row.channels,
        created_at=row.created_at,
        created_by=row.created_by,
    )


class TemplateService:
    def __init__(self, store: Store, clock: Clock, categories: OrganisationCategories) -> None:
        self.store, self.clock, self.categories = store, clock, categories

    async def checked(self, organisation_id: uuid.UUID, draft: TemplateDraft) -> TemplateDraft:
        """:func:`check_draft` with the organisation's own categories known too."""
        return check_draft(draft, await self.categories.one(organisation_id, draft.category))

    async def current(self, organisation_id: uuid.UUID, key: str) -> TemplateView | None:
        """The organisation's latest version, else the platform's template, else None."""
        row = await repositories.template_version(self.store, organisation_id, key)
        return _view(row) if row is not None else _platform(key, organisation_id)

    async def at_version(
        self, organisation_id: uuid.UUID, key: str, version: int
    ) -> TemplateView | None:
        """What a notification was sent with (0: the platform's)."""
        if version == 0:
            return _platform(key, organisation_id)
        row = await repositories.template_version(self.store, organisation_id, key, version)
        return _view(row) if row is not None else None

    async def get(self, member: Membership, key: str, version: int | None) -> TemplateView:
        check_key(key, source="path")
        org = member.organisation_id
        found = await (
            self.current(org, key) if version is None else self.at_version(org, key, version)
        )
        if found is None:
            raise not_found("template")
        return found

    async def list(self, member: Membership, limit: int, cursor: str | None) -> Page[TemplateView]:
        org = member.organisation_id
        views = {key: _platform(key, org) for key in PLATFORM_TEMPLATES}
        for row in await repositories.latest_templates(self.store, org):
            views[row.key] = _view(row)
        after = None
        if cursor is not None:
            (after,) = decode_cursor(cursor, 1)
            if not isinstance(after, str):
                raise invalid_cursor()
        keys = sorted(k for k in views if after is None or k > after)
        chosen = [v for k in keys[: limit + 1] if (v := views[k]) is not None]
        has_more = len(chosen) > limit
        items = chosen[:limit]
        return Page(
            items=items,
            limit=limit,
            next_cursor=encode_cursor(items[-1].key) if has_more and items else None,
        )

    async def versions(
        self, member: Membership, key: str, limit: int, cursor: str | None
    ) -> Page[TemplateVersion]:
        check_key(key, source="path")
        org = member.organisation_id
        if await self.current(org, key) is None:
            raise not_found("template")
        before: int | None = None
        if cursor is not None:
            (before,) = decode_cursor(cursor, 1)
            if not isinstance(before, int) or isinstance(before, bool):
                raise invalid_cursor()
        rows = await repositories.template_history(self.store, org, key, before, limit)
        items = [TemplateVersion(r.version, r.created_at, r.created_by) for r in rows[:limit]]
        more = len(rows) > limit and items
        return Page(
            items=items, limit=limit, next_cursor=encode_cursor(items[-1].version) if more else None
        )

    async def create(self, member: Membership, key: str, draft: TemplateDraft) -> TemplateView:
        """A new key of the organisation (409 when it or the platform already has it)."""
        check_key(key)
        if await self.current(member.organisation_id, key) is not None:
            raise Conflict(
                "A template with this key exists; change it with PUT.", code="template_exists"
            )
        checked = await self.checked(member.organisation_id, draft)
        return await self._write(member, key, checked, version=1)

    async def save(self, member: Membership, key: str, draft: TemplateDraft) -> TemplateView:
        """A new version of an existing key (a platform key gets the organisation's
        first own version)."""
        check_key(key, source="path")
        existing = await self.current(member.organisation_id, key)
        if existing is None:
            raise not_found("template")
        checked = await self.checked(member.organisation_id, draft)
        return await self._write(member, key, checked, version=existing.version + 1)

    async def _write(
        self, member: Membership, key: str, draft: TemplateDraft, *, version: int
    ) -> TemplateView:
        row = Template(
            organisation_id=member.organisation_id,
            key=key,
            version=version,
            category=draft.category,
            description=draft.description,
            variables=list(draft.variables),
            sample=dict(draft.sample),
            channels=draft.channels,
            created_at=self.clock(),
            created_by=member.user_id,
        )
        try:
            async with self.store.uow() as uow:
                uow.session.add(row)
                await uow.session.flush()
                uow.publish(TemplateSaved(key=key, version=version))
                await uow.commit()
        except IntegrityError:
            raise Conflict(
                "The template was changed at the same time; load it and save again.",
                code="template_changed",
            ) from None
        return _view(row)

    async def preview(
        self,
        member: Membership,
        key: str,
        payload: Mapping[str, Any] | None,
        locale: str | None,
    ) -> Preview:
        """Every channel rendered with the sample data (``payload`` values replace
        sample values of the same name)."""
        template = await self.get(member, key, None)
        if locale is not None:
            check_locale(locale, "locale")
        values = sample_values(template.variables, {**template.sample, **(payload or {})})
        out: dict[str, Rendered] = {}
        for channel in template.channels:
            rendered = render_channel(template.channels, channel, [locale], values)
            if rendered is not None:
                out[channel] = rendered
        return Preview(channels=out)
