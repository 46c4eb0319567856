"""Queries for share links and notes."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Row, select

from hub.content.models import Document, Note, ShareLink
from hub.kernel.store import Store

d = Document.__table__
sl = ShareLink.__table__
n = Note.__table__
#: A note as the API shows it (``body`` is ``text`` on the wire).
NOTE = (n.c.id, n.c.document_id, n.c.author_id, n.c.body.label("text"), n.c.created_at)


async def link_by_hash(store: Store, token_sha256: str) -> Row[Any] | None:
    """The link with that token hash and its document's organisation, current version and
    trash mark."""
    return await store.first(
        select(
            sl,
            d.c.organisation_id,
            d.c.current_version,
            d.c.trashed_at.label("document_trashed_at"),
        )
        .join(d, d.c.id == sl.c.document_id)
        .where(sl.c.token_sha256 == token_sha256)
    )


async def links_of(
    store: Store, document_id: uuid.UUID, *, before: uuid.UUID | None, limit: int
) -> list[Row[Any]]:
    """Newest first (ids are UUIDv7); ``limit + 1`` rows so the caller can tell if there
    is more."""
    where = [sl.c.document_id == document_id]
    if before is not None:
        where.append(sl.c.id < before)
    return await store.all(select(sl).where(*where).order_by(sl.c.id.desc()).limit(limit + 1))


async def link(store: Store, document_id: uuid.UUID, link_id: uuid.UUID) -> Row[Any] | None:
    return await store.first(select(sl).where(sl.c.document_id == document_id, sl.c.id == link_id))


async def notes_of(
    store: Store, document_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
) -> list[Row[Any]]:
    """Oldest first, as a conversation reads; ``limit + 1`` rows."""
    where = [n.c.document_id == document_id]
    if after is not None:
        where.append(n.c.id > after)
    return await store.all(select(*NOTE).where(*where).order_by(n.c.id).limit(limit + 1))


async def note(store: Store, document_id: uuid.UUID, note_id: uuid.UUID) -> Row[Any] | None:
    return await store.first(select(*NOTE).where(n.c.document_id == document_id, n.c.id == note_id))
