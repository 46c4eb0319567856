"""Hybrid search (``GET /search?mode=hybrid``) and where vectors live: full text and
meaning fused by reciprocal rank, so a query finds a document that uses other words for
the same thing; never a document the caller may not read (restricted, trashed, another
organisation's); pgvector with an HNSW index where the server has it."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.worker import InProcessWorker
from hub.workflow.intelligence.services.vector_index import EF_SEARCH
from tests.integration.identity.support import API, fetch, plain_dsn
from tests.integration.identity.support_orgs import Person, create_org, join, person
from tests.integration.workflow.support_intelligence import seed
from tests.integration.workflow.test_intelligence import train
from tests.unit.workflow.corpus import Doc, corpus

Client = AsyncTestClient[Litestar]
SEARCH = f"{API}/search"

#: A travel document that never says "flight" (the query below): only meaning finds it.
NO_FLIGHT = (
    "booking itinerary airport luggage passport departure arrival taxi reservation "
    "destination hotel visa airport departure itinerary booking luggage arrival"
)


async def search(client: Client, who: Person, org: str, **params: Any) -> Any:
    return await client.get(SEARCH, params={"organisationId": org, **params}, headers=who.auth)


async def ids(client: Client, who: Person, org: str, q: str, mode: str) -> list[uuid.UUID]:
    return [uuid.UUID(h["id"]) for h in await hits(client, who, org, q, mode)]


async def hits(client: Client, who: Person, org: str, q: str, mode: str) -> list[Any]:
    """Every hit of a query, walking the pages."""
    out: list[Any] = []
    cursor = None
    while True:
        params = {"q": q, "mode": mode, "limit": 100, **({"cursor": cursor} if cursor else {})}
        r = await search(client, who, org, **params)
        assert r.status_code == 200, r.text
        out += r.json()["items"]
        cursor = r.json()["nextCursor"]
        if cursor is None:
            return out


async def index_for_search(client: Client, who: Person, org: str) -> None:
    """Seeded documents enter the search index when the organisation's language is set
    (every document is re-indexed)."""
    r = await client.put(
        f"{API}/orgs/{org}/search-settings", json={"language": "english"}, headers=who.auth
    )
    assert r.status_code == 200, r.text


async def test_hybrid_search_finds_other_words_and_only_readable_documents(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    member = await join(client, database_url, org, owner, "member@example.com")
    outsider = await person(client, database_url, "outsider@example.com")
    elsewhere = (await create_org(client, outsider, "Elsewhere"))["id"]

    docs = corpus(400, seed=21)
    target = Doc(NO_FLIGHT, ("travel",), "Letter")
    hidden = Doc(NO_FLIGHT + " restricted", ("travel",), "Letter")
    seeded = await seed(database_url, org, owner.user_id, [*docs, target], restricted=[hidden])
    target_id = next(i for i, d in seeded.documents.items() if d is target)
    hidden_id = next(iter(seeded.restricted))
    trashed_id = next(
        i for i, d in seeded.documents.items() if d is not None and d.tags == ("travel",)
    )
    other = await seed(
        database_url, elsewhere, outsider.user_id, [Doc(NO_FLIGHT, ("travel",), "Letter")]
    )
    foreign_id = next(iter(other.documents))
    await index_for_search(client, owner, org)
    await index_for_search(client, outsider, elsewhere)

    # Before training: hybrid answers the full-text ranking and says why.
    r = await search(client, owner, org, q="flight", mode="hybrid")
    assert r.status_code == 200, r.text
    assert r.json()["semantic"] == {
        "basis": "none",
        "reason": "the organisation's classifier is not trained yet",
    }
    text_ids = await ids(client, owner, org, "flight", "text")
    assert [uuid.UUID(i["id"]) for i in r.json()["items"]] == text_ids[:20]

    seen = await train(client, owner, org, events)
    assert seen[-1]["state"] == "ready", seen[-1]
    await fetch(
        database_url,
        "UPDATE content.documents SET trashed_at = now() WHERE id = $1",
        trashed_id,
    )

    # Other words for the same thing: full text cannot find the document, hybrid does.
    text_ids = await ids(client, owner, org, "flight", "text")
    assert text_ids, "full text finds the documents that say flight"
    assert target_id not in text_ids
    r = await search(client, owner, org, q="flight", mode="hybrid", limit=100)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["semantic"] == {"basis": "vectors", "reason": None}
    assert body["fuzzy"] is False
    owner_hits = await hits(client, owner, org, "flight", "hybrid")
    as_owner = [uuid.UUID(h["id"]) for h in owner_hits]
    assert target_id in as_owner
    assert set(text_ids[:100]) <= set(as_owner), "the first 100 full-text hits stay"
    scores = [i["score"] for i in owner_hits]
    assert scores == sorted(scores, reverse=True)
    hit = next(i for i in owner_hits if i["id"] == str(target_id))
    assert hit["snippet"].startswith("booking itinerary")
    assert len(as_owner) == len(set(as_owner))

    # The permission matrix: the owner may read the restricted one, the member may not;
    # nobody gets a trashed document or another organisation's.
    as_member = await ids(client, member, org, "flight", "hybrid")
    assert hidden_id in as_owner
    assert hidden_id not in as_member
    assert target_id in as_member
    for found in (as_owner, as_member):
        assert trashed_id not in found
        assert foreign_id not in found
        assert set(found) <= set(seeded.documents)
    r = await search(client, outsider, org, q="flight", mode="hybrid")
    assert r.status_code == 404
    as_outsider = await ids(client, outsider, elsewhere, "flight", "hybrid")
    assert set(as_outsider) <= {foreign_id}
    # Filters apply to the meaning-based side too.
    r = await search(
        client, owner, org, q="flight", mode="hybrid", limit=100, tag=str(seeded.tag_ids["hr"])
    )
    assert target_id not in {uuid.UUID(i["id"]) for i in r.json()["items"]}

    # Unhappy paths: facets, a cursor of the other mode, an unknown mode.
    r = await search(client, owner, org, q="flight", mode="hybrid", facets="tags")
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "facets"
    text_page = await search(client, owner, org, q="flight", limit=1)
    cursor = text_page.json()["nextCursor"]
    r = await search(client, owner, org, q="flight", mode="hybrid", cursor=cursor)
    assert (r.status_code, r.json()["code"]) == (422, "invalid_cursor")
    hybrid_page = await search(client, owner, org, q="flight", mode="hybrid", limit=1)
    r = await search(client, owner, org, q="flight", cursor=hybrid_page.json()["nextCursor"])
    assert (r.status_code, r.json()["code"]) == (422, "invalid_cursor")
    r = await search(client, owner, org, q="flight", mode="semantic")
    assert r.status_code == 400

    # The default mode stays full text, and the document states the mode.
    default = await search(client, owner, org, q="flight", limit=100)
    assert [uuid.UUID(i["id"]) for i in default.json()["items"]] == text_ids[:100]
    assert default.json().get("semantic") is None
    spec = (await client.get("/api/openapi.json")).json()
    params = spec["paths"]["/api/v1/search"]["get"]["parameters"]
    mode = next(p for p in params if p["name"] == "mode")
    assert mode["required"] is False
    assert set(mode["schema"]["enum"]) == {"text", "hybrid"}
    assert "reciprocal rank" in spec["paths"]["/api/v1/search"]["get"]["description"]


async def _pgvector_available(database_url: str) -> bool:
    rows = await fetch(database_url, "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
    return bool(rows)


async def test_vectors_live_in_pgvector_with_an_hnsw_index_where_available(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    if not await _pgvector_available(database_url):
        pytest.skip(
            "this PostgreSQL server does not ship pgvector: vectors stay real[] and are "
            "compared in the API process (covered by test_intelligence.py's similar checks)"
        )
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    docs = corpus(300, seed=5)
    seeded = await seed(database_url, org, owner.user_id, docs)
    await train(client, owner, org, events)

    rows = await fetch(
        database_url,
        "SELECT document_id, model_version, vector_dims(embedding) AS dims"
        " FROM workflow.document_embeddings",
    )
    assert {r["document_id"] for r in rows} == set(seeded.documents)
    assert {(r["model_version"], r["dims"]) for r in rows} == {(1, 128)}
    index = await fetch(
        database_url,
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'workflow'"
        " AND tablename = 'document_embeddings' AND indexdef LIKE '%hnsw%'",
    )
    assert "vector_cosine_ops" in index[0]["indexdef"]
    # The nearest-neighbour statement can use the HNSW index (the planner is told not to
    # scan the table, so a statement the index cannot serve would show a Seq Scan).
    probe = rows[0]["document_id"]
    explained = await _explain_nearest(database_url, probe, uuid.UUID(org))
    assert "ix_document_embeddings_hnsw" in explained, explained
    # The search runs as workflow.nearest_documents(), the HNSW settings attached to it
    # (one statement, no transaction): as wide as a search round, iterative.
    (config,) = await fetch(
        database_url,
        "SELECT proconfig FROM pg_proc WHERE proname = 'nearest_documents'"
        " AND pronamespace = 'workflow'::regnamespace",
    )
    assert sorted(config["proconfig"]) == [
        f"hnsw.ef_search={EF_SEARCH}",
        "hnsw.iterative_scan=strict_order",
    ]

    # Similar documents come from SQL: same answer as the exact cosine over real[] arrays.
    r = await client.get(
        f"{API}/documents/{probe}/similar", params={"limit": 10}, headers=owner.auth
    )
    assert r.status_code == 200, r.text
    got = [(i["id"], i["score"]) for i in r.json()["items"]]
    exact = await fetch(
        database_url,
        """
        SELECT o.document_id::text AS id,
               (SELECT sum(a * b) FROM unnest(o.vector, p.vector) AS u(a, b)) AS score
        FROM workflow.document_vectors o, workflow.document_vectors p
        WHERE p.document_id = $1 AND o.document_id <> $1
        ORDER BY score DESC LIMIT 10
        """,
        probe,
    )
    assert [i for i, _ in got] == [r["id"] for r in exact]
    for (_, score), row in zip(got, exact, strict=True):
        assert abs(score - float(row["score"])) < 1e-3


async def _explain_nearest(database_url: str, probe: uuid.UUID, org: uuid.UUID) -> str:
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL enable_seqscan = off")
            await conn.execute("SET LOCAL enable_sort = off")
            rows = await conn.fetch(
                """
                EXPLAIN SELECT document_id FROM workflow.document_embeddings
                WHERE organisation_id = $2 AND model_version = 1
                ORDER BY embedding <=> (SELECT embedding FROM workflow.document_embeddings
                                        WHERE document_id = $1)
                LIMIT 10
                """,
                probe,
                org,
            )
        return "\n".join(r[0] for r in rows)
    finally:
        await conn.close()
