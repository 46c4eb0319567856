"""Reads of documents, their versions, shares and tags, through the context's store.

:func:`readable` is the document permission rule (``domain.access``) as SQL: every list
and count filters with it, so a page or a facet count never includes a document the
caller could not open.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    bindparam,
    exists,
    false,
    func,
    or_,
    select,
)

from hub.content.domain.access import Action, Caller, ShareAccess, strongest
from hub.content.models import Document, DocumentShare, DocumentTag, DocumentVersion, Tag
from hub.kernel.store import Store

d = Document.__table__
v = DocumentVersion.__table__
s = DocumentShare.__table__
t = Tag.__table__
dt = DocumentTag.__table__

#: A document with the columns of its current version.
_DOCUMENT_COLUMNS = (
    d,
    v.c.file_name,
    v.c.media_type,
    v.c.size,
    v.c.sha256,
)


def _with_current_version(statement: Select[Any]) -> Select[Any]:
    return statement.join(v, and_(v.c.document_id == d.c.id, v.c.version == d.c.current_version))


_BY_ID = _with_current_version(select(*_DOCUMENT_COLUMNS)).where(d.c.id == bindparam("document_id"))


async def by_id(store: Store, document_id: uuid.UUID) -> Row[Any] | None:
    """The document (trashed or not) with its current version's file columns."""
    return await store.first(_BY_ID, {"document_id": document_id})


def _share_reaches(caller: Caller) -> ColumnElement[bool]:
    user = and_(s.c.subject_kind == "user", s.c.subject_id == caller.user_id)
    if not caller.role_ids:
        return user
    role = and_(s.c.subject_kind == "role", s.c.subject_id.in_(sorted(caller.role_ids)))
    return or_(user, role)


async def share_for(store: Store, document_id: uuid.UUID, caller: Caller) -> ShareAccess | None:
    """The strongest share of the document reaching the caller or one of its roles."""
    rows = await store.all(
        select(s.c.access).where(s.c.document_id == document_id, _share_reaches(caller))
    )
    return strongest(r.access for r in rows)


def readable(caller: Caller) -> ColumnElement[bool]:
    """Documents of the caller's organisation it may read (``domain.access.allowed``)."""
    in_org = d.c.organisation_id == caller.organisation_id
    if caller.is_admin:
        return in_org
    doors: list[ColumnElement[bool]] = []
    if Action.READ.value in caller.granted:
        doors.append(d.c.restricted.is_(False))
    if caller.personally(Action.READ):
        doors.append(d.c.owner_id == caller.user_id)
        doors.append(exists().where(s.c.document_id == d.c.id, _share_reaches(caller)))
    return and_(in_org, or_(*doors) if doors else false())


@dataclass(frozen=True)
class Filters:
    tag_ids: tuple[uuid.UUID, ...] = ()
    document_type_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    trashed: bool = False


def _filtered(caller: Caller, filters: Filters) -> list[ColumnElement[bool]]:
    where = [readable(caller)]
    where.append(d.c.trashed_at.is_not(None) if filters.trashed else d.c.trashed_at.is_(None))
    for tag_id in filters.tag_ids:
        where.append(exists().where(dt.c.document_id == d.c.id, dt.c.tag_id == tag_id))
    if filters.document_type_id is not None:
        where.append(d.c.document_type_id == filters.document_type_id)
    if filters.owner_id is not None:
        where.append(d.c.owner_id == filters.owner_id)
    if filters.created_from is not None:
        where.append(d.c.created_at >= filters.created_from)
    if filters.created_to is not None:
        where.append(d.c.created_at < filters.created_to)
    return where


def matching(caller: Caller, filters: Filters) -> list[ColumnElement[bool]]:
    """The list's WHERE clause (the permission rule, trash, filters): search reuses it,
    so a search never shows what the list would hide."""
    return _filtered(caller, filters)


#: sort name -> (column, descending)
SORTS: dict[str, tuple[Any, bool]] = {
    "created": (d.c.created_at, True),
    "updated": (d.c.updated_at, True),
    "title": (d.c.title, False),
}


async def page(
    store: Store,
    caller: Caller,
    filters: Filters,
    *,
    sort: str,
    after: tuple[Any, uuid.UUID] | None,
    limit: int,
) -> list[Row[Any]]:
    """``limit + 1`` documents in ``sort`` order after the keyset position ``after``."""
    column, descending = SORTS[sort]
    where = _filtered(caller, filters)
    if after is not None:
        key, last_id = after
        if descending:
            where.append(or_(column < key, and_(column == key, d.c.id < last_id)))
        else:
            where.append(or_(column > key, and_(column == key, d.c.id > last_id)))
    order = (column.desc(), d.c.id.desc()) if descending else (column.asc(), d.c.id.asc())
    statement = (
        _with_current_version(select(*_DOCUMENT_COLUMNS))
        .where(*where)
        .order_by(*order)
        .limit(limit + 1)
    )
    return await store.all(statement)


async def tag_facets(store: Store, caller: Caller, filters: Filters) -> list[Row[Any]]:
    """``(id, name, count)`` of every tag on the documents the list would show."""
    matching = select(d.c.id).where(*_filtered(caller, filters)).subquery()
    statement = (
        select(t.c.id, t.c.name, func.count().label("count"))
        .select_from(dt.join(t, t.c.id == dt.c.tag_id))
        .where(dt.c.document_id.in_(select(matching.c.id)))
        .group_by(t.c.id, t.c.name)
        .order_by(func.count().desc(), t.c.name)
    )
    return await store.all(statement)


async def type_facets(store: Store, caller: Caller, filters: Filters) -> list[Row[Any]]:
    """``(document_type_id, count)`` over the documents the list would show."""
    statement = (
        select(d.c.document_type_id, func.count().label("count"))
        .where(*_filtered(caller, filters), d.c.document_type_id.is_not(None))
        .group_by(d.c.document_type_id)
        .order_by(func.count().desc(), d.c.document_type_id)
    )
    return await store.all(statement)


async def tags_of(
    store: Store, document_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Each document's tags as ``{id, name}``, by name."""
    if not document_ids:
        return {}
    rows = await store.all(
        select(dt.c.document_id, t.c.id, t.c.name)
        .join(t, t.c.id == dt.c.tag_id)
        .where(dt.c.document_id.in_(list(document_ids)))
        .order_by(t.c.name, t.c.id)
    )
    out: dict[uuid.UUID, list[dict[str, Any]]] = {i: [] for i in document_ids}
    for row in rows:
        out[row.document_id].append({"id": row.id, "name": row.name})
    return out


async def tags_by_id(
    store: Store, organisation_id: uuid.UUID, tag_ids: Sequence[uuid.UUID]
) -> list[Row[Any]]:
    if not tag_ids:
        return []
    return await store.all(
        select(t.c.id, t.c.name).where(
            t.c.organisation_id == organisation_id, t.c.id.in_(list(tag_ids))
        )
    )


async def shares_of(store: Store, document_id: uuid.UUID) -> list[Row[Any]]:
    return await store.all(
        select(s.c.subject_kind, s.c.subject_id, s.c.access)
        .where(s.c.document_id == document_id)
        .order_by(s.c.subject_kind.desc(), s.c.subject_id)
    )


async def versions_of(
    store: Store, document_id: uuid.UUID, *, before: int | None = None, limit: int = 1000
) -> list[Row[Any]]:
    """Newest first; ``before``: only versions older than that number."""
    where = [v.c.document_id == document_id]
    if before is not None:
        where.append(v.c.version < before)
    return await store.all(select(v).where(*where).order_by(v.c.version.desc()).limit(limit))


_VERSION = select(v).where(
    v.c.document_id == bindparam("document_id"), v.c.version == bindparam("version")
)


async def version(store: Store, document_id: uuid.UUID, number: int) -> Row[Any] | None:
    return await store.first(_VERSION, {"document_id": document_id, "version": number})


async def trashed_before(store: Store, cutoff: datetime, limit: int) -> list[uuid.UUID]:
    """Trashed documents due for the retention purge (never those under legal hold)."""
    rows = await store.all(
        select(d.c.id)
        .where(d.c.trashed_at < cutoff, d.c.legal_hold.is_(False))
        .order_by(d.c.trashed_at, d.c.id)
        .limit(limit)
    )
    return [r.id for r in rows]
