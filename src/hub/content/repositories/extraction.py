"""Reads for text extraction and duplicates.

Duplicates a caller sees are filtered with :func:`documents.readable`, the same SQL rule
the document list uses, and never include trashed documents.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, and_, bindparam, func, or_, select, tuple_

from hub.content.domain.access import Caller
from hub.content.domain.extraction import FAILED, MAX_CANDIDATES, READY, SETTLED
from hub.content.models import (
    Document,
    DocumentFingerprint,
    DocumentVersion,
    FingerprintBand,
    NearDuplicate,
    VersionText,
)
from hub.content.repositories.documents import readable
from hub.kernel.store import Store

d = Document.__table__
v = DocumentVersion.__table__
vt = VersionText.__table__
fp = FingerprintBand.__table__
df = DocumentFingerprint.__table__
nd = NearDuplicate.__table__

_TARGET = (
    select(
        v.c.document_id,
        v.c.version,
        v.c.sha256,
        v.c.media_type,
        d.c.organisation_id,
        d.c.current_version,
        func.coalesce(vt.c.status, "pending").label("status"),
    )
    .join(d, d.c.id == v.c.document_id)
    .outerjoin(vt, and_(vt.c.document_id == v.c.document_id, vt.c.version == v.c.version))
    .where(v.c.document_id == bindparam("document_id"), v.c.version == bindparam("version"))
)


async def target(store: Store, document_id: uuid.UUID, version: int) -> Row[Any] | None:
    """The version to extract, its document's organisation and current version, and its
    extraction status."""
    return await store.first(_TARGET, {"document_id": document_id, "version": version})


async def settled_twin(
    store: Store, document_id: uuid.UUID, sha256: str, version: int
) -> Row[Any] | None:
    """Another version of the document with the same bytes whose extraction settled (a
    restored version): its text is this one's too."""
    return await store.first(
        select(vt.c.status, vt.c.text, vt.c.truncated, vt.c.ocr, vt.c.version)
        .join(v, and_(v.c.document_id == vt.c.document_id, v.c.version == vt.c.version))
        .where(
            vt.c.document_id == document_id,
            vt.c.version != version,
            v.c.sha256 == sha256,
            vt.c.status.in_(sorted(SETTLED)),
        )
        .order_by(vt.c.version.desc())
        .limit(1)
    )


async def text_of(store: Store, document_id: uuid.UUID, version: int) -> Row[Any] | None:
    return await store.first(
        select(vt).where(vt.c.document_id == document_id, vt.c.version == version)
    )


def candidates_statement(
    organisation_id: uuid.UUID, document_id: uuid.UUID, keys: Sequence[int]
) -> Any:
    """Documents of the organisation sharing an LSH bucket with ``keys`` (band by band),
    those sharing most first, with their fingerprints."""
    shared = (
        select(fp.c.document_id, func.count().label("shared"))
        .where(
            fp.c.organisation_id == organisation_id,
            tuple_(fp.c.band, fp.c.bucket).in_(list(enumerate(keys))),
            fp.c.document_id != document_id,
        )
        .group_by(fp.c.document_id)
        .order_by(func.count().desc(), fp.c.document_id)
        .limit(MAX_CANDIDATES)
        .subquery()
    )
    return select(df.c.document_id, df.c.minhash).join(
        shared, shared.c.document_id == df.c.document_id
    )


async def exact(store: Store, caller: Caller, shas: Sequence[str], limit: int) -> list[Row[Any]]:
    """``(id, sha256)`` of readable, untrashed documents whose current file is one of
    ``shas``."""
    if not shas:
        return []
    return await store.all(
        select(d.c.id, v.c.sha256)
        .join(v, and_(v.c.document_id == d.c.id, v.c.version == d.c.current_version))
        .where(v.c.sha256.in_(sorted(set(shas))), d.c.trashed_at.is_(None), readable(caller))
        .order_by(d.c.created_at, d.c.id)
        .limit(limit)
    )


async def near(store: Store, caller: Caller, document_ids: Sequence[uuid.UUID]) -> list[Row[Any]]:
    """``(document_id, other_id, similarity)`` whose other side the caller may read."""
    if not document_ids:
        return []
    return await store.all(
        select(nd.c.document_id, nd.c.other_id, nd.c.similarity)
        .join(d, d.c.id == nd.c.other_id)
        .where(
            nd.c.document_id.in_(list(document_ids)),
            d.c.trashed_at.is_(None),
            readable(caller),
        )
        .order_by(nd.c.similarity.desc(), nd.c.other_id)
    )


def unsettled_statement(limit: int) -> Any:
    """Current versions of untrashed documents whose extraction is missing or failed,
    oldest first."""
    return (
        select(d.c.id.label("document_id"), d.c.current_version.label("version"))
        .outerjoin(vt, and_(vt.c.document_id == d.c.id, vt.c.version == d.c.current_version))
        .where(
            d.c.trashed_at.is_(None),
            or_(vt.c.status.is_(None), vt.c.status == FAILED),
        )
        .order_by(d.c.created_at, d.c.id)
        .limit(limit)
    )


def retaggable_statement(
    organisation_id: uuid.UUID | None, after: uuid.UUID | None, size: int
) -> Any:
    """Untrashed documents whose current version's text is ready, by id (a batch of
    ``hub documents retag``)."""
    query = (
        select(d.c.id, d.c.organisation_id)
        .join(vt, and_(vt.c.document_id == d.c.id, vt.c.version == d.c.current_version))
        .where(d.c.trashed_at.is_(None), vt.c.status == READY, vt.c.text.is_not(None))
        .order_by(d.c.id)
        .limit(size)
    )
    if organisation_id is not None:
        query = query.where(d.c.organisation_id == organisation_id)
    if after is not None:
        query = query.where(d.c.id > after)
    return query


def current_text_statement(document_id: uuid.UUID) -> Any:
    """The document's current version's text, the document row locked."""
    return (
        select(vt.c.text)
        .join(d, and_(vt.c.document_id == d.c.id, vt.c.version == d.c.current_version))
        .where(d.c.id == document_id, d.c.trashed_at.is_(None))
        .with_for_update(of=d)
    )
