"""A seam for meaning-based ranking: content's search may fuse it in, a context that
computes document vectors provides it, and neither imports the other.

Content owns search and the permission rule; workflow's intelligence owns the vectors.
Content may not import workflow (contexts depend on each other only downwards, and
workflow already depends on content), so the dependency is inverted here: the kernel
holds one :class:`SemanticSearch` slot per process; intelligence's services factory
``provide``\\ s a :class:`SemanticRanker` into it at start-up, and content's search reads
the slot per request (``None``: no context provides one, e.g. a deployment without the
workflow context).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SemanticRanking:
    """Documents of one organisation closest in meaning to a query, best first, with
    their similarity (cosine, -1..1). Not filtered by any permission: the caller of
    :meth:`SemanticRanker.rank` applies its own rule. ``basis``: ``vectors``, or ``none``
    with ``reason`` when there is nothing to rank with yet (no model trained)."""

    items: list[tuple[uuid.UUID, float]]
    basis: str
    reason: str | None = None


class SemanticRanker(Protocol):
    async def rank(self, organisation_id: uuid.UUID, query: str, limit: int) -> SemanticRanking:
        """Up to ``limit`` documents of the organisation nearest to ``query``."""
        ...


class SemanticSearch:
    """The slot: empty until a context provides a ranker (once per process)."""

    def __init__(self) -> None:
        self._ranker: SemanticRanker | None = None

    @property
    def ranker(self) -> SemanticRanker | None:
        return self._ranker

    def provide(self, ranker: SemanticRanker) -> None:
        if self._ranker is not None and self._ranker is not ranker:
            raise RuntimeError("a semantic ranker is already provided in this process")
        self._ranker = ranker
