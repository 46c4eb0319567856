"""Saved views: keeping a member's document queries and running them.

A view is checked against the organisation when it is saved (its tags and type must be
the organisation's, its field conditions must hold for their fields: 422 naming
``filters.<field>``) and run through the document list itself, with the reader's own
caller, so its answer is exactly what ``GET /documents`` would give that reader for the
same filters. Rules of who sees and changes a view: ``domain.saved_views``.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, insert, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.content.api import SavedViewCreated, SavedViewDeleted, SavedViewUpdated
from hub.content.domain.access import TAXONOMY_MANAGE, Caller
from hub.content.domain.documents import TagRefs
from hub.content.domain.field_filters import split_filter
from hub.content.domain.saved_views import (
    MAX_VIEWS_PER_MEMBER,
    Editor,
    ViewFilters,
    may_change,
    may_see,
)
from hub.content.domain.taxonomy import clean_name
from hub.content.models import SavedView
from hub.content.repositories import documents as documents_repo
from hub.content.repositories import saved_views as repo
from hub.content.repositories import taxonomy as taxonomy_repo
from hub.content.services.access import as_caller
from hub.content.services.documents import DocumentService, Listing
from hub.content.services.tagging import resolve_tags
from hub.identity.api import Membership
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import Conflict, Forbidden, NotFound
from hub.kernel.pagination import Page, clamp_limit, page_of
from hub.kernel.problems import field_invalid
from hub.kernel.schema import new_id
from hub.kernel.store import Store

v = repo.views
#: Serialises a member's creations, so two at once cannot pass the limit together.
_OWNER_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
#: Wire names of the fields a PATCH may change.
_WIRE = {
    "name": "name",
    "filters": "filters",
    "sort": "sort",
    "shared": "shared",
    "show_on_dashboard": "showOnDashboard",
    "show_in_sidebar": "showInSidebar",
}


def _not_found() -> NotFound:
    return NotFound("No such saved view in this organisation.")


def _view(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    out["filters"] = ViewFilters.from_json(row.filters)
    return out


def _editor(caller: Caller) -> Editor:
    return Editor(caller.user_id, curator=caller.is_admin or TAXONOMY_MANAGE in caller.granted)


class SavedViewService:
    def __init__(self, store: Store, documents: DocumentService, clock: Clock) -> None:
        self.store = store
        self.documents = documents
        self.clock = clock

    async def member_left(
        self, uow: UnitOfWork, organisation_id: uuid.UUID, user_id: uuid.UUID
    ) -> None:
        """The personal views of someone who left the organisation go: nobody else could
        see them. The views they shared stay for the others (curators still change them)
        and stay theirs should they come back."""
        gone = await uow.session.execute(
            delete(SavedView)
            .where(
                v.c.organisation_id == organisation_id,
                v.c.owner_id == user_id,
                v.c.shared.is_(False),
            )
            .returning(v.c.id, v.c.name)
        )
        for row in gone:
            uow.publish(SavedViewDeleted(id=row.id, name=row.name, shared=False))

    # ------------------------------------------------------------------ reads

    async def page(
        self, member: Membership, *, limit: int | None, cursor: str | None
    ) -> Page[dict[str, Any]]:
        caller = as_caller(member)
        size = clamp_limit(limit)
        rows = await repo.page(
            self.store, caller.organisation_id, caller.user_id, size=size, cursor=cursor
        )
        return page_of([_view(r) for r in rows], size, lambda view: (str(view["id"]),))

    async def get(self, member: Membership, view_id: uuid.UUID) -> dict[str, Any]:
        caller = as_caller(member)
        row = await repo.one(self.store, caller.organisation_id, view_id)
        if row is None or not may_see(row.owner_id, row.shared, caller.user_id):
            raise _not_found()
        return _view(row)

    async def run(
        self,
        member: Membership,
        view_id: uuid.UUID,
        *,
        limit: int | None,
        cursor: str | None,
        facets: tuple[str, ...],
    ) -> Listing:
        """The documents the view finds that the reader may read, in its order. A field
        condition whose field was deleted (or changed so its value no longer fits)
        matches nothing, like a deleted tag or type."""
        caller = as_caller(member)
        view = await self.get(member, view_id)
        filters: ViewFilters = view["filters"]
        conditions, problems = await self.documents.conditions(
            caller, [split_filter(f) for f in filters.fields]
        )
        if problems:
            return Listing(
                page=Page(items=[], limit=clamp_limit(limit), next_cursor=None),
                facets={name: [] for name in facets} if facets else None,
            )
        query = documents_repo.Filters(
            tag_ids=filters.tags,
            tag_trees=filters.tag_trees,
            document_type_id=filters.document_type_id,
            owner_id=filters.owner_id,
            created_from=filters.created_since(self.clock()),
            created_to=filters.created_to,
            fields=conditions,
        )
        return await self.documents.list(
            caller, query, sort=view["sort"], limit=limit, cursor=cursor, facets=facets
        )

    # ------------------------------------------------------------------ writes

    async def create(
        self,
        member: Membership,
        *,
        name: str,
        filters: ViewFilters,
        sort: str,
        shared: bool,
        show_on_dashboard: bool,
        show_in_sidebar: bool,
    ) -> dict[str, Any]:
        caller = as_caller(member)
        org = caller.organisation_id
        if shared and not _editor(caller).curator:
            raise _share_forbidden()
        now = self.clock()
        view_id, clean = new_id(), clean_name(name)
        values: dict[str, Any] = {
            "id": view_id,
            "organisation_id": org,
            "owner_id": caller.user_id,
            "name": clean,
            "filters": filters.to_json(),
            "sort": sort,
            "shared": shared,
            "show_on_dashboard": show_on_dashboard,
            "show_in_sidebar": show_in_sidebar,
            "created_at": now,
            "updated_at": now,
        }
        async with self.store.uow() as uow:
            await self._check(uow.session, caller, filters)
            await uow.session.execute(_OWNER_LOCK, {"key": f"saved_views:{org}:{caller.user_id}"})
            if await repo.count_owned(uow.session, org, caller.user_id) >= MAX_VIEWS_PER_MEMBER:
                raise Conflict(
                    f"At most {MAX_VIEWS_PER_MEMBER} saved views per member; delete one first.",
                    code="too_many_saved_views",
                )
            await uow.session.execute(insert(SavedView).values(**values))
            uow.publish(SavedViewCreated(id=view_id, name=clean, shared=shared))
            await uow.commit()
        return await self.get(member, view_id)

    async def update(
        self, member: Membership, view_id: uuid.UUID, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """``changes``: the PATCH's sent fields by Python name (``filters`` already a
        :class:`ViewFilters`)."""
        caller = as_caller(member)
        async with self.store.uow() as uow:
            row = await self._changeable(uow.session, caller, view_id)
            if changes.get("shared") and not row.shared and not _editor(caller).curator:
                raise _share_forbidden()
            values = dict(changes)
            if "name" in values:
                values["name"] = clean_name(values["name"])
            if "filters" in values:
                await self._check(uow.session, caller, values["filters"])
                values["filters"] = values["filters"].to_json()
            changed = [_WIRE[k] for k, value in values.items() if getattr(row, k) != value]
            if changed:
                values["updated_at"] = self.clock()
                await uow.session.execute(
                    update(SavedView).where(v.c.id == row.id).values(**values)
                )
                uow.publish(
                    SavedViewUpdated(
                        id=row.id,
                        name=values.get("name", row.name),
                        shared=values.get("shared", row.shared),
                        changed=changed,
                    )
                )
            await uow.commit()
        return await self.get(member, view_id)

    async def delete(self, member: Membership, view_id: uuid.UUID) -> None:
        caller = as_caller(member)
        async with self.store.uow() as uow:
            row = await self._changeable(uow.session, caller, view_id)
            await uow.session.execute(delete(SavedView).where(v.c.id == row.id))
            uow.publish(SavedViewDeleted(id=row.id, name=row.name, shared=row.shared))
            await uow.commit()

    async def _changeable(self, session: AsyncSession, caller: Caller, view_id: uuid.UUID) -> Any:
        """The view, locked, if the caller may change it: 404 when they cannot see it,
        403 when they see it (shared) but may not change it."""
        row = await repo.locked(session, caller.organisation_id, view_id)
        if row is None or not may_see(row.owner_id, row.shared, caller.user_id):
            raise _not_found()
        if not may_change(row.owner_id, row.shared, _editor(caller)):
            raise Forbidden(
                "Only its owner, or content.taxonomy.manage for a shared view, changes it.",
                code="not_view_owner",
            )
        return row

    async def _check(self, session: AsyncSession, caller: Caller, filters: ViewFilters) -> None:
        """The view's tags, type and field conditions against the organisation (422)."""
        org = caller.organisation_id
        for field, ids in (("filters.tags", filters.tags), ("filters.tagTrees", filters.tag_trees)):
            await resolve_tags(session, org, TagRefs(ids=ids, names=()), field=field, create=False)
        if filters.document_type_id is not None and not await taxonomy_repo.type_exists(
            session, org, filters.document_type_id
        ):
            raise field_invalid(
                "filters.documentTypeId", "No such document type in this organisation."
            )
        _, problems = await self.documents.conditions(
            caller, [split_filter(f) for f in filters.fields]
        )
        if problems:
            raise field_invalid("filters.fields", problems[0])


def _share_forbidden() -> Forbidden:
    return Forbidden(
        "Sharing a view with the organisation needs content.taxonomy.manage.",
        code="share_view_forbidden",
    )
