"""Hybrid search's rules that need no database: reciprocal rank fusion, and what a
server without a semantic ranker answers."""

from __future__ import annotations

import uuid
from typing import cast

import pytest

from hub.content.domain.access import Caller
from hub.content.domain.fusion import RRF_K, fuse
from hub.content.repositories.documents import Filters
from hub.content.services.search import SearchService
from hub.kernel.errors import Invalid
from hub.kernel.semantic import SemanticRanking, SemanticSearch
from hub.kernel.store import Store

A, B, C, D = (uuid.UUID(int=i) for i in range(1, 5))


def test_fusion_rewards_agreement_over_one_first_place() -> None:
    fused = fuse([[A, B, C], [C, D, B]])
    assert [doc for doc, _ in fused] == [C, B, A, D]
    scores = dict(fused)
    assert scores[C] == pytest.approx(1 / (RRF_K + 3) + 1 / (RRF_K + 1))
    assert scores[A] == pytest.approx(1 / (RRF_K + 1))


def test_fusion_keeps_a_single_ranking_in_order_and_breaks_ties_by_first_seen() -> None:
    assert [doc for doc, _ in fuse([[D, A, C], []])] == [D, A, C]
    assert [doc for doc, _ in fuse([[A], [B]])] == [A, B]
    assert fuse([[], []]) == []


async def test_hybrid_without_a_semantic_ranker_is_a_422_naming_mode() -> None:
    service = SearchService(cast(Store, None), semantic=SemanticSearch())
    caller = Caller(uuid.uuid4(), uuid.uuid4(), frozenset(), frozenset())
    with pytest.raises(Invalid) as raised:
        await service.hybrid(caller, "invoice", Filters())
    assert raised.value.code == "search_mode_unavailable"
    assert raised.value.errors is not None
    assert raised.value.errors[0].field == "mode"


class _Ranker:
    async def rank(self, organisation_id: uuid.UUID, query: str, limit: int) -> SemanticRanking:
        return SemanticRanking([], "none", "nothing")


def test_one_semantic_ranker_per_process() -> None:
    slot = SemanticSearch()
    assert slot.ranker is None
    ranker = _Ranker()
    slot.provide(ranker)
    slot.provide(ranker)  # the same one again (a second wiring of the same services)
    assert slot.ranker is ranker
    with pytest.raises(RuntimeError):
        slot.provide(_Ranker())
