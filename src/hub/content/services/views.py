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
from hub.content.services.doclinks import visible_links
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
        "archive_serial_number": row.archive_serial_number,
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
    store: Store, rows: Sequence[Row[Any]], viewer: Caller | None
) -> list[dict[str, Any]]:
    """The documents as ``viewer`` sees them: document links it may not follow are left
    out, and its duplicates are those it may read (None: a system actor — no link filter,
    no duplicates)."""
    tags = await documents.tags_of(store, [r.id for r in rows])
    similar = await duplicates_of(store, viewer, rows)
    views = [document_view(r, tags[r.id], similar[r.id]) for r in rows]
    return views if viewer is None else await visible_links(store, viewer, views)


async def view_of(store: Store, document_id: uuid.UUID, viewer: Caller | None) -> dict[str, Any]:
    row = await documents.by_id(store, document_id)
    if row is None:
        raise LookupError(document_id)
    (view,) = await document_views(store, [row], viewer)
    return view


def version_view(row: Row[Any]) -> dict[str, Any]:
    """A version row (``repositories.documents.version``/``versions_of``) as shown."""
    view = dict(row._mapping)
    view["extraction"] = {"status": view.pop("extraction_status")}
    return view
