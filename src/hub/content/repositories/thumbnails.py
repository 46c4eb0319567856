"""Reads of versions' thumbnails (``content.version_thumbnails``)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Row, bindparam, select

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
