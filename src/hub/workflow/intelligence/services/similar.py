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
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from hub.content.api import ContentApi
from hub.kernel.deferred import deferred_module
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.kernel.tenancy import Tenancy
from hub.workflow.intelligence import repositories as repo
from hub.workflow.intelligence.services.insights import readable_document
from hub.workflow.intelligence.services.models import ModelCache
from hub.workflow.intelligence.services.vector_index import CHUNK, VectorIndex

if TYPE_CHECKING:
    from hub.workflow.intelligence.domain import model as ml
else:
    ml = deferred_module("hub.workflow.intelligence.domain.model")

#: Candidates of the first round (at least twice ``limit``; later rounds are ``CHUNK``):
#: one who reads most of the organisation needs no more, and the permission filter then
#: checks 20 ids instead of 200.
FIRST_ROUND = 20


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
        organisation_id = doc.organisation_id
        # The usual case in one statement (pgvector, a stored vector): the version in use
        # and a first round sized for a caller who reads most of the organisation.
        first = min(CHUNK, max(FIRST_ROUND, 2 * limit))
        head = await self.index.nearest_under_current(organisation_id, document_id, first)
        if head is not None:
            version, found = head
            rounds = self.index.nearest(
                organisation_id, version, None, exclude=document_id, skip=len(found)
            )
            items = await self._readable(
                principal, organisation_id, found, rounds if len(found) == first else None, limit
            )
            return Similar(items, "vectors", version, None)
        current = await self.cache.current(organisation_id)
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
                await self.index.put(uow.session, organisation_id, version, [(document_id, vector)])
                await uow.commit()
        rounds = self.index.nearest(organisation_id, version, vector, exclude=document_id)
        items = await self._readable(principal, organisation_id, [], rounds, limit)
        return Similar(items, "vectors", version, None)

    async def _readable(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        found: list[tuple[uuid.UUID, float]],
        rounds: AsyncIterator[list[tuple[uuid.UUID, float]]] | None,
        limit: int,
    ) -> list[tuple[uuid.UUID, float]]:
        """The first ``limit`` of ``found`` and then of ``rounds`` the caller may read
        (content's rule, one query per round), in their order."""
        out: list[tuple[uuid.UUID, float]] = []
        chunk = found
        while True:
            if chunk:
                readable = await self.content.readable_among(
                    principal.user_id, organisation_id, [i for i, _ in chunk]
                )
                out += [(i, s) for i, s in chunk if i in readable][: limit - len(out)]
                if len(out) >= limit:
                    return out
            if rounds is None:
                return out
            chunk = await anext(rounds, [])
            if not chunk:
                return out


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
