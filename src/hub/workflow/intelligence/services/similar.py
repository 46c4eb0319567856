"""Documents like one document, among those the caller may read.

Vectors are unit-length (TF-IDF -> TruncatedSVD); :class:`VectorIndex` answers the
organisation's nearest ones under the current model version (pgvector's HNSW index where
installed, else a matrix product in a worker thread) in rounds, each round filtered by
content's document rule in one query, until ``limit`` readable ones are found; ``score``
is the cosine similarity. Before the first training there are no vectors: the answer is
empty and says so (``basis``: ``none``)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hub.content.api import ContentApi
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.kernel.tenancy import Tenancy
from hub.workflow.intelligence import repositories as repo
from hub.workflow.intelligence.domain import model as ml
from hub.workflow.intelligence.services.insights import readable_document
from hub.workflow.intelligence.services.models import ModelCache
from hub.workflow.intelligence.services.vector_index import VectorIndex


@dataclass(frozen=True)
class Similar:
    items: list[tuple[uuid.UUID, float]]
    basis: str  # "vectors" or "none"
    model_version: int | None
    reason: str | None


class SimilarService:
    def __init__(
        self,
        store: Store,
        content: ContentApi,
        tenancy: Tenancy,
        cache: ModelCache,
        index: VectorIndex,
    ) -> None:
        self.store = store
        self.content = content
        self.tenancy = tenancy
        self.cache = cache
        self.index = index

    async def similar(self, principal: Principal, document_id: uuid.UUID, limit: int) -> Similar:
        doc = await readable_document(
            self.content, self.tenancy, principal, document_id, reading="similar"
        )
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
                await self.index.put(
                    uow.session, doc.organisation_id, version, [(document_id, vector)]
                )
                await uow.commit()
        out: list[tuple[uuid.UUID, float]] = []
        async for chunk in self.index.nearest(
            doc.organisation_id, version, vector, exclude=document_id
        ):
            readable = await self.content.readable_among(
                user_id, doc.organisation_id, [i for i, _ in chunk]
            )
            out += [(i, s) for i, s in chunk if i in readable][: limit - len(out)]
            if len(out) >= limit:
                break
        return Similar(out, "vectors", version, None)


async def refresh_vector(
    session: AsyncSession,
    content: ContentApi,
    cache: ModelCache,
    index: VectorIndex,
    document_id: uuid.UUID,
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
    await index.put(session, doc.organisation_id, version, [(document_id, vector)])
    return True
