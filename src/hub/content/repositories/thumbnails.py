"""Reads of versions' thumbnails (``content.version_thumbnails``)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Row, bindparam, select, tuple_

from hub.content.domain.thumbnails import IMAGE_TYPES, PDF_TYPES
from hub.content.models import Blob, DocumentVersion, VersionThumbnail
from hub.kernel.store import Store

v = DocumentVersion.__table__
t = VersionThumbnail.__table__
b = Blob.__table__

_THUMBNAIL = (
    select(t.c.status, t.c.sha256, b.c.size)
    .select_from(t.outerjoin(b, b.c.sha256 == t.c.sha256))
    .where(t.c.document_id == bindparam("document_id"), t.c.version == bindparam("version"))
)

#: A made thumbnail of the same bytes (any version, any document: the outcome depends on
#: the bytes alone), ready ones first.
_SAME_FILE = (
    select(t.c.status, t.c.sha256, t.c.error, b.c.size)
    .select_from(
        t.join(v, (v.c.document_id == t.c.document_id) & (v.c.version == t.c.version)).outerjoin(
            b, b.c.sha256 == t.c.sha256
        )
    )
    .where(v.c.sha256 == bindparam("sha256"), v.c.media_type == bindparam("media_type"))
    .order_by(t.c.status.desc())  # 'ready' before 'failed'
    .limit(1)
)


async def thumbnail(store: Store, document_id: uuid.UUID, version: int) -> Row[Any] | None:
    """The version's thumbnail record (status, blob and its size), None if not made."""
    return await store.first(_THUMBNAIL, {"document_id": document_id, "version": version})


async def made_for_same_file(store: Store, sha256: str, media_type: str) -> Row[Any] | None:
    return await store.first(_SAME_FILE, {"sha256": sha256, "media_type": media_type})


async def missing(
    store: Store, after: tuple[uuid.UUID, int] | None, limit: int
) -> list[tuple[uuid.UUID, int]]:
    """Versions of a previewable type with no thumbnail record, in (document, version)
    order after ``after``: those uploaded before thumbnails existed, or whose job was
    dead-lettered."""
    statement = (
        select(v.c.document_id, v.c.version)
        .select_from(
            v.outerjoin(t, (t.c.document_id == v.c.document_id) & (t.c.version == v.c.version))
        )
        .where(t.c.status.is_(None), v.c.media_type.in_(sorted(PDF_TYPES | IMAGE_TYPES)))
        .order_by(v.c.document_id, v.c.version)
        .limit(limit)
    )
    if after is not None:
        statement = statement.where(tuple_(v.c.document_id, v.c.version) > after)
    return [(row.document_id, row.version) for row in await store.all(statement)]
