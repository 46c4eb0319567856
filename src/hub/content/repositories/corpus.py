"""Reads another context makes of an organisation's documents as a body of text: each
document's current extracted text with its labels (for the classifier), the taxonomy, and
which of some documents a person may read."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Select, Text, any_, bindparam, literal, null, select, union_all
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from hub.content.domain.access import Caller
from hub.content.models import (
    CustomField,
    Document,
    DocumentTag,
    DocumentType,
    Tag,
    VersionText,
)
from hub.content.repositories.documents import readable
from hub.kernel.store import Store

d = Document.__table__
t = Tag.__table__
dt = DocumentTag.__table__
ty = DocumentType.__table__
vt = VersionText.__table__
cf = CustomField.__table__


async def documents_with_text(store: Store, organisation_id: uuid.UUID) -> list[Row[Any]]:
    """Every document of the organisation not in the trash, with its current version's
    extraction status and text (None unless ``ready``)."""
    return await store.all(
        select(
            d.c.id,
            d.c.document_type_id,
            d.c.custom_fields,
            vt.c.status,
            vt.c.text,
        )
        .select_from(
            d.outerjoin(vt, (vt.c.document_id == d.c.id) & (vt.c.version == d.c.current_version))
        )
        .where(d.c.organisation_id == organisation_id, d.c.trashed_at.is_(None))
        .order_by(d.c.id)
    )


async def tag_names_of(store: Store, organisation_id: uuid.UUID) -> dict[uuid.UUID, list[str]]:
    rows = await store.all(
        select(dt.c.document_id, t.c.name)
        .join(t, t.c.id == dt.c.tag_id)
        .where(t.c.organisation_id == organisation_id)
    )
    out: dict[uuid.UUID, list[str]] = {}
    for row in rows:
        out.setdefault(row.document_id, []).append(row.name)
    return out


def _taxonomy() -> Any:
    org = bindparam("organisation_id", type_=UUID(as_uuid=True))
    none = null().cast(Text)
    parts = (
        select(literal("tag").label("kind"), t.c.id, t.c.name, t.c.name.label("sort"))
        .add_columns(
            none.label("key"), none.label("type"), null().cast(cf.c.options.type).label("options")
        )
        .where(t.c.organisation_id == org),
        select(literal("type"), ty.c.id, ty.c.name, ty.c.name)
        .add_columns(none, none, null().cast(cf.c.options.type))
        .where(ty.c.organisation_id == org),
        select(
            literal("field"), cf.c.id, cf.c.name, cf.c.key, cf.c.key, cf.c.type, cf.c.options
        ).where(cf.c.organisation_id == org),
    )
    return union_all(*parts).order_by("kind", "sort")


#: :func:`tags`, :func:`document_types` and :func:`custom_fields` in one statement (one
#: round trip instead of three): ``kind`` says which, each in its own order.
_TAXONOMY = _taxonomy()


async def taxonomy(store: Store, organisation_id: uuid.UUID) -> list[Row[Any]]:
    return await store.all(_TAXONOMY, {"organisation_id": organisation_id})


async def select_fields(store: Store, organisation_id: uuid.UUID) -> list[Row[Any]]:
    """The organisation's custom fields of type ``select`` (id, key, name, options)."""
    return await store.all(
        select(cf.c.id, cf.c.key, cf.c.name, cf.c.options)
        .where(cf.c.organisation_id == organisation_id, cf.c.type == "select")
        .order_by(cf.c.key)
    )


async def field_values(store: Store, organisation_id: uuid.UUID, key: str) -> dict[uuid.UUID, Any]:
    rows = await store.all(
        select(d.c.id, d.c.custom_fields[key].label("value")).where(
            d.c.organisation_id == organisation_id,
            d.c.trashed_at.is_(None),
            d.c.custom_fields.has_key(key),
        )
    )
    return {row.id: row.value for row in rows}


#: Built once (a statement reused keeps its SQLAlchemy cache key): read on every insights
#: request.
_CURRENT_TEXT = (
    select(vt.c.text)
    .join(d, (vt.c.document_id == d.c.id) & (vt.c.version == d.c.current_version))
    .where(d.c.id == bindparam("document_id", type_=UUID(as_uuid=True)), vt.c.status == "ready")
)


async def current_text(store: Store, document_id: uuid.UUID) -> str | None:
    value = await store.scalar(_CURRENT_TEXT, {"document_id": document_id})
    return None if value is None else str(value)


_IDS = bindparam("ids", type_=ARRAY(UUID(as_uuid=True)))


@functools.lru_cache(maxsize=256)
def _readable_among(caller: Caller, trashed: bool) -> Select[Any]:
    """The statement of :func:`readable_among` for one caller, built once: a statement
    reused keeps its cache key, which SQLAlchemy otherwise derives again by walking the
    freshly built rule on every call."""
    query = select(d.c.id).where(readable(caller), d.c.id == any_(_IDS))
    if not trashed:
        query = query.where(d.c.trashed_at.is_(None))
    return query


async def readable_among(
    store: Store, caller: Caller, document_ids: Sequence[uuid.UUID], *, trashed: bool = False
) -> set[uuid.UUID]:
    if not document_ids:
        return set()
    # One array parameter, not an IN list: 200 candidates rendered as 200 placeholders cost
    # milliseconds of SQL compilation per call and a prepared statement per list length.
    rows = await store.all(_readable_among(caller, trashed), {"ids": list(document_ids)})
    return {row.id for row in rows}
