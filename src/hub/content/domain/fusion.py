"""Reciprocal rank fusion: how ``/search?mode=hybrid`` merges the full-text ranking with
the meaning-based one.

Each list contributes ``1 / (k + rank)`` (rank from 1) to every document it holds, and
documents are ordered by the sum. Scores of the two rankings are not comparable (a
``ts_rank_cd`` and a cosine), ranks are; ``k = 60`` (Cormack, Clarke and Büttcher, 2009)
keeps a single first place from outweighing agreement further down both lists."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

#: The fusion constant.
RRF_K = 60
#: How deep each ranking is read: a hybrid search reaches at most this many documents
#: from each side (so at most twice this many hits).
HYBRID_DEPTH = 100


def fuse(rankings: Sequence[Sequence[uuid.UUID]], k: int = RRF_K) -> list[tuple[uuid.UUID, float]]:
    """Documents by decreasing fused score (ties: first seen in the earlier ranking)."""
    scores: dict[uuid.UUID, float] = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            scores[doc] = scores.get(doc, 0.0) + 1.0 / (k + rank)
    order = {doc: i for i, doc in enumerate(scores)}
    return sorted(scores.items(), key=lambda item: (-item[1], order[item[0]]))
