"""Preferences: a user's own (overrides per category and channel, digest periods per
category, locale, time zone, quiet hours; the same in every organisation) and an
organisation's defaults (channels and digest periods per category, default locale). Each
PUT replaces the whole set (validated first)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.dialects.postgresql import insert

from hub.communication import repositories
from hub.communication.domain.digests import check_digests
from hub.communication.domain.preferences import (
    check_quiet_hours,
    check_switches,
    check_time_zone,
)
from hub.communication.domain.templates import check_locale
from hub.communication.services.org_categories import OrganisationCategories
from hub.identity.api import Membership
from hub.kernel.clock import Clock
from hub.kernel.store import Store


@dataclass(frozen=True)
class UserPreferences:
    locale: str | None = None
    time_zone: str | None = None
    #: ``(start, end)`` as ``HH:MM``, or None.
    quiet_hours: tuple[str, str] | None = None
    channels: dict[str, dict[str, bool]] = field(default_factory=dict)
    #: category -> "off" | "hourly" | "daily" (absent: the organisation's default)
    digests: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OrganisationPreferences:
    default_locale: str | None = None
    channels: dict[str, dict[str, bool]] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)


class PreferenceService:
    def __init__(self, store: Store, clock: Clock, categories: OrganisationCategories) -> None:
        self.store, self.clock, self.categories = store, clock, categories

    async def of_user(self, user_id: uuid.UUID) -> UserPreferences:
        row = (await repositories.user_settings(self.store, [user_id])).get(user_id)
        if row is None:
            return UserPreferences()
        quiet = (row.quiet_start, row.quiet_end) if row.quiet_start and row.quiet_end else None
        return UserPreferences(
            row.locale, row.time_zone, quiet, dict(row.channels), dict(row.digests)
        )

    async def set_user(self, user_id: uuid.UUID, prefs: UserPreferences) -> UserPreferences:
        if prefs.locale is not None:
            check_locale(prefs.locale, "locale")
        check_time_zone(prefs.time_zone)
        if prefs.quiet_hours is not None:
            check_quiet_hours(*prefs.quiet_hours)
        # the platform's categories and those of every organisation the user belongs to
        known = await self.categories.known_to_user(user_id)
        channels = check_switches(prefs.channels, "channels", known)
        digests = check_digests(prefs.digests, "digests", known)
        start, end = prefs.quiet_hours or (None, None)
        values = {
            "locale": prefs.locale,
            "time_zone": prefs.time_zone,
            "quiet_start": start,
            "quiet_end": end,
            "channels": channels,
            "digests": digests,
            "updated_at": self.clock(),
        }
        t = repositories.user_settings_t
        statement = insert(t).values(user_id=user_id, **values)
        async with self.store.uow() as uow:
            await uow.session.execute(
                statement.on_conflict_do_update(index_elements=[t.c.user_id], set_=values)
            )
            await uow.commit()
        return await self.of_user(user_id)

    async def of_organisation(self, member: Membership) -> OrganisationPreferences:
        row = await repositories.organisation_settings(self.store, member.organisation_id)
        if row is None:
            return OrganisationPreferences()
        return OrganisationPreferences(row.default_locale, dict(row.channels), dict(row.digests))

    async def set_organisation(
        self,
        member: Membership,
        default_locale: str | None,
        channels: Mapping[str, Mapping[str, bool]],
        digests: Mapping[str, str] | None = None,
    ) -> OrganisationPreferences:
        if default_locale is not None:
            check_locale(default_locale, "defaultLocale")
        known = await self.categories.known(member.organisation_id)
        values = {
            "default_locale": default_locale,
            "channels": check_switches(channels, "channels", known),
            "digests": check_digests(digests or {}, "digests", known),
            "updated_at": self.clock(),
        }
        t = repositories.org_settings_t
        statement = insert(t).values(organisation_id=member.organisation_id, **values)
        async with self.store.uow() as uow:
            await uow.session.execute(
                statement.on_conflict_do_update(index_elements=[t.c.organisation_id], set_=values)
            )
            await uow.commit()
        return await self.of_organisation(member)
