"""/orgs/{orgId}/saved-views: members' named document queries, and running one.

Any member who may read documents keeps their own views; sharing one with the
organisation needs content.taxonomy.manage. Running a view applies the reader's own
permissions (``services.saved_views``)."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from hub.content.controllers.documents import FacetsQuery, document_page
from hub.content.domain.access import READ
from hub.content.domain.documents import split_list
from hub.content.domain.saved_views import ViewFilters, make_filters
from hub.content.schemas import (
    DocumentPage,
    SavedViewFilters,
    SavedViewIn,
    SavedViewOut,
    SavedViewPatch,
)
from hub.content.services.saved_views import SavedViewService
from hub.identity.api import Membership
from hub.kernel.openapi import problems
from hub.kernel.pagination import DEFAULT_LIMIT, Page
from hub.kernel.tenancy import permission
from hub.kernel.web import BEARER_OR_KEY, Cursor, Limit, page_as, to_schema

_CHECKED = (
    "Tags and the document type must be the organisation's, each field condition must "
    "fit its field (422 naming `filters.<field>`); `createdFrom` after `createdTo` is a 422."
)


def _filters(data: SavedViewFilters) -> ViewFilters:
    return make_filters(
        tags=data.tags,
        tag_trees=data.tag_trees,
        document_type_id=data.document_type_id,
        owner_id=data.owner_id,
        created_from=data.created_from,
        created_to=data.created_to,
        created_within_days=data.created_within_days,
        fields=data.fields,
    )


class SavedViewController(Controller):
    path = "/orgs/{org_id:uuid}/saved-views"
    tags = ["Content: saved views"]
    security = BEARER_OR_KEY
    guards = [permission(READ)]

    @get(
        operation_id="listSavedViews",
        summary="The caller's saved views and the organisation's shared ones, oldest first",
    )
    async def list_views(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        saved_views: NamedDependency[SavedViewService],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[SavedViewOut]:
        return page_as(await saved_views.page(membership, limit=limit, cursor=cursor), SavedViewOut)

    @post(
        operation_id="createSavedView",
        summary="Save a document query",
        description=_CHECKED + " `shared: true` needs content.taxonomy.manage (403 "
        "`share_view_forbidden`); at most 100 views per member (409 `too_many_saved_views`).",
        opt=problems(403, 409, 422),
    )
    async def create_view(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        data: JSONBody[SavedViewIn],
        saved_views: NamedDependency[SavedViewService],
    ) -> SavedViewOut:
        view = await saved_views.create(
            membership,
            name=data.name,
            filters=_filters(data.filters),
            sort=data.sort,
            shared=data.shared,
            show_on_dashboard=data.show_on_dashboard,
            show_in_sidebar=data.show_in_sidebar,
        )
        return to_schema(view, SavedViewOut)

    @get("/{view_id:uuid}", operation_id="getSavedView", summary="One saved view")
    async def get_view(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        view_id: FromPath[uuid.UUID],
        saved_views: NamedDependency[SavedViewService],
    ) -> SavedViewOut:
        return to_schema(await saved_views.get(membership, view_id), SavedViewOut)

    @patch(
        "/{view_id:uuid}",
        operation_id="updateSavedView",
        summary="Change a saved view (its owner; a shared one also content.taxonomy.manage)",
        description=_CHECKED + " `filters` replaces the whole set. Another member's "
        "shared view: 403 `not_view_owner`; sharing needs content.taxonomy.manage.",
        opt=problems(403, 422),
    )
    async def update_view(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        view_id: FromPath[uuid.UUID],
        data: JSONBody[SavedViewPatch],
        saved_views: NamedDependency[SavedViewService],
    ) -> SavedViewOut:
        changes = data.sent()
        if "filters" in changes:
            changes["filters"] = _filters(changes["filters"])
        return to_schema(await saved_views.update(membership, view_id, changes), SavedViewOut)

    @delete(
        "/{view_id:uuid}",
        status_code=204,
        operation_id="deleteSavedView",
        summary="Delete a saved view (its owner; a shared one also content.taxonomy.manage)",
        opt=problems(403),
    )
    async def delete_view(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        view_id: FromPath[uuid.UUID],
        saved_views: NamedDependency[SavedViewService],
    ) -> None:
        await saved_views.delete(membership, view_id)

    @get(
        "/{view_id:uuid}/documents",
        operation_id="runSavedView",
        summary="The documents a saved view finds that the caller may read",
        description="Exactly `GET /documents` with the view's filters and sort, for the "
        "caller: a shared view never shows a member more than they may read. A tag, type "
        "or field deleted since the view was saved matches nothing.",
    )
    async def run_view(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        view_id: FromPath[uuid.UUID],
        saved_views: NamedDependency[SavedViewService],
        facets: FacetsQuery = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> DocumentPage:
        listing = await saved_views.run(
            membership, view_id, limit=limit, cursor=cursor, facets=split_list(facets)
        )
        return document_page(listing)
