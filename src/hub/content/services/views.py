"""Documents as the API shows them: a document row, its current version, its tags, its
extraction status and the duplicates the caller may read; versions with their
extraction status."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row

from hub.content.domain.access import Caller
from hub.content.repositories import documents
from hub.content.services.duplicates import duplicates_of
from hub.kernel.store import Store


def document_view(
    row: Row[Any], tags: list[dict[str, Any]], duplicates: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
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
        "duplicates": duplicates or [],
    }


async def document_views(
    store: Store, rows: Sequence[Row[Any]], caller: Caller | None = None
) -> list[dict[str, Any]]:
    """Views of ``rows``; their duplicates are those ``caller`` may read (none without
    a caller)."""
    tags = await documents.tags_of(store, [r.id for r in rows])
    similar = await duplicates_of(store, caller, rows)
    return [document_view(r, tags[r.id], similar[r.id]) for r in rows]


async def view_of(
    store: Store, document_id: uuid.UUID, caller: Caller | None = None
) -> dict[str, Any]:
    row = await documents.by_id(store, document_id)
    if row is None:
        raise LookupError(document_id)
    (view,) = await document_views(store, [row], caller)
    return view


def version_view(row: Row[Any]) -> dict[str, Any]:
    """A version row (``repositories.documents.version``/``versions_of``) as shown."""
    view = dict(row._mapping)
    view["extraction"] = {"status": view.pop("extraction_status")}
    return view
