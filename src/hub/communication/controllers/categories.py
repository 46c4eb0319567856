"""/orgs/{orgId}/notification-categories: the notification categories an organisation
defines beside the platform's. Any member reads them (they file the member's
notifications and appear in their preferences); defining, changing and removing one needs
``communication.settings.manage``. Outside the organisation every route is a 404 (the
kernel's ``permission()`` guard); a key the organisation has not defined is a 404 too."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from msgspec import UNSET, Meta, UnsetType

from hub.communication.domain.org_categories import (
    KEY_PATTERN,
    MAX_CATEGORIES,
    MAX_DESCRIPTION,
    MAX_KEY,
    MAX_NAME,
    CategoryDraft,
)
from hub.communication.domain.permissions import SETTINGS_MANAGE
from hub.communication.services.org_categories import OrganisationCategories
from hub.kernel.openapi import problems
from hub.kernel.structs import PatchSchema, Schema
from hub.kernel.tenancy import permission
from hub.kernel.web import BEARER_OR_KEY, to_schema

CategoryKey = Annotated[str, Meta(pattern=KEY_PATTERN, min_length=1, max_length=MAX_KEY)]
CategoryName = Annotated[str, Meta(min_length=1, max_length=MAX_NAME)]
CategoryDescription = Annotated[str, Meta(max_length=MAX_DESCRIPTION)]
#: channel (``in_app``, ``email``, ``chat``, ``sms``, ``push``) -> on/off; unknown: 422.
CategoryDefaults = Annotated[dict[str, bool], Meta(max_length=5)]


class OrganisationCategoryIn(Schema):
    key: CategoryKey
    name: CategoryName
    description: CategoryDescription = ""
    defaults: CategoryDefaults = {}
    #: Members cannot turn it off (their overrides are ignored).
    mandatory: bool = False

    example: ClassVar[dict[str, Any]] = {
        "key": "consultation-alerts",
        "name": "Consultation alerts",
        "description": "A consultation you follow is published or clarified",
        "defaults": {"in_app": True, "email": True},
    }


class OrganisationCategoryPatch(PatchSchema):
    name: CategoryName | UnsetType = UNSET
    description: CategoryDescription | UnsetType = UNSET
    defaults: CategoryDefaults | UnsetType = UNSET
    mandatory: bool | UnsetType = UNSET


class OrganisationCategoryOut(Schema):
    id: uuid.UUID
    organisation_id: uuid.UUID
    key: str
    name: str
    description: str
    defaults: dict[str, bool]
    mandatory: bool
    created_at: datetime
    updated_at: datetime


class OrganisationCategoryList(Schema):
    items: list[OrganisationCategoryOut]


def _out(view: dict[str, Any]) -> OrganisationCategoryOut:
    return to_schema(view, OrganisationCategoryOut)


_RULES = (
    "A category files the organisation's notifications like the platform's (`security`, "
    "`documents`, `workflow.tasks`, `messages`, `general`): templates, `POST "
    "/notifications`, workflow `notify` actions (`category`), the organisation's defaults "
    "and members' preferences name it by `key`. `key`: lower-case words joined by hyphens "
    "(`consultation-alerts`), never a platform key (422 `category_reserved`); `defaults`: "
    "channel -> on/off (`in_app`, `email`, `chat`, `sms`, `push`; left out: off); `mandatory`: "
    f"members' opt-outs are ignored. At most {MAX_CATEGORIES} per organisation."
)


class CategoryController(Controller):
    path = "/orgs/{org_id:uuid}/notification-categories"
    tags = ["Communication: preferences"]
    security = BEARER_OR_KEY

    @get(
        operation_id="listNotificationCategories",
        summary="The organisation's own notification categories, by key",
        guards=[permission(None)],
    )
    async def list_categories(
        self,
        org_id: FromPath[uuid.UUID],
        notification_categories: NamedDependency[OrganisationCategories],
    ) -> OrganisationCategoryList:
        found = await notification_categories.list(org_id)
        return OrganisationCategoryList(items=[_out(v) for v in found])

    @post(
        operation_id="createNotificationCategory",
        summary="Define a notification category (communication.settings.manage)",
        description=_RULES,
        opt=problems(409, 422),
        guards=[permission(SETTINGS_MANAGE)],
    )
    async def create_category(
        self,
        org_id: FromPath[uuid.UUID],
        data: JSONBody[OrganisationCategoryIn],
        notification_categories: NamedDependency[OrganisationCategories],
    ) -> OrganisationCategoryOut:
        draft = CategoryDraft(
            key=data.key,
            name=data.name,
            description=data.description,
            defaults=dict(data.defaults),
            mandatory=data.mandatory,
        )
        return _out(await notification_categories.create(org_id, draft))

    @get(
        "/{key:str}",
        operation_id="getNotificationCategory",
        summary="One of the organisation's notification categories",
        opt=problems(404),
        guards=[permission(None)],
    )
    async def get_category(
        self,
        org_id: FromPath[uuid.UUID],
        key: FromPath[str],
        notification_categories: NamedDependency[OrganisationCategories],
    ) -> OrganisationCategoryOut:
        return _out(await notification_categories.get(org_id, key))

    @patch(
        "/{key:str}",
        operation_id="updateNotificationCategory",
        summary="Change a notification category (communication.settings.manage)",
        description="Only the fields sent change; the key never does. " + _RULES,
        opt=problems(404, 422),
        guards=[permission(SETTINGS_MANAGE)],
    )
    async def update_category(
        self,
        org_id: FromPath[uuid.UUID],
        key: FromPath[str],
        data: JSONBody[OrganisationCategoryPatch],
        notification_categories: NamedDependency[OrganisationCategories],
    ) -> OrganisationCategoryOut:
        changes = data.sent()
        return _out(await notification_categories.update(org_id, key, changes))

    @delete(
        "/{key:str}",
        status_code=204,
        operation_id="deleteNotificationCategory",
        summary="Remove a notification category (communication.settings.manage)",
        description="409 `category_in_use` while a template of the organisation files its "
        "notifications under it (change the template first). Notifications already sent "
        "keep the key; members' preferences for it stay (and apply again if it returns).",
        opt=problems(404, 409),
        guards=[permission(SETTINGS_MANAGE)],
    )
    async def delete_category(
        self,
        org_id: FromPath[uuid.UUID],
        key: FromPath[str],
        notification_categories: NamedDependency[OrganisationCategories],
    ) -> None:
        await notification_categories.delete(org_id, key)
