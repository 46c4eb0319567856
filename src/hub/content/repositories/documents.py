"""Reads of documents, their versions, shares and tags, through the context's store.

:func:`readable` is the document permission rule (``domain.access``) as SQL: every list
and count filters with it, so a page or a facet count never includes a document the
caller could not open.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Numeric,
    Row,
    Select,
    and_,
    bindparam,
    cast,
    exists,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from hub.content.domain.access import Action, Caller, ShareAccess, strongest
from hub.content.domain.field_filters import FieldCondition
from hub.content.domain.taxonomy import FieldType
from hub.content.models import (
    Document,
    DocumentShare,
    DocumentTag,
    DocumentType,
    DocumentVersion,
    Tag,
    VersionText,
)
from hub.kernel.store import Store

d = Document.__table__
v = DocumentVersion.__table__
s = DocumentShare.__table__
t = Tag.__table__
dt = DocumentTag.__table__
vt = VersionText.__table__

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


types = DocumentType.__table__

#: Whether reads of the document are audited (its type's ``audit_reads``): one primary-key
#: lookup in the same query, so documents of other types cost nothing more.
_AUDIT_READS = func.coalesce(
    select(types.c.audit_reads).where(types.c.id == d.c.document_type_id).scalar_subquery(),
    false(),
).label("audit_reads")

_BY_ID = _with_current_version(select(*_DOCUMENT_COLUMNS, _AUDIT_READS)).where(
    d.c.id == bindparam("document_id")
)


async def by_id(store: Store, document_id: uuid.UUID) -> Row[Any] | None:
    """The document (trashed or not) with its current version's file columns and
    ``audit_reads`` (whether its type audits reads)."""
    return await store.first(_BY_ID, {"document_id": document_id})


#: :data:`_BY_ID` with the document's tag names (by name, then id; None when it has none)
#: in the same statement: what :class:`~hub.content.api.DocumentSummary` needs, in one
#: round trip instead of two.
_TAG_NAMES = (
    select(func.array_agg(aggregate_order_by(t.c.name, t.c.name, t.c.id)))
    .select_from(dt.join(t, t.c.id == dt.c.tag_id))
    .where(dt.c.document_id == d.c.id)
    .scalar_subquery()
    .label("tag_names")
)
_SUMMARY_BY_ID = _with_current_version(select(*_DOCUMENT_COLUMNS, _AUDIT_READS, _TAG_NAMES)).where(
    d.c.id == bindparam("document_id")
)


async def summary_by_id(store: Store, document_id: uuid.UUID) -> Row[Any] | None:
    """:func:`by_id` with ``tag_names`` (a list, None for no tags)."""
    return await store.first(_SUMMARY_BY_ID, {"document_id": document_id})


async def by_ids(store: Store, document_ids: Sequence[uuid.UUID]) -> list[Row[Any]]:
    """:func:`by_id` of many documents (in no particular order)."""
    return await store.all(
        _with_current_version(select(*_DOCUMENT_COLUMNS)).where(d.c.id.in_(list(document_ids)))
    )


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


async def lock_in_organisation(
    session: AsyncSession, organisation_id: uuid.UUID, document_ids: Sequence[uuid.UUID]
) -> list[Row[Any]]:
    """The named documents of the organisation, their rows locked (``FOR UPDATE``) in id
    order: two transactions locking overlapping sets wait for each other instead of
    deadlocking. Ids of other organisations or of nothing are simply not returned."""
    result = await session.execute(
        select(d)
        .where(d.c.organisation_id == organisation_id, d.c.id.in_(list(document_ids)))
        .order_by(d.c.id)
        .with_for_update()
    )
    return list(result.all())


async def shares_reaching(
    session: AsyncSession, document_ids: Sequence[uuid.UUID], caller: Caller
) -> dict[uuid.UUID, ShareAccess]:
    """:func:`share_for` of many documents at once, inside a transaction: the strongest
    share reaching the caller, by document (documents without one are absent)."""
    if not document_ids:
        return {}
    rows = (
        await session.execute(
            select(s.c.document_id, s.c.access).where(
                s.c.document_id.in_(list(document_ids)), _share_reaches(caller)
            )
        )
    ).all()
    found: dict[uuid.UUID, list[str]] = {}
    for row in rows:
        found.setdefault(row.document_id, []).append(row.access)
    return {i: access for i, shares in found.items() if (access := strongest(shares))}


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
        # An uncorrelated IN, not a correlated EXISTS: PostgreSQL hashes the caller's
        # shares once. Under OR it costs an EXISTS as if it ran once per document, so a
        # facet count over 100,000 documents was planned at ~800,000 and paid ~250 ms of
        # JIT compilation per statement (bench/README.md, "Content").
        shared = select(s.c.document_id).where(_share_reaches(caller))
        doors.append(d.c.id.in_(shared))
    return and_(in_org, or_(*doors) if doors else false())


def _subtree(organisation_id: uuid.UUID, root: uuid.UUID) -> Any:
    """The ids of ``root`` and every tag under it (tags nest at most five levels: a small
    recursive walk down ``ix_tags_parent_id``); empty for another organisation's tag."""
    tree = (
        select(t.c.id)
        .where(t.c.id == root, t.c.organisation_id == organisation_id)
        .cte(recursive=True)  # anonymous: several trees get names of their own
    )
    tree = tree.union_all(select(t.c.id).where(t.c.parent_id == tree.c.id))
    return select(tree.c.id)


@dataclass(frozen=True)
class Filters:
    tag_ids: tuple[uuid.UUID, ...] = ()
    #: Each: the document carries that tag or a tag anywhere under it.
    tag_trees: tuple[uuid.UUID, ...] = ()
    document_type_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    trashed: bool = False
    fields: tuple[FieldCondition, ...] = ()
    archive_serial_number: int | None = None


def _filtered(caller: Caller, filters: Filters) -> list[ColumnElement[bool]]:
    where = [readable(caller)]
    where.append(d.c.trashed_at.is_not(None) if filters.trashed else d.c.trashed_at.is_(None))
    for tag_id in filters.tag_ids:
        where.append(exists().where(dt.c.document_id == d.c.id, dt.c.tag_id == tag_id))
    for root in filters.tag_trees:
        subtree = _subtree(caller.organisation_id, root)
        where.append(exists().where(dt.c.document_id == d.c.id, dt.c.tag_id.in_(subtree)))
    if filters.document_type_id is not None:
        where.append(d.c.document_type_id == filters.document_type_id)
    if filters.owner_id is not None:
        where.append(d.c.owner_id == filters.owner_id)
    if filters.archive_serial_number is not None:
        where.append(d.c.archive_serial_number == filters.archive_serial_number)
    if filters.created_from is not None:
        where.append(d.c.created_at >= filters.created_from)
    if filters.created_to is not None:
        where.append(d.c.created_at < filters.created_to)
    where.extend(_field_condition(c) for c in filters.fields)
    return where


_COMPARE: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "eq": lambda a, b: a == b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
}


def _field_condition(c: FieldCondition) -> ColumnElement[bool]:
    """Equality as JSONB containment (the GIN index answers it; JSON numbers compare by
    value, so 12 matches 12.0); order on the typed value (a document without the field
    never matches). Values were checked against the field's type when written, so the
    casts cannot fail."""
    value = d.c.custom_fields[c.key]
    if c.type is FieldType.MONETARY:
        return _COMPARE[c.op](cast(value["amount"].astext, Numeric), c.operand)
    if c.op == "eq":
        stored = [c.operand] if c.type is FieldType.DOCUMENT else c.operand
        return d.c.custom_fields.contains({c.key: stored})
    if c.type is FieldType.DATE:  # ISO dates order as text
        return _COMPARE[c.op](value.astext, c.operand)
    return _COMPARE[c.op](cast(value.astext, Numeric), c.operand)


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
    return await store.all(_VERSIONS.where(*where).order_by(v.c.version.desc()).limit(limit))


#: Versions with their extraction status (``pending`` before extraction's row exists).
_VERSIONS = select(v, func.coalesce(vt.c.status, "pending").label("extraction_status")).outerjoin(
    vt, and_(vt.c.document_id == v.c.document_id, vt.c.version == v.c.version)
)
_VERSION = _VERSIONS.where(
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


async def tag_ids_in(
    session: AsyncSession, document_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, set[uuid.UUID]]:
    """Each document's tag ids, read inside a transaction (empty sets included)."""
    out: dict[uuid.UUID, set[uuid.UUID]] = {i: set() for i in document_ids}
    if document_ids:
        rows = await session.execute(
            select(dt.c.document_id, dt.c.tag_id).where(dt.c.document_id.in_(list(document_ids)))
        )
        for row in rows:
            out[row.document_id].add(row.tag_id)
    return out


async def shares_in(
    session: AsyncSession, document_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[tuple[str, uuid.UUID], str]]:
    """Each document's shares as ``{(subject_kind, subject_id): access}``, inside a
    transaction."""
    out: dict[uuid.UUID, dict[tuple[str, uuid.UUID], str]] = {i: {} for i in document_ids}
    if document_ids:
        rows = await session.execute(
            select(s.c.document_id, s.c.subject_kind, s.c.subject_id, s.c.access).where(
                s.c.document_id.in_(list(document_ids))
            )
        )
        for row in rows:
            out[row.document_id][(row.subject_kind, row.subject_id)] = row.access
    return out
