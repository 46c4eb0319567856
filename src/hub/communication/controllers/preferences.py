"""/notifications/preferences (the signed-in person's) and /notifications/defaults (an
organisation's, ``communication.settings.manage``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from hub.communication.deps import people_only
from hub.communication.domain.categories import CATEGORIES
from hub.communication.domain.permissions import SETTINGS_MANAGE
from hub.communication.schemas import (
    CategoryOut,
    OrganisationPreferencesIn,
    OrganisationPreferencesOut,
    QuietHoursIO,
    UserPreferencesIn,
    UserPreferencesOut,
)
from hub.communication.services.preferences import (
    OrganisationPreferences,
    PreferenceService,
    UserPreferences,
)
from hub.identity.api import Membership
from hub.kernel.openapi import problems
from hub.kernel.security import Principal
from hub.kernel.tenancy import permission
from hub.kernel.web import BEARER, BEARER_OR_KEY

OrganisationQuery = Annotated[uuid.UUID, QueryParameter(name="organisationId")]


def _switches(channels: dict[str, dict[str, bool]]) -> dict[str, dict[str, bool]]:
    return {category: dict(v) for category, v in channels.items()}


def _user_out(prefs: UserPreferences, own: list[Any]) -> UserPreferencesOut:
    """``own``: the categories of the caller's organisations (rows)."""
    quiet = prefs.quiet_hours
    return UserPreferencesOut(
        locale=prefs.locale,
        time_zone=prefs.time_zone,
        quiet_hours=QuietHoursIO(start=quiet[0], end=quiet[1]) if quiet else None,
        channels=prefs.channels,
        digests=prefs.digests,
        categories=[
            CategoryOut(key=c.key, description=c.description, defaults=dict(c.defaults), name=c.key)
            for c in CATEGORIES.values()
        ]
        + [
            CategoryOut(
                key=r.key,
                description=r.description,
                defaults=dict(r.defaults),
                name=r.name,
                mandatory=r.mandatory,
                organisation_id=r.organisation_id,
            )
            for r in own
        ],
    )


def _org_out(prefs: OrganisationPreferences) -> OrganisationPreferencesOut:
    return OrganisationPreferencesOut(
        default_locale=prefs.default_locale, channels=prefs.channels, digests=prefs.digests
    )


class PreferencesController(Controller):
    path = "/notifications/preferences"
    tags = ["Communication: preferences"]
    security = BEARER
    guards = [people_only]

    @get(operation_id="getNotificationPreferences", summary="The caller's notification preferences")
    async def get_preferences(
        self, principal: NamedDependency[Principal], preferences: NamedDependency[PreferenceService]
    ) -> UserPreferencesOut:
        own = await preferences.categories.of_user(principal.user_id)
        return _user_out(await preferences.of_user(principal.user_id), own)

    @put(
        operation_id="setNotificationPreferences",
        summary="Replace the caller's notification preferences",
        description="`channels` holds overrides (category -> channel -> on/off); a category "
        "or channel left out follows the organisation's default. `digests` batches a "
        "category's e-mail into one per `hourly` or `daily` window (`off`: one e-mail each; "
        "left out: the organisation's default); critical notifications are never digested. "
        "Quiet hours defer non-critical e-mail (digests too) to their end, in `timeZone` "
        "(UTC when unset).",
        opt=problems(422),
    )
    async def set_preferences(
        self,
        data: JSONBody[UserPreferencesIn],
        principal: NamedDependency[Principal],
        preferences: NamedDependency[PreferenceService],
    ) -> UserPreferencesOut:
        quiet = (data.quiet_hours.start, data.quiet_hours.end) if data.quiet_hours else None
        prefs = UserPreferences(
            locale=data.locale,
            time_zone=data.time_zone,
            quiet_hours=quiet,
            channels=_switches(data.channels),
            digests=dict(data.digests),
        )
        saved = await preferences.set_user(principal.user_id, prefs)
        return _user_out(saved, await preferences.categories.of_user(principal.user_id))


class DefaultsController(Controller):
    path = "/notifications/defaults"
    tags = ["Communication: preferences"]
    security = BEARER_OR_KEY

    @get(
        operation_id="getNotificationDefaults",
        summary="The organisation's default channels per category and default locale",
        guards=[permission(SETTINGS_MANAGE)],
    )
    async def get_defaults(
        self,
        membership: NamedDependency[Membership],
        preferences: NamedDependency[PreferenceService],
        organisation_id: OrganisationQuery,
    ) -> OrganisationPreferencesOut:
        return _org_out(await preferences.of_organisation(membership))

    @put(
        operation_id="setNotificationDefaults",
        summary="Replace the organisation's notification defaults",
        guards=[permission(SETTINGS_MANAGE)],
        opt=problems(422),
    )
    async def set_defaults(
        self,
        data: JSONBody[OrganisationPreferencesIn],
        membership: NamedDependency[Membership],
        preferences: NamedDependency[PreferenceService],
        organisation_id: OrganisationQuery,
    ) -> OrganisationPreferencesOut:
        saved = await preferences.set_organisation(
            membership, data.default_locale, _switches(data.channels), dict(data.digests)
        )
        return _org_out(saved)
