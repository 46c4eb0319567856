"""Search latency over a seeded organisation: the service (``SearchService``, as a request
runs it, minus HTTP) beside the same SQL sent bare through asyncpg.

    .venv/bin/python -m bench.search --database-url postgresql+asyncpg://…  [--documents N]

Without ``--database-url`` an embedded PostgreSQL is started under a temporary directory
(and stopped at the end). The database is migrated, then one organisation is seeded (once:
a rerun with the same URL and size reuses it) with N documents whose search rows carry
~2 KB of text each, written straight into ``content.search_documents`` (extracted text is
not wired yet): words drawn from a 20,000-word pseudo vocabulary with a skewed (Zipf-like)
frequency, 1 or 2 of 50 tags, 20 owners, every 20th document restricted. The caller is a
member with ``content.documents.read`` who owns none of them, so the permission filter is
the real one.

Queries: a common word (in most documents), a rare word (~20 documents), a phrase, an
autocomplete prefix, and a common word with a tag filter. Each runs ``--runs`` times after
a warm-up; p50/p95/p99 in milliseconds. Not part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url

from hub.content.domain.access import READ, Caller
from hub.content.domain.search import RANK_WINDOW, Marks, config_of, like_pattern
from hub.content.models import outbox
from hub.content.repositories import search as repo
from hub.content.repositories.documents import Filters
from hub.content.services.search import SearchService
from hub.kernel import migrations
from hub.kernel.db import Database
from hub.kernel.store import Store

ORG = uuid.UUID("00000000-0000-7000-8000-00000000a000")
MEMBER = uuid.UUID("00000000-0000-7000-8000-00000000a001")
ROLE = uuid.UUID("00000000-0000-7000-8000-00000000a002")
RARE = "zeppelin"
PHRASE_A, PHRASE_B = "late", "payment"


def vocabulary(size: int = 20_000) -> list[str]:
    rng = random.Random(7)
    consonants, vowels = "bcdfghjklmnprstvz", "aeiou"
    words: dict[str, None] = {}
    while len(words) < size:
        syllables = rng.randint(2, 4)
        words["".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(syllables))] = None
    return list(words)


SEED = """
WITH params AS (SELECT $1::uuid AS org, $2::text[] AS vocab, $3::int AS n)
INSERT INTO content.documents
    (id, organisation_id, owner_id, title, custom_fields, current_version, restricted,
     created_at, updated_at)
SELECT gen_random_uuid(), p.org,
       ('00000000-0000-7000-8000-0000000b' || lpad((i % 20)::text, 4, '0'))::uuid,
       initcap(p.vocab[1 + (i * 7) % 2000] || ' ' || p.vocab[1 + (i * 13) % 5000] || ' '
               || p.vocab[1 + (i * 31) % 20000]),
       '{}'::jsonb, 1, i % 20 = 0,
       now() - i * interval '1 minute', now() - i * interval '1 minute'
FROM params p, generate_series(1, p.n) AS i
"""

TAGS = """
INSERT INTO content.tags (id, organisation_id, name, name_key)
SELECT gen_random_uuid(), $1::uuid, 'Tag ' || t, 'tag ' || t FROM generate_series(1, 50) t
"""

TAGGING = """
INSERT INTO content.document_tags (document_id, tag_id)
SELECT DISTINCT d.id, t.id
FROM (SELECT id, row_number() OVER (ORDER BY id) AS i FROM content.documents
      WHERE organisation_id = $1) d
JOIN (SELECT id, row_number() OVER (ORDER BY name) AS j FROM content.tags
      WHERE organisation_id = $1) t
  ON t.j = 1 + d.i % 50 OR (d.i % 3 = 0 AND t.j = 1 + (d.i * 7) % 50)
"""

ROWS = """
WITH params AS (SELECT $2::text[] AS vocab)
INSERT INTO content.search_documents
    (document_id, organisation_id, title_key, tags_key, body, terms, head)
SELECT d.id, d.organisation_id, lower(unaccent(d.title)), lower(unaccent(tg.names)), x.body,
       h.head || setweight(to_tsvector('content.hub_english', x.body), 'C'), h.head
FROM content.documents d, params p
CROSS JOIN LATERAL (
    SELECT coalesce(string_agg(t.name, ' '), '') AS names
    FROM content.document_tags dt JOIN content.tags t ON t.id = dt.tag_id
    WHERE dt.document_id = d.id
) tg
CROSS JOIN LATERAL (
    SELECT string_agg(
        CASE WHEN g = 17 AND abs(hashtext(d.id::text)) % 100 = 0 THEN $3 || ' ' || $4
             ELSE p.vocab[1 + floor(20000 * power(random(), 2))::int] END, ' ')
        || CASE WHEN abs(hashtext(d.id::text)) % $6 = 0 THEN ' ' || $5 ELSE '' END AS body
    FROM generate_series(1, 300) g
    WHERE d.id IS NOT NULL
) x
CROSS JOIN LATERAL (
    SELECT setweight(to_tsvector('content.hub_english', d.title), 'A')
           || setweight(to_tsvector('content.hub_english', tg.names), 'B') AS head
) h
WHERE d.organisation_id = $1
"""


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def seed(url: str, documents: int) -> None:
    conn = await asyncpg.connect(_dsn(url))
    try:
        have = await conn.fetchval(
            "SELECT count(*) FROM content.search_documents WHERE organisation_id = $1", ORG
        )
        if have == documents:
            print(f"reusing {have} seeded documents")
            return
        print(f"seeding {documents} documents …", flush=True)
        started = time.perf_counter()
        await conn.execute("DELETE FROM content.documents WHERE organisation_id = $1", ORG)
        await conn.execute("DELETE FROM content.tags WHERE organisation_id = $1", ORG)
        words = vocabulary()
        await conn.execute(SEED, ORG, words, documents)
        await conn.execute(TAGS, ORG)
        await conn.execute(TAGGING, ORG)
        rare_every = max(1, documents // 20)
        await conn.execute(ROWS, ORG, words, PHRASE_A, PHRASE_B, RARE, rare_every)
        await conn.execute("VACUUM ANALYZE content.documents")
        await conn.execute("VACUUM ANALYZE content.search_documents")
        await conn.execute("VACUUM ANALYZE content.document_tags")
        size = await conn.fetchval(
            "SELECT pg_size_pretty(pg_total_relation_size('content.search_documents'))"
        )
        print(f"seeded in {time.perf_counter() - started:.0f} s; search_documents {size}")
    finally:
        await conn.close()


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return q[49], q[94], q[98]


async def timed(run: Callable[[], Awaitable[Any]], runs: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        await run()
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        await run()
        out.append((time.perf_counter() - started) * 1000)
    return out


def literal_sql(statement: Any) -> str:
    """The statement with its values inlined (the ``pyformat`` escaping of ``%`` undone)."""
    compiled = statement.compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    return str(compiled).replace("%%", "%")


async def bench(url: str, runs: int, warmup: int) -> list[tuple[str, str, int, list[float]]]:
    caller = Caller(
        organisation_id=ORG,
        user_id=MEMBER,
        role_ids=frozenset({ROLE}),
        granted=frozenset({READ}),
    )
    words = vocabulary()
    common = words[0]
    db = Database(url, application_name="bench-search")
    store = Store(db, outbox)
    service = SearchService(store)
    conn = await asyncpg.connect(_dsn(url))
    tag = await conn.fetchval(
        "SELECT id FROM content.tags WHERE organisation_id = $1 AND name = 'Tag 7'", ORG
    )
    config = config_of("english")
    marks = Marks.fresh()
    cases: list[tuple[str, str, Filters]] = [
        ("common word", common, Filters()),
        ("rare word", RARE, Filters()),
        ("phrase", f'"{PHRASE_A} {PHRASE_B}"', Filters()),
        ("common word + tag filter", common, Filters(tag_ids=(tag,))),
    ]
    results: list[tuple[str, str, int, list[float]]] = []
    try:
        for name, q, filters in cases:
            hits = await conn.fetchval(
                "SELECT count(*) FROM content.search_documents WHERE organisation_id = $1"
                " AND terms @@ websearch_to_tsquery('content.hub_english', $2)",
                ORG,
                q,
            )

            async def service_run(q: str = q, filters: Filters = filters) -> Any:
                return await service.search(caller, q, filters)

            match = repo.full_text(config, q)
            probe = literal_sql(repo.first_hits(ORG, match, RANK_WINDOW + 1))

            async def bare_run(
                match: repo.Match = match, filters: Filters = filters, probe: str = probe
            ) -> Any:
                # The service's two statements, values inlined: the probe, then the ranking
                # over the ids it found when they are few.
                found = [r[0] for r in await conn.fetch(probe)]
                among = found if len(found) <= RANK_WINDOW else None
                statement = repo.hits(
                    caller,
                    filters,
                    match,
                    config=config,
                    options=marks.options(),
                    offset=0,
                    limit=20,
                    among=among,
                )
                return await conn.fetch(literal_sql(statement))

            results.append((name, "service", hits, await timed(service_run, runs, warmup)))
            results.append((name, "bare SQL", hits, await timed(bare_run, runs, warmup)))

        prefix = common[:3]

        async def complete() -> Any:
            return await service.autocomplete(caller, prefix)

        async def bare_complete() -> Any:
            async with conn.transaction():
                await conn.execute(literal_sql(repo.SET_THRESHOLD))
                await conn.fetch(
                    literal_sql(repo.title_suggestions(caller, prefix, like_pattern(prefix), 10))
                )
                await conn.fetch(
                    literal_sql(repo.tag_suggestions(caller, prefix, like_pattern(prefix), 10))
                )

        results.append(
            (f"autocomplete prefix '{prefix}'", "service", 0, await timed(complete, runs, warmup))
        )
        results.append(
            (
                f"autocomplete prefix '{prefix}'",
                "bare SQL",
                0,
                await timed(bare_complete, runs, warmup),
            )
        )
    finally:
        await conn.close()
        await db.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    server = None
    url = args.database_url
    if url is None:
        from hub.devservers import EmbeddedPostgres

        server = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="hub-bench-search-")))
        url = server.start()
    try:
        migrations.upgrade(["identity", "content"], url, migrations.migrations_root())
        asyncio.run(seed(url, args.documents))
        rows = asyncio.run(bench(url, args.runs, args.warmup))
    finally:
        if server is not None:
            server.stop()
    print(f"\n{args.documents} documents, {args.runs} runs each (ms)")
    print("| query | path | hits | p50 | p95 | p99 |\n|---|---|---|---|---|---|")
    for name, path, hits, samples in rows:
        p50, p95, p99 = percentiles(samples)
        shown = f"{hits:,}" if hits else "—"
        print(f"| {name} | {path} | {shown} | {p50:.1f} | {p95:.1f} | {p99:.1f} |")


if __name__ == "__main__":
    main()
