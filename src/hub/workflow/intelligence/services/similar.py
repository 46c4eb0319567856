"""Documents like one document, among those the caller may read.

Vectors are unit-length float arrays in ``workflow.document_vectors`` (pgvector is not
required); the organisation's vectors of the current model version are compared with a
matrix product in a worker thread, the best candidates are filtered by content's
document rule in one query, and the first ``limit`` readable ones are answered with their
cosine similarity as ``score``. Before the first training there are no vectors: the answer
is empty and says so (``basis``: ``none``)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from hub.content.api import ContentApi
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.kernel.tenancy import Tenancy
from hub.workflow.intelligence import repositories as repo
from hub.workflow.intelligence.domain import model as ml
from hub.workflow.intelligence.services.insights import readable_document
from hub.workflow.intelligence.services.models import ModelCache

#: Candidates asked of the permission filter per round.
CANDIDATES = 200


@dataclass(frozen=True)
class Similar:
    items: list[tuple[uuid.UUID, float]]
    basis: str  # "vectors" or "none"
    model_version: int | None
    reason: str | None


class SimilarService:
    def __init__(
        self, store: Store, content: ContentApi, tenancy: Tenancy, cache: ModelCache
    ) -> None:
        self.store = store
        self.content = content
        self.tenancy = tenancy
        self.cache = cache

    async def similar(self, principal: Principal, document_id: uuid.UUID, limit: int) -> Similar:
        doc = await readable_document(self.content, self.tenancy, principal, document_id)
        user_id = principal.user_id
        current = await self.cache.current(doc.organisation_id)
        if current is None:
            return Similar([], "none", None, "the organisation's classifier is not trained yet")
        version, model = current
        vector = await repo.vector_of(self.store, document_id, version)
        if vector is None:
            text = await self.content.text_of(document_id)
            if not text:
                return Similar([], "none", version, "the document has no extracted text yet")
            computed = await asyncio.to_thread(ml.vectors, model, [text])
            if computed is None:
                return Similar([], "none", version, "the model has no document vectors")
            vector = [float(v) for v in computed[0]]
            async with self.store.uow() as uow:
                await repo.put_vectors(
                    uow.session, doc.organisation_id, version, [(document_id, vector)]
                )
                await uow.commit()
        rows = await repo.vectors_of(self.store, doc.organisation_id, version)
        ids = [r.document_id for r in rows if r.document_id != document_id]
        if not ids:
            return Similar([], "vectors", version, None)
        matrix = [r.vector for r in rows if r.document_id != document_id]
        ranked = await asyncio.to_thread(_rank, matrix, vector)
        out: list[tuple[uuid.UUID, float]] = []
        for start in range(0, len(ranked), CANDIDATES):
            chunk = [(ids[i], score) for i, score in ranked[start : start + CANDIDATES]]
            readable = await self.content.readable_among(
                user_id, doc.organisation_id, [i for i, _ in chunk]
            )
            out += [(i, s) for i, s in chunk if i in readable][: limit - len(out)]
            if len(out) >= limit:
                break
        return Similar(out, "vectors", version, None)


async def refresh_vector(
    session: AsyncSession, content: ContentApi, cache: ModelCache, document_id: uuid.UUID
) -> bool:
    """Compute and store the vector of a document whose text was (re-)extracted, under the
    organisation's current model; False when there is no model or no text."""
    doc = await content.document(document_id)
    if doc is None or doc.trashed_at is not None:
        return False
    current = await cache.current(doc.organisation_id)
    text = await content.text_of(document_id)
    if current is None or not text:
        return False
    version, model = current
    computed = await asyncio.to_thread(ml.vectors, model, [text])
    if computed is None:
        return False
    vector = [float(v) for v in computed[0]]
    await repo.put_vectors(session, doc.organisation_id, version, [(document_id, vector)])
    return True


def _rank(matrix: list[list[float]], vector: list[float]) -> list[tuple[int, float]]:
    scores = np.asarray(matrix, dtype=np.float32) @ np.asarray(vector, dtype=np.float32)
    order = np.argsort(-scores)
    return [(int(i), round(float(scores[i]), 4)) for i in order]
