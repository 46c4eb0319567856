"""In-process implementation of :class:`hub.communication.api.CommunicationApi`."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from hub.communication import repositories
from hub.communication.api import (
    CategorySetting,
    Channel,
    CommunicationApi,
    CommunicationConfigApi,
    MessagingRuleSetting,
    MessagingSetting,
    NotificationDefaults,
    Priority,
    TemplateSetting,
    TopicSetting,
)
from hub.communication.domain.categories import Category, Known
from hub.communication.domain.digests import check_digests
from hub.communication.domain.messaging import check_rules, role_key
from hub.communication.domain.org_categories import ORGANISATION, CategoryDraft, known_with
from hub.communication.domain.org_categories import check_draft as check_category_draft
from hub.communication.domain.platform_templates import PLATFORM_TEMPLATES
from hub.communication.domain.preferences import check_switches
from hub.communication.domain.templates import TemplateDraft, check_draft, check_key, check_locale
from hub.communication.domain.topics import TopicDraft, check_topic
from hub.communication.domain.topics import check_key as check_topic_key
from hub.communication.services.messaging import MessagingPolicies
from hub.communication.services.org_categories import OrganisationCategories
from hub.communication.services.preferences import PreferenceService
from hub.communication.services.sending import Recipients, SendRequest, SendService
from hub.communication.services.templates import TemplateService
from hub.communication.services.topics import Topics
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
        topics: Sequence[str] | None = None,
    ) -> uuid.UUID:
        request = SendRequest(
            organisation_id=organisation_id,
            template_key=template_key,
            recipients=Recipients(
                user_ids=list(user_ids), topics=list(topics or ()), unknown_topics="ignore"
            ),
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

    async def topic_keys(self, organisation_id: uuid.UUID) -> list[str]:
        return await self.sending.topics.keys(organisation_id)


def _draft(template: TemplateSetting) -> TemplateDraft:
    return TemplateDraft(
        category=template.category,
        variables=tuple(template.variables),
        sample=dict(template.sample),
        channels={c: {loc: dict(p) for loc, p in v.items()} for c, v in template.channels.items()},
        description=template.description,
    )


def _topic_draft(topic: TopicSetting) -> TopicDraft:
    """The setting as a draft, its key checked here (the HTTP schema checks it there)."""
    return TopicDraft(check_topic_key(topic.key), topic.name, topic.description)


def _known(keys: Sequence[str]) -> Known:
    """The platform's categories and the keys a configuration defines beside them."""
    return known_with(Category(k, "", {}, ORGANISATION) for k in keys)


def _category_draft(category: CategorySetting) -> CategoryDraft:
    return CategoryDraft(
        key=category.key,
        name=category.name,
        description=category.description,
        defaults=dict(category.defaults),
        mandatory=category.mandatory,
    )


def _rules(policy: MessagingSetting) -> list[tuple[str, Sequence[str]]]:
    return [(rule.role, rule.may_message) for rule in policy.rules]


def _problems(path: str, check: Any) -> list[tuple[str, str]]:
    try:
        check()
    except AppError as exc:
        if not exc.errors:
            return [(path, exc.detail)]
        return [(f"{path}.{e.field}", e.message) for e in exc.errors]
    return []


class CommunicationConfigFacade(CommunicationConfigApi):
    """Templates, organisation categories and defaults as configuration, through
    :class:`TemplateService`, :class:`OrganisationCategories` and
    :class:`PreferenceService`."""

    def __init__(
        self,
        store: Store,
        templates: TemplateService,
        preferences: PreferenceService,
        categories: OrganisationCategories,
        messaging: MessagingPolicies,
        topics: Topics,
    ) -> None:
        self.store, self.templates, self.preferences = store, templates, preferences
        self.categories, self.messaging, self.topics = categories, messaging, topics

    async def template_problems(
        self, template: TemplateSetting, path: str, categories: tuple[str, ...] = ()
    ) -> list[tuple[str, str]]:
        known = _known(categories)
        return _problems(path, lambda: check_key(template.key)) + _problems(
            path, lambda: check_draft(_draft(template), known)
        )

    async def defaults_problems(
        self, defaults: NotificationDefaults, path: str, categories: tuple[str, ...] = ()
    ) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        known = _known(categories)
        if defaults.default_locale is not None:
            locale = defaults.default_locale
            found += _problems(path, lambda: check_locale(locale, "defaultLocale"))
        found += _problems(path, lambda: check_switches(defaults.channels, "channels", known))
        found += _problems(path, lambda: check_digests(defaults.digests, "digests", known))
        return found

    async def category_problems(
        self, category: CategorySetting, path: str
    ) -> list[tuple[str, str]]:
        return _problems(path, lambda: check_category_draft(_category_draft(category)))

    async def organisation_categories(self, organisation_id: uuid.UUID) -> list[CategorySetting]:
        return [
            CategorySetting(
                key=row.key,
                name=row.name,
                description=row.description,
                defaults=dict(row.defaults),
                mandatory=row.mandatory,
            )
            for row in await self.categories.rows([organisation_id])
        ]

    async def put_category(
        self, organisation_id: uuid.UUID, category: CategorySetting, *, actor_id: uuid.UUID
    ) -> SettingChange:
        draft = check_category_draft(_category_draft(category))
        existing = [r for r in await self.categories.rows([organisation_id]) if r.key == draft.key]
        if not existing:
            await self.categories.create(organisation_id, draft)
            return "created"
        row = existing[0]
        wanted = (draft.name, draft.description, draft.defaults, draft.mandatory)
        if wanted == (row.name, row.description, dict(row.defaults), row.mandatory):
            return "unchanged"
        await self.categories.update(
            organisation_id,
            draft.key,
            {
                "name": draft.name,
                "description": draft.description,
                "defaults": draft.defaults,
                "mandatory": draft.mandatory,
            },
        )
        return "updated"

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
        draft = await self.templates.checked(organisation_id, _draft(template))
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

    async def topic_problems(self, topic: TopicSetting, path: str) -> list[tuple[str, str]]:
        return _problems(path, lambda: check_topic(_topic_draft(topic)))

    async def organisation_topics(self, organisation_id: uuid.UUID) -> list[TopicSetting]:
        return [
            TopicSetting(key=r.key, name=r.name, description=r.description)
            for r in await self.topics.rows(organisation_id)
        ]

    async def put_topic(
        self, organisation_id: uuid.UUID, topic: TopicSetting, *, actor_id: uuid.UUID
    ) -> SettingChange:
        draft = check_topic(_topic_draft(topic))
        found = await self.topics.rows(organisation_id, key=draft.key)
        existing = found[0] if found else None
        if existing is None:
            await self.topics.create(organisation_id, draft, actor_id)
            return "created"
        if (draft.name, draft.description) == (existing.name, existing.description):
            return "unchanged"
        changes = {"name": draft.name, "description": draft.description}
        await self.topics.update(organisation_id, draft.key, changes, actor_id)
        return "updated"

    async def messaging_problems(
        self, policy: MessagingSetting, path: str, roles: tuple[str, ...]
    ) -> list[tuple[str, str]]:
        known = {role_key(r) for r in roles}
        return _problems(path, lambda: check_rules(_rules(policy), known))

    async def messaging_policy(self, organisation_id: uuid.UUID) -> MessagingSetting:
        rules = await self.messaging.rules(organisation_id)
        return MessagingSetting(
            rules=tuple(
                MessagingRuleSetting(role=role, may_message=tuple(targets))
                for role, targets in rules.items()
            )
        )

    async def put_messaging_policy(
        self, organisation_id: uuid.UUID, policy: MessagingSetting, *, actor_id: uuid.UUID
    ) -> SettingChange:
        before = await self.messaging.rules(organisation_id)
        after = await self.messaging.replace(organisation_id, _rules(policy))
        if after == before:
            return "unchanged"
        return "updated" if before else "created"

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
