"""/orgs/{orgId}/tags, /document-types, /custom-fields: an organisation's metadata
definitions. Reading needs content.documents.read, changing content.taxonomy.manage;
outside the organisation every route is a 404 (the kernel's ``permission()`` guard)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from hub.content.domain.access import READ, TAXONOMY_MANAGE
from hub.content.domain.matching import Matching
from hub.content.schemas import (
    CustomFieldIn,
    CustomFieldOut,
    CustomFieldPatch,
    DocumentTypeIn,
    DocumentTypeOut,
    DocumentTypePatch,
    MatchingRuleIn,
    TagDefinitionOut,
    TagIn,
    TagPatch,
)
from hub.content.services.taxonomy import TaxonomyService
from hub.identity.api import Membership
from hub.kernel.openapi import problems
from hub.kernel.pagination import DEFAULT_LIMIT, Page
from hub.kernel.tenancy import permission
from hub.kernel.web import BEARER_OR_KEY, Cursor, Limit, page_as, to_schema

_TAGS = ["Content: metadata"]


def rule_of(data: MatchingRuleIn | msgspec.UnsetType | None) -> Any:
    """The domain's rule from the wire's (``null``: no matching; unset: unchanged)."""
    if data is None or data is msgspec.UNSET:
        return data
    assert isinstance(data, MatchingRuleIn)
    return Matching(data.algorithm, data.pattern, data.case_sensitive)


class TagController(Controller):
    path = "/orgs/{org_id:uuid}/tags"
    tags = _TAGS
    security = BEARER_OR_KEY

    @get(operation_id="listTags", summary="Tags of an organisation", guards=[permission(READ)])
    async def list_tags(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        taxonomy: NamedDependency[TaxonomyService],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[TagDefinitionOut]:
        page = await taxonomy.page(membership, "tag", limit=limit, cursor=cursor)
        return page_as(page, TagDefinitionOut)

    @post(
        operation_id="createTag",
        summary="Create a tag (content.taxonomy.manage)",
        description="`parentId` nests it (5 levels at most, 422); names are unique "
        "case-insensitively (409 `name_taken`); `colour` is `#rrggbb`.",
        opt=problems(409, 422),
        guards=[permission(TAXONOMY_MANAGE)],
    )
    async def create_tag(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        data: JSONBody[TagIn],
        taxonomy: NamedDependency[TaxonomyService],
    ) -> TagDefinitionOut:
        view = await taxonomy.create_tag(
            membership,
            name=data.name,
            parent_id=data.parent_id,
            colour=data.colour,
            matching=rule_of(data.matching),
        )
        return to_schema(view, TagDefinitionOut)

    @get("/{tag_id:uuid}", operation_id="getTag", summary="One tag", guards=[permission(READ)])
    async def get_tag(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        tag_id: FromPath[uuid.UUID],
        taxonomy: NamedDependency[TaxonomyService],
    ) -> TagDefinitionOut:
        return to_schema(await taxonomy.get(membership, "tag", tag_id), TagDefinitionOut)

    @patch(
        "/{tag_id:uuid}",
        operation_id="updateTag",
        summary="Rename, move or recolour a tag (content.taxonomy.manage)",
        opt=problems(409, 422),
        guards=[permission(TAXONOMY_MANAGE)],
    )
    async def update_tag(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        tag_id: FromPath[uuid.UUID],
        data: JSONBody[TagPatch],
        taxonomy: NamedDependency[TaxonomyService],
    ) -> TagDefinitionOut:
        view = await taxonomy.update_tag(
            membership,
            tag_id,
            name=data.name,
            parent_id=data.parent_id,
            colour=data.colour,
            matching=rule_of(data.matching),
        )
        return to_schema(view, TagDefinitionOut)

    @delete(
        "/{tag_id:uuid}",
        status_code=204,
        operation_id="deleteTag",
        summary="Delete a tag; documents lose it (content.taxonomy.manage)",
        description="409 `tag_has_children` while sub-tags remain.",
        opt=problems(409),
        guards=[permission(TAXONOMY_MANAGE)],
    )
    async def delete_tag(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        tag_id: FromPath[uuid.UUID],
        taxonomy: NamedDependency[TaxonomyService],
    ) -> None:
        await taxonomy.delete_tag(membership, tag_id)


class DocumentTypeController(Controller):
    path = "/orgs/{org_id:uuid}/document-types"
    tags = _TAGS
    security = BEARER_OR_KEY

    @get(
        operation_id="listDocumentTypes",
        summary="Document types of an organisation",
        guards=[permission(READ)],
    )
    async def list_types(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        taxonomy: NamedDependency[TaxonomyService],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[DocumentTypeOut]:
        page = await taxonomy.page(membership, "type", limit=limit, cursor=cursor)
        return page_as(page, DocumentTypeOut)

    @post(
        operation_id="createDocumentType",
        summary="Create a document type (content.taxonomy.manage)",
        description="`auditReads: true`: every read of a document of this type (metadata, "
        "versions, file, preview, permissions, notes, insights) is recorded in the audit "
        "trail as `content.document.read` (actor, document, `what`, correlation id).",
        opt=problems(409, 422),
        guards=[permission(TAXONOMY_MANAGE)],
    )
    async def create_type(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        data: JSONBody[DocumentTypeIn],
        taxonomy: NamedDependency[TaxonomyService],
    ) -> DocumentTypeOut:
        view = await taxonomy.create_type(
            membership,
            name=data.name,
            description=data.description,
            audit_reads=data.audit_reads,
            matching=rule_of(data.matching),
        )
        return to_schema(view, DocumentTypeOut)

    @get(
        "/{type_id:uuid}",
        operation_id="getDocumentType",
        summary="One document type",
        guards=[permission(READ)],
    )
    async def get_type(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        type_id: FromPath[uuid.UUID],
        taxonomy: NamedDependency[TaxonomyService],
    ) -> DocumentTypeOut:
        return to_schema(await taxonomy.get(membership, "type", type_id), DocumentTypeOut)

    @patch(
        "/{type_id:uuid}",
        operation_id="updateDocumentType",
        summary="Rename or describe a document type (content.taxonomy.manage)",
        opt=problems(409, 422),
        guards=[permission(TAXONOMY_MANAGE)],
    )
    async def update_type(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        type_id: FromPath[uuid.UUID],
        data: JSONBody[DocumentTypePatch],
        taxonomy: NamedDependency[TaxonomyService],
    ) -> DocumentTypeOut:
        view = await taxonomy.update_type(
            membership,
            type_id,
            name=data.name,
            description=data.description,
            audit_reads=data.audit_reads,
            matching=rule_of(data.matching),
        )
        return to_schema(view, DocumentTypeOut)

    @delete(
        "/{type_id:uuid}",
        status_code=204,
        operation_id="deleteDocumentType",
        summary="Delete a document type; documents of it lose their type",
        guards=[permission(TAXONOMY_MANAGE)],
    )
    async def delete_type(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        type_id: FromPath[uuid.UUID],
        taxonomy: NamedDependency[TaxonomyService],
    ) -> None:
        await taxonomy.delete_type(membership, type_id)


class CustomFieldController(Controller):
    path = "/orgs/{org_id:uuid}/custom-fields"
    tags = _TAGS
    security = BEARER_OR_KEY

    @get(
        operation_id="listCustomFields",
        summary="Custom-field definitions of an organisation",
        guards=[permission(READ)],
    )
    async def list_fields(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        taxonomy: NamedDependency[TaxonomyService],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[CustomFieldOut]:
        page = await taxonomy.page(membership, "field", limit=limit, cursor=cursor)
        return page_as(page, CustomFieldOut)

    @post(
        operation_id="createCustomField",
        summary="Define a typed custom field (content.taxonomy.manage)",
        description="`key` names it in documents' `customFields` (409 `key_taken`); "
        "`options` only for `select`.",
        opt=problems(409, 422),
        guards=[permission(TAXONOMY_MANAGE)],
    )
    async def create_field(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        data: JSONBody[CustomFieldIn],
        taxonomy: NamedDependency[TaxonomyService],
    ) -> CustomFieldOut:
        view = await taxonomy.create_field(
            membership, key=data.key, name=data.name, type=data.type, options=data.options
        )
        return to_schema(view, CustomFieldOut)

    @get(
        "/{field_id:uuid}",
        operation_id="getCustomField",
        summary="One custom-field definition",
        guards=[permission(READ)],
    )
    async def get_field(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        field_id: FromPath[uuid.UUID],
        taxonomy: NamedDependency[TaxonomyService],
    ) -> CustomFieldOut:
        return to_schema(await taxonomy.get(membership, "field", field_id), CustomFieldOut)

    @patch(
        "/{field_id:uuid}",
        operation_id="updateCustomField",
        summary="Rename a custom field or change its options (content.taxonomy.manage)",
        description="The type is fixed: another `type` is a 422 `field_type_immutable`.",
        opt=problems(422),
        guards=[permission(TAXONOMY_MANAGE)],
    )
    async def update_field(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        field_id: FromPath[uuid.UUID],
        data: JSONBody[CustomFieldPatch],
        taxonomy: NamedDependency[TaxonomyService],
    ) -> CustomFieldOut:
        view = await taxonomy.update_field(
            membership, field_id, name=data.name, options=data.options, type=data.type
        )
        return to_schema(view, CustomFieldOut)

    @delete(
        "/{field_id:uuid}",
        status_code=204,
        operation_id="deleteCustomField",
        summary="Delete a custom field; documents lose its values",
        guards=[permission(TAXONOMY_MANAGE)],
    )
    async def delete_field(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        field_id: FromPath[uuid.UUID],
        taxonomy: NamedDependency[TaxonomyService],
    ) -> None:
        await taxonomy.delete_field(membership, field_id)
