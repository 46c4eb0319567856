"""Reading documents (one, a filtered page with facet counts, the version history) and
changing their metadata."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select, update

from hub.content.api import DocumentUpdated
from hub.content.domain.access import Action, Caller
from hub.content.domain.documents import clean_title, parse_tags
from hub.content.domain.field_filters import FieldCondition, FieldFilter, condition
from hub.content.domain.taxonomy import FieldType
from hub.content.models import Document
from hub.content.repositories import documents
from hub.content.repositories import taxonomy as taxonomy_repo
from hub.content.services.access import DocumentAccess, Opened
from hub.content.services.archive_numbers import asn_free, next_asn, unique_asn
from hub.content.services.doclinks import DocumentLinks, publish_reverse
from hub.content.services.search_index import SearchIndex
from hub.content.services.tagging import resolve_tags, set_tags
from hub.content.services.taxonomy import MetadataRules
from hub.content.services.uploads import document_trashed
from hub.content.services.views import document_views, version_view, view_of
from hub.kernel.clock import Clock
from hub.kernel.pagination import Page, clamp_limit, decode_cursor, encode_cursor, page_of
from hub.kernel.problems import field_invalid, invalid_cursor
from hub.kernel.security import Principal
from hub.kernel.store import Store

d = Document.__table__

#: Facets a list may ask for (``facets=tags,types``).
FACETS = ("tags", "types")
#: ``?facets=``: one or more of :data:`FACETS`, comma-separated (stated in the document).
FACETS_PATTERN = r"^(tags|types)(,(tags|types))*$"


@dataclass(frozen=True)
class Listing:
    page: Page[dict[str, Any]]
    facets: dict[str, list[dict[str, Any]]] | None


def _cursor_key(sort: str, row: Any) -> tuple[Any, ...]:
    column = {"created": "created_at", "updated": "updated_at", "title": "title"}[sort]
    value = getattr(row, column)
    return (sort, value.isoformat() if isinstance(value, datetime) else value, str(row.id))


def _after(sort: str, cursor: str | None) -> tuple[Any, uuid.UUID] | None:
    if cursor is None:
        return None
    cursor_sort, key, last = decode_cursor(cursor, 3)
    if cursor_sort != sort or not isinstance(key, str):
        raise invalid_cursor()
    try:
        value: Any = datetime.fromisoformat(key) if sort != "title" else key
        return value, uuid.UUID(str(last))
    except ValueError:
        raise invalid_cursor() from None


def check_editable(opened: Opened) -> None:
    """What changing a document's metadata asks of it, alone or in a bulk edit: the edit
    right (403) and a document out of the trash (409 ``document_trashed``)."""
    opened.require(Action.EDIT)
    if opened.row.trashed_at is not None:
        raise document_trashed()


class DocumentService:
    def __init__(
        self,
        store: Store,
        access: DocumentAccess,
        clock: Clock,
        metadata: MetadataRules,
        links: DocumentLinks,
    ) -> None:
        self.store = store
        self.access = access
        self.clock = clock
        self.metadata = metadata
        self.links = links

    async def get(self, principal: Principal, document_id: uuid.UUID) -> dict[str, Any]:
        opened = await self.access.read(principal, document_id, "metadata")
        (view,) = await document_views(self.store, [opened.row], opened.caller)
        return view

    async def conditions(
        self, caller: Caller, specs: Sequence[FieldFilter]
    ) -> tuple[tuple[FieldCondition, ...], list[str]]:
        """``field=`` filters against the organisation's definitions: the conditions, and
        what is wrong with each that names an unknown key or a value its field could
        never hold (the caller decides whether that is a 422 or an empty answer)."""
        rows = await taxonomy_repo.read_definitions(self.store, caller.organisation_id)
        defined = {r.key: r for r in rows}
        out, problems = [], []
        for spec in specs:
            row = defined.get(spec.key)
            try:
                if row is None:
                    raise ValueError(f"{spec.key}: no such custom field")
                out.append(condition(spec, FieldType(row.type), list(row.options)))
            except ValueError as error:
                problems.append(str(error))
        return tuple(out), problems

    async def list(
        self,
        caller: Caller,
        filters: documents.Filters,
        *,
        sort: str = "created",
        limit: int | None = None,
        cursor: str | None = None,
        facets: tuple[str, ...] = (),
        fields: Sequence[FieldFilter] = (),
    ) -> Listing:
        if sort not in documents.SORTS:
            raise field_invalid(
                "sort", "one of " + ", ".join(documents.SORTS), source="query", status_code=400
            )
        unknown = [f for f in facets if f not in FACETS]
        if unknown:
            raise field_invalid(
                "facets", "one or more of " + ", ".join(FACETS), source="query", status_code=400
            )
        if fields:
            resolved, problems = await self.conditions(caller, fields)
            if problems:
                raise field_invalid("field", problems[0], source="query")
            filters = replace(filters, fields=resolved)
        size = clamp_limit(limit)
        rows = await documents.page(
            self.store, caller, filters, sort=sort, after=_after(sort, cursor), limit=size
        )
        more = len(rows) > size
        rows = rows[:size]
        page = Page(
            items=await document_views(self.store, rows, caller),
            limit=size,
            next_cursor=encode_cursor(*_cursor_key(sort, rows[-1])) if more and rows else None,
        )
        counts: dict[str, list[dict[str, Any]]] | None = None
        if facets:
            counts = {}
            if "tags" in facets:
                counts["tags"] = [
                    {"id": r.id, "name": r.name, "count": r.count}
                    for r in await documents.tag_facets(self.store, caller, filters)
                ]
            if "types" in facets:
                counts["types"] = [
                    {"id": r.document_type_id, "count": r.count}
                    for r in await documents.type_facets(self.store, caller, filters)
                ]
        return Listing(page=page, facets=counts)

    async def versions(
        self,
        principal: Principal,
        document_id: uuid.UUID,
        *,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[Any]:
        """The version history, newest first (cursor: the last version number seen)."""
        opened = await self.access.read(principal, document_id, "versions")
        before = None
        if cursor is not None:
            (last,) = decode_cursor(cursor, 1)
            if not isinstance(last, int):
                raise invalid_cursor()
            before = last
        size = clamp_limit(limit)
        rows = await documents.versions_of(self.store, opened.id, before=before, limit=size + 1)
        page = page_of(rows, size, lambda row: (row.version,))
        return Page(
            items=[version_view(row) for row in page.items],
            limit=page.limit,
            next_cursor=page.next_cursor,
        )

    async def next_asn(self, organisation_id: uuid.UUID) -> int:
        """The next free archive serial number (``archive_numbers.next_asn``)."""
        return await next_asn(self.store, organisation_id)

    async def update(
        self,
        principal: Principal,
        document_id: uuid.UUID,
        *,
        title: Any = msgspec.UNSET,
        tags: Any = msgspec.UNSET,
        document_type_id: Any = msgspec.UNSET,
        custom_fields: Any = msgspec.UNSET,
        legal_hold: Any = msgspec.UNSET,
        archive_serial_number: Any = msgspec.UNSET,
    ) -> dict[str, Any]:
        """``PATCH /documents/{id}``: fields given change; ``legalHold`` needs content.admin.
        Publishes ``content.document.updated`` naming what changed (nothing: no event)."""
        edits = (title, tags, document_type_id, custom_fields, archive_serial_number)
        opened = await self.access.open(principal, document_id)
        if any(x is not msgspec.UNSET for x in edits):
            check_editable(opened)
        if legal_hold is not msgspec.UNSET:
            opened.require(Action.HOLD)
        return await self.apply(
            opened.row,
            title=title,
            tags=tags,
            document_type_id=document_type_id,
            custom_fields=custom_fields,
            legal_hold=legal_hold,
            archive_serial_number=archive_serial_number,
            reader=opened.caller,
        )

    async def apply(
        self,
        row: Any,
        *,
        title: Any = msgspec.UNSET,
        tags: Any = msgspec.UNSET,
        document_type_id: Any = msgspec.UNSET,
        custom_fields: Any = msgspec.UNSET,
        legal_hold: Any = msgspec.UNSET,
        archive_serial_number: Any = msgspec.UNSET,
        via: str = "user",
        actor_id: uuid.UUID | None = None,
        reader: Caller | None = None,
    ) -> dict[str, Any]:
        """Write the changes to an authorised document; one event names what changed.
        ``reader``: the person writing (document links must name documents it may read;
        the view returned shows only those) or None for a workflow/AI actor.
        Documents linked or unlinked change too, each with its own event."""
        values: dict[str, Any] = {}
        changed: list[str] = []
        if title is not msgspec.UNSET:
            cleaned = clean_title(title if isinstance(title, str) else "")
            if cleaned != row.title:
                values["title"] = cleaned
                changed.append("title")
        async with self.store.uow() as uow:
            session = uow.session
            # the row first, as bulk edits lock theirs, before any tag is created: two
            # writers of one document queue on it instead of deadlocking on a new tag. With
            # custom fields, the links lock it, with the documents they name, in id order
            # (locking it alone first would deadlock two documents linking each other).
            if custom_fields is msgspec.UNSET:
                await session.execute(select(d.c.id).where(d.c.id == row.id).with_for_update())
            if document_type_id is not msgspec.UNSET and document_type_id != row.document_type_id:
                await self.metadata.document_type(session, row.organisation_id, document_type_id)
                values["document_type_id"] = document_type_id
                changed.append("documentTypeId")
            touched: list[uuid.UUID] = []
            if custom_fields is not msgspec.UNSET:
                fields = await self.metadata.custom_fields(
                    session, row.organisation_id, custom_fields
                )
                written = await self.links.write(
                    session,
                    source=row.id,
                    organisation_id=row.organisation_id,
                    fields=fields,
                    reader=reader,
                )
                touched = written.touched
                if written.fields != written.current:
                    values["custom_fields"] = written.fields
                    changed.append("customFields")
            if legal_hold is not msgspec.UNSET and bool(legal_hold) != row.legal_hold:
                values["legal_hold"] = bool(legal_hold)
                changed.append("legalHold")
            asn = archive_serial_number
            if asn is not msgspec.UNSET and asn != row.archive_serial_number:
                if asn is not None:
                    await asn_free(session, row.organisation_id, asn, other_than=row.id)
                values["archive_serial_number"] = asn
                changed.append("archiveSerialNumber")
            if tags is not msgspec.UNSET:
                wanted = await resolve_tags(
                    session, row.organisation_id, parse_tags(list(tags or []))
                )
                current = [t["id"] for t in (await documents.tags_of(self.store, [row.id]))[row.id]]
                if set(wanted) != set(current):
                    await set_tags(session, row.id, wanted)
                    changed.append("tags")
            if changed:
                values["updated_at"] = self.clock()
                await unique_asn(
                    session.execute(update(Document).where(d.c.id == row.id).values(**values)),
                    values.get("archive_serial_number"),
                )
                await SearchIndex.refresh(uow, [row.id])
                uow.publish(
                    DocumentUpdated(
                        document_id=row.id,
                        organisation_id=row.organisation_id,
                        changed=changed,
                        via=via,
                        actor_id=actor_id,
                    )
                )
            if changed or touched:
                await publish_reverse(
                    uow,
                    touched,
                    organisation_id=row.organisation_id,
                    source=row.id,
                    via=via,
                    actor_id=actor_id,
                )
                await uow.commit()
        return await view_of(self.store, row.id, reader)
