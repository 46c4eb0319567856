"""/search, /search/autocomplete and /orgs/{orgId}/search-settings.

Search names its organisation in the query and goes through the kernel's
``permission()`` guard like the document list (outside the caller's organisations: 404);
which documents it may see is the list's own rule, applied inside the SQL.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from litestar import Controller, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from hub.content.controllers.documents import OrganisationQuery, TagTrees
from hub.content.domain.access import ADMIN, READ
from hub.content.domain.documents import split_list, tag_trees
from hub.content.domain.search import LANGUAGES, MAX_QUERY, MAX_SUGGESTIONS
from hub.content.repositories.documents import Filters
from hub.content.schemas import (
    Facets,
    SearchHit,
    SearchPage,
    SearchSettingsIn,
    SearchSettingsOut,
    SemanticBasis,
    Suggestion,
    Suggestions,
)
from hub.content.services.access import as_caller
from hub.content.services.documents import FACETS_PATTERN
from hub.content.services.search import HYBRID, SearchService
from hub.identity.api import Membership
from hub.kernel.openapi import problems
from hub.kernel.pagination import DEFAULT_LIMIT
from hub.kernel.problems import field_invalid
from hub.kernel.tenancy import permission
from hub.kernel.web import BEARER_OR_KEY, Cursor, Limit, page_as, to_schema

Query = Annotated[
    str,
    QueryParameter(
        min_length=1,
        max_length=MAX_QUERY,
        description=f"What to look for (1 to {MAX_QUERY} characters; only blanks: 422 "
        '`validation_failed`). Web-search syntax: `"a phrase"`, `-excluded`, `or`.',
    ),
]
_SEARCH_DESCRIPTION = (
    "Documents of the organisation the caller may read (the document list's rule), "
    "matching `q` in the organisation's search language (accents ignored): best first "
    "(title > tags and custom-field values > content > notes), then most recently "
    "changed. `snippet` is HTML: the text is escaped and only matches are marked up, "
    "as `<mark>`…`</mark>`. When full text finds nothing, typo-tolerant matches on titles "
    "and tag names follow (`fuzzy: true`, lower scores, no highlights). The cursor is an "
    "offset (at most 1000 hits deep); a cursor the server did not issue is a 422 "
    "`invalid_cursor`.\n\n"
    "`mode=hybrid` also finds documents that use other words for the same thing: the first "
    "100 full-text hits and the 100 documents nearest in meaning (document vectors of the "
    "organisation's trained classifier, readable ones only) are merged by reciprocal rank "
    "fusion (`score` = sum of 1/(60 + rank) over both rankings); no typo-tolerant "
    "fallback, no `facets` (422). `semantic.basis` is `vectors`, or `none` with a `reason` "
    "when the organisation has no trained model yet (then the ranking is the full-text one). "
    "A server without document intelligence answers `mode=hybrid` with 422 "
    "`search_mode_unavailable`. A cursor of one mode is a 422 `invalid_cursor` in the other."
)
Mode = Annotated[
    Literal["text", "hybrid"],
    QueryParameter(
        description="`text` (default): full text, then typo-tolerant; `hybrid`: full text "
        "and meaning fused by reciprocal rank.",
    ),
]


class SearchController(Controller):
    path = "/search"
    tags = ["Content: search"]
    security = BEARER_OR_KEY

    @get(
        operation_id="searchDocuments",
        summary="Full-text search over the documents the caller may read",
        description=_SEARCH_DESCRIPTION,
        guards=[permission(None)],
        opt=problems(422),
    )
    async def search(
        self,
        membership: NamedDependency[Membership],
        search: NamedDependency[SearchService],
        organisation_id: OrganisationQuery,
        q: Query,
        tag: Annotated[list[uuid.UUID] | None, QueryParameter(required=False)] = None,
        tag_tree: TagTrees = None,
        document_type_id: Annotated[
            uuid.UUID | None, QueryParameter(name="documentTypeId", required=False)
        ] = None,
        owner_id: Annotated[
            uuid.UUID | None, QueryParameter(name="ownerId", required=False)
        ] = None,
        created_from: Annotated[
            datetime | None, QueryParameter(name="createdFrom", required=False)
        ] = None,
        created_to: Annotated[
            datetime | None, QueryParameter(name="createdTo", required=False)
        ] = None,
        facets: Annotated[
            str | None,
            QueryParameter(
                required=False,
                pattern=FACETS_PATTERN,
                description="Counts over all hits, comma-separated: `tags`, `types`.",
            ),
        ] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        mode: Mode = "text",
    ) -> SearchPage:
        filters = Filters(
            tag_ids=tuple(tag or ()),
            tag_trees=tag_trees(tag_tree),
            document_type_id=document_type_id,
            owner_id=owner_id,
            created_from=created_from,
            created_to=created_to,
        )
        if mode == HYBRID:
            if facets:
                raise field_invalid(
                    "facets",
                    "facets are not counted in hybrid mode",
                    source="query",
                    detail="Facets are counted over full-text hits only; use mode=text.",
                )
            hybrid = await search.hybrid(
                as_caller(membership), q, filters, limit=limit, cursor=cursor
            )
            found = page_as(hybrid.page, SearchHit)
            return SearchPage(
                items=found.items,
                limit=found.limit,
                next_cursor=found.next_cursor,
                semantic=to_schema(hybrid.semantic, SemanticBasis),
            )
        results = await search.search(
            as_caller(membership),
            q,
            filters,
            limit=limit,
            cursor=cursor,
            facets=split_list(facets),
        )
        page = page_as(results.page, SearchHit)
        return SearchPage(
            items=page.items,
            limit=page.limit,
            next_cursor=page.next_cursor,
            fuzzy=results.fuzzy,
            facets=to_schema(results.facets, Facets) if results.facets is not None else None,
        )

    @get(
        "/autocomplete",
        operation_id="autocompleteSearch",
        summary="Title and tag completions",
        description=f"Up to {MAX_SUGGESTIONS} titles and tag names of documents the caller "
        "may read: those starting with `q` first, then containing it, then close to it "
        "(typos). Only blanks: 422 `validation_failed`.",
        guards=[permission(None)],
        opt=problems(422),
    )
    async def autocomplete(
        self,
        membership: NamedDependency[Membership],
        search: NamedDependency[SearchService],
        organisation_id: OrganisationQuery,
        q: Query,
    ) -> Suggestions:
        found = await search.autocomplete(as_caller(membership), q)
        return Suggestions(items=[to_schema(s, Suggestion) for s in found])


class SearchSettingsController(Controller):
    path = "/orgs/{org_id:uuid}/search-settings"
    tags = ["Content: search"]
    security = BEARER_OR_KEY

    @get(
        operation_id="getSearchSettings",
        summary="The organisation's search language",
        guards=[permission(READ)],
    )
    async def get_settings(
        self,
        org_id: FromPath[uuid.UUID],
        search: NamedDependency[SearchService],
    ) -> SearchSettingsOut:
        return to_schema(await search.settings(org_id), SearchSettingsOut)

    @put(
        operation_id="setSearchSettings",
        summary="Set the organisation's search language (content.admin)",
        description="`language`: one of " + ", ".join(LANGUAGES) + " (else 422). Every "
        "document of the organisation is re-indexed in the same transaction.",
        guards=[permission(ADMIN)],
        opt=problems(422),
    )
    async def put_settings(
        self,
        org_id: FromPath[uuid.UUID],
        data: JSONBody[SearchSettingsIn],
        search: NamedDependency[SearchService],
    ) -> SearchSettingsOut:
        return to_schema(await search.set_language(org_id, data.language), SearchSettingsOut)
