"""Documents as the API shows them: a document row, its current version and its tags."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row

from hub.content.domain.access import Caller
from hub.content.repositories import documents
from hub.content.services.doclinks import visible_links
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


async def document_views(
    store: Store, rows: Sequence[Row[Any]], viewer: Caller | None
) -> list[dict[str, Any]]:
    """The documents as ``viewer`` sees them: document links it may not follow are left
    out (None: no filter, for a system actor)."""
    tags = await documents.tags_of(store, [r.id for r in rows])
    views = [document_view(r, tags[r.id]) for r in rows]
    return views if viewer is None else await visible_links(store, viewer, views)


async def view_of(store: Store, document_id: uuid.UUID, viewer: Caller | None) -> dict[str, Any]:
    row = await documents.by_id(store, document_id)
    if row is None:
        raise LookupError(document_id)
    (view,) = await document_views(store, [row], viewer)
    return view
