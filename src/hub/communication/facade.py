"""In-process implementation of :class:`hub.communication.api.CommunicationApi`."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from hub.communication import repositories
from hub.communication.api import (
    Channel,
    CommunicationApi,
    CommunicationConfigApi,
    NotificationDefaults,
    Priority,
    TemplateSetting,
)
from hub.communication.domain.digests import check_digests
from hub.communication.domain.platform_templates import PLATFORM_TEMPLATES
from hub.communication.domain.preferences import check_switches
from hub.communication.domain.templates import TemplateDraft, check_draft, check_key, check_locale
from hub.communication.services.preferences import PreferenceService
from hub.communication.services.sending import Recipients, SendRequest, SendService
from hub.communication.services.templates import TemplateService
from hub.identity.api import Membership, SettingChange
from hub.kernel.errors import AppError
from hub.kernel.store import Store


class CommunicationFacade(CommunicationApi):
    def __init__(self, sending: SendService) -> None:
        self.sending = sending

    async def notify(
        self,
        *,
        organisation_id: uuid.UUID,
        template_key: str,
        user_ids: Sequence[uuid.UUID],
        payload: Mapping[str, Any],
        category: str | None = None,
        priority: Priority = "normal",
        channels: Sequence[Channel] | None = None,
        sender_id: uuid.UUID | None = None,
        escalate_after_minutes: int | None = None,
    ) -> uuid.UUID:
        request = SendRequest(
            organisation_id=organisation_id,
            template_key=template_key,
            recipients=Recipients(user_ids=list(user_ids)),
            payload=payload,
            category=category,
            priority=priority,
            channels=channels,
            escalate_after_minutes=escalate_after_minutes,
        )
        async with self.sending.store.uow() as uow:
            sent = await self.sending.create_in(uow, request, sender_id=sender_id)
            await uow.commit()
        return sent.id


def _draft(template: TemplateSetting) -> TemplateDraft:
    return TemplateDraft(
        category=template.category,
        variables=tuple(template.variables),
        sample=dict(template.sample),
        channels={c: {loc: dict(p) for loc, p in v.items()} for c, v in template.channels.items()},
        description=template.description,
    )


def _problems(path: str, check: Any) -> list[tuple[str, str]]:
    try:
        check()
    except AppError as exc:
        if not exc.errors:
            return [(path, exc.detail)]
        return [(f"{path}.{e.field}", e.message) for e in exc.errors]
    return []


class CommunicationConfigFacade(CommunicationConfigApi):
    """Templates and organisation defaults as configuration, through
    :class:`TemplateService` and :class:`PreferenceService`."""

    def __init__(
        self, store: Store, templates: TemplateService, preferences: PreferenceService
    ) -> None:
        self.store, self.templates, self.preferences = store, templates, preferences

    async def template_problems(
        self, template: TemplateSetting, path: str
    ) -> list[tuple[str, str]]:
        return _problems(path, lambda: check_key(template.key)) + _problems(
            path, lambda: check_draft(_draft(template))
        )

    async def defaults_problems(
        self, defaults: NotificationDefaults, path: str
    ) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        if defaults.default_locale is not None:
            locale = defaults.default_locale
            found += _problems(path, lambda: check_locale(locale, "defaultLocale"))
        found += _problems(path, lambda: check_switches(defaults.channels, "channels"))
        found += _problems(path, lambda: check_digests(defaults.digests, "digests"))
        return found

    async def organisation_templates(self, organisation_id: uuid.UUID) -> list[TemplateSetting]:
        return [
            TemplateSetting(
                key=row.key,
                category=row.category,
                description=row.description,
                variables=tuple(row.variables),
                sample=dict(row.sample),
                channels=dict(row.channels),
            )
            for row in await repositories.latest_templates(self.store, organisation_id)
        ]

    async def put_template(
        self, organisation_id: uuid.UUID, template: TemplateSetting, *, actor_id: uuid.UUID
    ) -> SettingChange:
        member = Membership(organisation_id=organisation_id, user_id=actor_id, roles=(), grants=())
        current = await repositories.template_version(self.store, organisation_id, template.key)
        draft = check_draft(_draft(template))
        if current is None:
            if template.key in PLATFORM_TEMPLATES:
                await self.templates.save(member, template.key, draft)
            else:
                await self.templates.create(member, template.key, draft)
            return "created"
        now = TemplateDraft(
            category=current.category,
            variables=tuple(current.variables),
            sample=dict(current.sample),
            channels=dict(current.channels),
            description=current.description,
        )
        if now == draft:
            return "unchanged"
        await self.templates.save(member, template.key, draft)
        return "updated"

    async def notification_defaults(self, organisation_id: uuid.UUID) -> NotificationDefaults:
        row = await repositories.organisation_settings(self.store, organisation_id)
        if row is None:
            return NotificationDefaults()
        return NotificationDefaults(
            default_locale=row.default_locale,
            channels=dict(row.channels),
            digests=dict(row.digests),
        )

    async def put_notification_defaults(
        self, organisation_id: uuid.UUID, defaults: NotificationDefaults, *, actor_id: uuid.UUID
    ) -> SettingChange:
        member = Membership(organisation_id=organisation_id, user_id=actor_id, roles=(), grants=())
        if await self.notification_defaults(organisation_id) == defaults:
            return "unchanged"
        await self.preferences.set_organisation(
            member, defaults.default_locale, defaults.channels, defaults.digests
        )
        return "updated"
