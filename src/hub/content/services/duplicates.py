"""Duplicates of documents: exact ones (the same bytes as their current version) and
near ones (alike text, by MinHash fingerprint), within one organisation.

Exact duplicates are found when a document is shown, by the SHA-256 of its current file
(indexed), so an upload's answer already flags them. Near-duplicates are stored when a
version's text is extracted: the document's fingerprint and LSH buckets replace its old
ones, candidates are the documents sharing a bucket (an index lookup, not a scan of the
organisation), and those similar enough are kept as pairs in both directions. A new
version drops the document's fingerprint and pairs until its own text is extracted.

Either kind is listed only when the caller may read the other document
(``repositories.documents.readable``) and it is not in the trash.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.content.domain.access import Caller
from hub.content.domain.extraction import MAX_LISTED, band_keys, nearest
from hub.content.models import DocumentFingerprint, FingerprintBand, NearDuplicate
from hub.content.repositories import extraction
from hub.kernel.store import Store

df = DocumentFingerprint.__table__
fp = FingerprintBand.__table__
nd = NearDuplicate.__table__


async def duplicates_of(
    store: Store, caller: Caller | None, rows: Sequence[Any]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """``[{id, similarity}]`` per document row (most similar first, at most
    :data:`MAX_LISTED`); empty without a caller to filter for."""
    out: dict[uuid.UUID, list[dict[str, Any]]] = {r.id: [] for r in rows}
    if caller is None or not rows:
        return out
    found: dict[uuid.UUID, dict[uuid.UUID, float]] = {r.id: {} for r in rows}
    same = await extraction.exact(
        store, caller, [r.sha256 for r in rows], limit=len(rows) * (MAX_LISTED + 1)
    )
    by_sha: dict[str, list[uuid.UUID]] = {}
    for hit in same:
        by_sha.setdefault(hit.sha256, []).append(hit.id)
    for row in rows:
        for other in by_sha.get(row.sha256, []):
            if other != row.id:
                found[row.id][other] = 1.0
    for pair in await extraction.near(store, caller, [r.id for r in rows]):
        known = found[pair.document_id]
        known[pair.other_id] = max(known.get(pair.other_id, 0.0), round(pair.similarity, 4))
    for document_id, similar in found.items():
        ranked = sorted(similar.items(), key=lambda item: (-item[1], str(item[0])))
        out[document_id] = [{"id": i, "similarity": s} for i, s in ranked[:MAX_LISTED]]
    return out


async def forget(session: AsyncSession, document_id: uuid.UUID) -> None:
    """Drop a document's fingerprint, buckets and pairs (its current text changed)."""
    await session.execute(delete(DocumentFingerprint).where(df.c.document_id == document_id))
    await session.execute(delete(FingerprintBand).where(fp.c.document_id == document_id))
    await session.execute(
        delete(NearDuplicate).where(
            or_(nd.c.document_id == document_id, nd.c.other_id == document_id)
        )
    )


async def fingerprinted(
    session: AsyncSession,
    document_id: uuid.UUID,
    organisation_id: uuid.UUID,
    version: int,
    signature: list[int] | None,
) -> int:
    """Store the document's new fingerprint and its near-duplicate pairs; returns how
    many near-duplicates it has."""
    # One organisation's fingerprints are written one at a time: two alike documents
    # extracted at once would otherwise each miss the other's uncommitted buckets.
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(str(organisation_id), 0)))
    )
    await forget(session, document_id)
    if signature is None:
        return 0
    keys = band_keys(signature)
    rows = (
        await session.execute(extraction.candidates_statement(organisation_id, document_id, keys))
    ).all()
    similar = nearest(signature, [(r.document_id, list(r.minhash)) for r in rows])
    await session.execute(
        insert(DocumentFingerprint).values(
            document_id=document_id,
            organisation_id=organisation_id,
            version=version,
            minhash=signature,
        )
    )
    await session.execute(
        insert(FingerprintBand),
        [
            {
                "organisation_id": organisation_id,
                "band": band,
                "bucket": key,
                "document_id": document_id,
            }
            for band, key in enumerate(keys)
        ],
    )
    if similar:
        await session.execute(
            insert(NearDuplicate),
            [
                pair
                for other, score in similar
                for pair in (
                    {"document_id": document_id, "other_id": other, "similarity": score},
                    {"document_id": other, "other_id": document_id, "similarity": score},
                )
            ],
        )
    return len(similar)
