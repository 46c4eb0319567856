"""Documents as the API shows them: a document row, its current version and its tags."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row

from hub.content.repositories import documents
from hub.kernel.store import Store

#: Duplicate detection has not been built yet: no document has duplicates.
NO_DUPLICATES: list[dict[str, Any]] = []


def document_view(row: Row[Any], tags: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row.id,
        "organisation_id": row.organisation_id,
        "title": row.title,
        "file_name": row.file_name,
        "media_type": row.media_type,
        "size": row.size,
        "sha256": row.sha256,
        "version": row.current_version,
        "tags": tags,
        "document_type_id": row.document_type_id,
        "custom_fields": row.custom_fields,
        "owner_id": row.owner_id,
        "restricted": row.restricted,
        "legal_hold": row.legal_hold,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "trashed_at": row.trashed_at,
        "extraction": {"status": row.extraction_status},
        "duplicates": list(NO_DUPLICATES),
    }


async def document_views(store: Store, rows: Sequence[Row[Any]]) -> list[dict[str, Any]]:
    tags = await documents.tags_of(store, [r.id for r in rows])
    return [document_view(r, tags[r.id]) for r in rows]


async def view_of(store: Store, document_id: uuid.UUID) -> dict[str, Any]:
    row = await documents.by_id(store, document_id)
    if row is None:
        raise LookupError(document_id)
    (view,) = await document_views(store, [row])
    return view
