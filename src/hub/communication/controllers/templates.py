"""/notification-templates: the organisation's templates (the platform's, overridden by
its own), their versions and previews. ``communication.templates.manage`` throughout."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter

from hub.communication.domain.permissions import TEMPLATES_MANAGE
from hub.communication.domain.templates import TemplateDraft
from hub.communication.schemas import (
    PreviewIn,
    PreviewOut,
    RenderedOut,
    TemplateBody,
    TemplateIn,
    TemplateOut,
    TemplateSummaryOut,
    TemplateVersionOut,
)
from hub.communication.services.templates import TemplateService
from hub.identity.api import Membership
from hub.kernel.openapi import problems
from hub.kernel.pagination import DEFAULT_LIMIT, Page
from hub.kernel.tenancy import permission
from hub.kernel.web import BEARER_OR_KEY, Cursor, Limit, page_as, to_schema

OrganisationQuery = Annotated[uuid.UUID, QueryParameter(name="organisationId")]
Key = Annotated[str, PathParameter(max_length=100)]
_MANAGE = [permission(TEMPLATES_MANAGE)]


def _draft(body: TemplateBody | TemplateIn) -> TemplateDraft:
    return TemplateDraft(
        category=body.category,
        description=body.description,
        variables=tuple(body.variables),
        sample=dict(body.sample),
        channels={c: {loc: dict(p) for loc, p in v.items()} for c, v in body.channels.items()},
    )


class TemplateController(Controller):
    path = "/notification-templates"
    tags = ["Communication: templates"]
    security = BEARER_OR_KEY

    @get(operation_id="listNotificationTemplates", summary="Templates by key", guards=_MANAGE)
    async def list_templates(
        self,
        membership: NamedDependency[Membership],
        notification_templates: NamedDependency[TemplateService],
        organisation_id: OrganisationQuery,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[TemplateSummaryOut]:
        page = await notification_templates.list(membership, limit, cursor)
        return page_as(page, TemplateSummaryOut)

    @post(
        operation_id="createNotificationTemplate",
        summary="A new template of the organisation (version 1)",
        description="Checked before it is stored: a part that does not parse, uses an "
        "undeclared variable, reaches for `_` names, or fails to render with the sample "
        "is a 422 naming it (`channels.email.en.subject`).",
        guards=_MANAGE,
        opt=problems(409, 422),
    )
    async def create_template(
        self,
        data: JSONBody[TemplateIn],
        membership: NamedDependency[Membership],
        notification_templates: NamedDependency[TemplateService],
        organisation_id: OrganisationQuery,
    ) -> TemplateOut:
        view = await notification_templates.create(membership, data.key, _draft(data))
        return to_schema(view, TemplateOut)

    @get(
        "/{key:str}",
        operation_id="getNotificationTemplate",
        summary="A template's current version (or an older one)",
        guards=_MANAGE,
        opt=problems(404, 422),
    )
    async def get_template(
        self,
        key: Key,
        membership: NamedDependency[Membership],
        notification_templates: NamedDependency[TemplateService],
        organisation_id: OrganisationQuery,
        version: Annotated[
            int | None,
            # Litestar drops a minimum of 0 from the document (falsy): stated again here
            QueryParameter(required=False, ge=0, le=2**31 - 1, schema_extra={"minimum": 0}),
        ] = None,
    ) -> TemplateOut:
        view = await notification_templates.get(membership, key, version)
        return to_schema(view, TemplateOut)

    @put(
        "/{key:str}",
        operation_id="saveNotificationTemplate",
        summary="Save a new version of a template (overrides a platform template)",
        guards=_MANAGE,
        opt=problems(404, 409, 422),
    )
    async def save_template(
        self,
        key: Key,
        data: JSONBody[TemplateBody],
        membership: NamedDependency[Membership],
        notification_templates: NamedDependency[TemplateService],
        organisation_id: OrganisationQuery,
    ) -> TemplateOut:
        view = await notification_templates.save(membership, key, _draft(data))
        return to_schema(view, TemplateOut)

    @get(
        "/{key:str}/versions",
        operation_id="listNotificationTemplateVersions",
        summary="The organisation's saved versions of a template, newest first",
        guards=_MANAGE,
        opt=problems(404, 422),
    )
    async def list_versions(
        self,
        key: Key,
        membership: NamedDependency[Membership],
        notification_templates: NamedDependency[TemplateService],
        organisation_id: OrganisationQuery,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[TemplateVersionOut]:
        page = await notification_templates.versions(membership, key, limit, cursor)
        return page_as(page, TemplateVersionOut)

    @post(
        "/{key:str}/preview",
        operation_id="previewNotificationTemplate",
        summary="Render a template with its sample data (and values given)",
        status_code=200,
        guards=_MANAGE,
        opt=problems(404, 422),
    )
    async def preview(
        self,
        key: Key,
        data: JSONBody[PreviewIn],
        membership: NamedDependency[Membership],
        notification_templates: NamedDependency[TemplateService],
        organisation_id: OrganisationQuery,
    ) -> PreviewOut:
        result = await notification_templates.preview(membership, key, data.payload, data.locale)
        return PreviewOut(
            channels={
                name: RenderedOut(locale=r.locale, parts=r.parts)
                for name, r in result.channels.items()
            }
        )
