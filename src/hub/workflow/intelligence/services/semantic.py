"""Intelligence's side of hybrid search: a query's nearest documents by meaning.

The query is turned into a vector by the organisation's current model exactly as a
document is (TF-IDF over words and character n-grams, then the SVD, unit length), so a
query sharing no word with a document still lands near it when the words it uses occur
in the same documents as the document's words (latent semantic analysis). Provided to
content's search through ``hub.kernel.semantic`` (content may not import workflow);
content applies its permission rule to the ids."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

from hub.kernel.deferred import deferred_module
from hub.kernel.semantic import SemanticRanking
from hub.workflow.intelligence.services.models import ModelCache
from hub.workflow.intelligence.services.vector_index import VectorIndex

if TYPE_CHECKING:
    from hub.workflow.intelligence.domain import model as ml
else:
    ml = deferred_module("hub.workflow.intelligence.domain.model")


class QueryRanker:
    def __init__(self, cache: ModelCache, index: VectorIndex) -> None:
        self.cache = cache
        self.index = index

    async def rank(self, organisation_id: uuid.UUID, query: str, limit: int) -> SemanticRanking:
        current = await self.cache.current(organisation_id)
        if current is None:
            return SemanticRanking([], "none", "the organisation's classifier is not trained yet")
        version, model = current
        computed = await asyncio.to_thread(ml.vectors, model, [query])
        if computed is None:
            return SemanticRanking([], "none", "the model has no document vectors")
        vector = [float(v) for v in computed[0]]
        if not any(vector):
            return SemanticRanking([], "vectors", "no word of the query is in the vocabulary")
        items: list[tuple[uuid.UUID, float]] = []
        async for chunk in self.index.nearest(organisation_id, version, vector):
            items += chunk[: limit - len(items)]
            if len(items) >= limit:
                break
        return SemanticRanking(items, "vectors")
