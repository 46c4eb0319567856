"""``python -m bench.seed_documents``: a large, realistic document corpus for one organisation.

Run with the hub's ``HUB_*`` environment (``HUB_DATABASE_URL``; ``HUB_DATA_DIR`` or
``HUB_STORAGE_URL`` for the blob store), e.g.::

    python -m bench.seed_documents --org ORG_ID --owner USER_ID --member USER_ID \\
        --role ROLE_ID --count 100000

100,000 uploads over HTTP would take most of an hour and measure nothing the upload bench
does not; the list query only needs the rows. So the rows are written in bulk
(``COPY`` through asyncpg, batches of ``--batch`` documents, one transaction each) into
content's own tables, exactly as uploads leave them: a document with its current version,
tags, shares, blob references and the organisation's storage usage. A handful of shared
blobs (``--blobs``) are really put into the store, so every seeded document can also be
downloaded.

The corpus exercises what the list does: ~40 tags in two levels (0 to 4 per document,
a few tags on most documents and a long tail), 6 document types (85% of documents typed),
custom fields on most documents (``invoice_number``, ``amount``, ``status``, ``due_date``,
``priority``), owners spread over the owner, the ``--member`` users and people no longer
around, 5% restricted (a fifth of those shared with the first member, some with
``--role``), 2% in the trash, 5% with a second version, creation times over three years.
Same ``--seed``, same corpus. A progress line shows documents written and the rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url
from uuid_utils.compat import uuid7

from hub.content.repositories.blobs import BlobStore, blob_store

TAGS: dict[str, list[str]] = {
    "Finance": ["Invoices", "Receipts", "Budgets", "Tax", "Payroll"],
    "Legal": ["Contracts", "NDAs", "Compliance", "Litigation"],
    "HR": ["Hiring", "Reviews", "Policies", "Onboarding"],
    "Sales": ["Quotes", "Orders", "Customers", "Leads"],
    "Operations": ["Suppliers", "Logistics", "Maintenance"],
    "Projects": ["Alpha", "Beta", "Gamma", "Delta"],
    "IT": ["Licences", "Security", "Infrastructure"],
    "Urgent": [],
    "Archive": [],
}
TYPES = ["Invoice", "Contract", "Receipt", "Report", "Letter", "Policy"]
TYPE_WEIGHTS = [40, 15, 20, 12, 8, 5]
STATUS = ["open", "paid", "overdue", "cancelled"]
FIELDS = [
    ("invoice_number", "Invoice number", "string", []),
    ("amount", "Amount", "monetary", []),
    ("status", "Status", "select", STATUS),
    ("due_date", "Due date", "date", []),
    ("priority", "Priority", "integer", []),
]
COMPANIES = ["Acme GmbH", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell"]
MEDIA = [("application/pdf", ".pdf"), ("image/png", ".png"), ("text/plain", ".txt")]


@dataclass
class Corpus:
    organisation_id: uuid.UUID
    owner_id: uuid.UUID
    members: list[uuid.UUID]
    roles: list[uuid.UUID]
    tag_ids: list[uuid.UUID] = field(default_factory=list)
    type_ids: list[uuid.UUID] = field(default_factory=list)
    #: (sha256, size, media type) of the shared blobs.
    blobs: list[tuple[str, int, str]] = field(default_factory=list)


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


def env_store() -> BlobStore:
    """The hub's blob store as its environment names it (``HUB_STORAGE_URL``, else
    ``HUB_DATA_DIR/blobs``)."""
    return blob_store(
        os.environ.get("HUB_STORAGE_URL"), Path(os.environ.get("HUB_DATA_DIR", ".hub"))
    )


async def put_blobs(store: BlobStore, count: int, rng: random.Random) -> list[tuple[str, int, str]]:
    """``count`` small files in the blob store (closed afterwards)."""
    out = []
    try:
        for i in range(count):
            media_type, _ = MEDIA[i % len(MEDIA)]
            size = rng.randrange(8 * 1024, 256 * 1024)
            if media_type == "application/pdf":
                body = b"%PDF-1.7\n% seeded " + str(i).encode() + b"\n"
            elif media_type == "image/png":
                body = b"\x89PNG\r\n\x1a\n" + bytes(8)
            else:
                body = f"seeded document {i}\n".encode()
            filler = (b"lorem ipsum dolor sit amet " * (size // 27 + 1))[: size - len(body)]
            stored = await store.put(_chunks(body + filler))
            out.append((stored.sha256, stored.size, media_type))
    finally:
        await store.close()
    return out


async def taxonomy(conn: asyncpg.Connection, corpus: Corpus) -> None:
    """Tags, types and field definitions of the organisation (existing ones are reused)."""
    org = corpus.organisation_id
    for parent, children in TAGS.items():
        parent_id = await _named(conn, "tags", org, parent, None)
        corpus.tag_ids.append(parent_id)
        for child in children:
            corpus.tag_ids.append(await _named(conn, "tags", org, child, parent_id))
    for name in TYPES:
        corpus.type_ids.append(await _named(conn, "document_types", org, name, None))
    for key, name, kind, options in FIELDS:
        await conn.execute(
            "INSERT INTO content.custom_fields (id, organisation_id, key, name, type, options)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (organisation_id, key) DO NOTHING",
            uuid7(),
            org,
            key,
            name,
            kind,
            json.dumps(options),
        )


async def _named(
    conn: asyncpg.Connection, table: str, org: uuid.UUID, name: str, parent: uuid.UUID | None
) -> uuid.UUID:
    key = name.casefold()
    found = await conn.fetchval(
        f"SELECT id FROM content.{table} WHERE organisation_id = $1 AND name_key = $2", org, key
    )
    if found is not None:
        return uuid.UUID(str(found))
    new = uuid7()
    if table == "tags":
        await conn.execute(
            "INSERT INTO content.tags (id, organisation_id, name, name_key, parent_id)"
            " VALUES ($1, $2, $3, $4, $5)",
            new,
            org,
            name,
            key,
            parent,
        )
    else:
        await conn.execute(
            f"INSERT INTO content.{table} (id, organisation_id, name, name_key)"
            " VALUES ($1, $2, $3, $4)",
            new,
            org,
            name,
            key,
        )
    return uuid.UUID(str(new))


@dataclass
class Batch:
    documents: list[tuple[object, ...]] = field(default_factory=list)
    versions: list[tuple[object, ...]] = field(default_factory=list)
    tags: list[tuple[object, ...]] = field(default_factory=list)
    shares: list[tuple[object, ...]] = field(default_factory=list)
    #: sha256 -> references added, and bytes added to the organisation's usage.
    refs: dict[str, int] = field(default_factory=dict)
    usage: int = 0


DOCUMENT_COLUMNS = [
    "id",
    "organisation_id",
    "owner_id",
    "title",
    "document_type_id",
    "custom_fields",
    "current_version",
    "restricted",
    "legal_hold",
    "extraction_status",
    "created_at",
    "updated_at",
    "trashed_at",
    "trashed_by",
]
VERSION_COLUMNS = [
    "document_id",
    "version",
    "file_name",
    "media_type",
    "size",
    "sha256",
    "created_at",
    "created_by",
    "comment",
    "restored_from",
]


def _custom_fields(rng: random.Random, n: int, created: datetime) -> dict[str, object]:
    values: dict[str, object] = {}
    if rng.random() < 0.6:
        values["invoice_number"] = f"INV-{created.year}-{n:06d}"
        values["amount"] = {
            "amount": f"{rng.randrange(100, 10_000_000) / 100:.2f}",
            "currency": rng.choice(["EUR", "EUR", "EUR", "USD", "GBP"]),
        }
        values["status"] = rng.choices(STATUS, weights=[30, 55, 10, 5])[0]
    if rng.random() < 0.3:
        values["due_date"] = (created.date() + timedelta(days=rng.randrange(7, 90))).isoformat()
    if rng.random() < 0.2:
        values["priority"] = rng.randrange(1, 6)
    return values


def make_batch(corpus: Corpus, rng: random.Random, start: int, count: int, now: datetime) -> Batch:
    batch = Batch()
    others = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(8)]
    owners = [corpus.owner_id, *corpus.members, *others]
    owner_weights = [70] + [10 / max(1, len(corpus.members))] * len(corpus.members) + [20 / 8] * 8
    tag_weights = [1 / (i + 1) for i in range(len(corpus.tag_ids))]
    span = int(timedelta(days=3 * 365).total_seconds())
    for n in range(start, start + count):
        doc_id = uuid7()
        created = now - timedelta(seconds=rng.randrange(span))
        updated = min(now, created + timedelta(seconds=rng.randrange(30 * 86400)))
        owner = rng.choices(owners, weights=owner_weights)[0]
        type_index = rng.choices(range(len(TYPES)), weights=TYPE_WEIGHTS)[0]
        typed = rng.random() < 0.85
        title = f"{TYPES[type_index]} {created:%Y-%m} {rng.choice(COMPANIES)} #{n}"
        restricted = rng.random() < 0.05
        trashed = rng.random() < 0.02
        versions = 2 if rng.random() < 0.05 else 1
        batch.documents.append(
            (
                doc_id,
                corpus.organisation_id,
                owner,
                title,
                corpus.type_ids[type_index] if typed else None,
                json.dumps(_custom_fields(rng, n, created)),
                versions,
                restricted,
                False,
                "pending",
                created,
                updated,
                updated if trashed else None,
                owner if trashed else None,
            )
        )
        for number in range(1, versions + 1):
            sha256, size, media_type = rng.choice(corpus.blobs)
            extension = next(e for m, e in MEDIA if m == media_type)
            batch.versions.append(
                (
                    doc_id,
                    number,
                    f"{title.split(' #')[0].lower().replace(' ', '-')}{extension}",
                    media_type,
                    size,
                    sha256,
                    created if number == 1 else updated,
                    owner,
                    None if number == 1 else "updated",
                    None,
                )
            )
            batch.refs[sha256] = batch.refs.get(sha256, 0) + 1
            batch.usage += size
        how_many = rng.choices([0, 1, 2, 3, 4], weights=[15, 35, 30, 15, 5])[0]
        chosen: set[uuid.UUID] = set()
        while len(chosen) < how_many:
            chosen.add(rng.choices(corpus.tag_ids, weights=tag_weights)[0])
        batch.tags.extend((doc_id, tag) for tag in chosen)
        if restricted:
            if corpus.members and owner != corpus.members[0] and rng.random() < 0.2:
                access = rng.choice(["view", "edit"])
                batch.shares.append((doc_id, "user", corpus.members[0], access))
            if corpus.roles and rng.random() < 0.1:
                batch.shares.append((doc_id, "role", corpus.roles[0], "view"))
            if rng.random() < 0.3:
                batch.shares.append((doc_id, "user", rng.choice(others), "view"))
    return batch


async def write(conn: asyncpg.Connection, corpus: Corpus, batch: Batch) -> None:
    async with conn.transaction():
        # Blob rows first (the versions' foreign key), their counts raised as uploads would.
        for sha256, added in batch.refs.items():
            size = next(s for h, s, _ in corpus.blobs if h == sha256)
            await conn.execute(
                "INSERT INTO content.blobs (sha256, size, ref_count) VALUES ($1, $2, $3)"
                " ON CONFLICT (sha256) DO UPDATE SET ref_count = content.blobs.ref_count"
                " + EXCLUDED.ref_count, last_referenced_at = now()",
                sha256,
                size,
                added,
            )
        await conn.copy_records_to_table(
            "documents", schema_name="content", records=batch.documents, columns=DOCUMENT_COLUMNS
        )
        await conn.copy_records_to_table(
            "document_versions",
            schema_name="content",
            records=batch.versions,
            columns=VERSION_COLUMNS,
        )
        await conn.copy_records_to_table(
            "document_tags",
            schema_name="content",
            records=batch.tags,
            columns=["document_id", "tag_id"],
        )
        if batch.shares:
            await conn.copy_records_to_table(
                "document_shares",
                schema_name="content",
                records=batch.shares,
                columns=["document_id", "subject_kind", "subject_id", "access"],
            )
        await conn.execute(
            "INSERT INTO content.storage_usage (organisation_id, bytes) VALUES ($1, $2)"
            " ON CONFLICT (organisation_id) DO UPDATE"
            " SET bytes = content.storage_usage.bytes + EXCLUDED.bytes",
            corpus.organisation_id,
            batch.usage,
        )


def _progress(done: int, total: int, started: float, *, end: bool = False) -> None:
    elapsed = time.perf_counter() - started
    rate = done / elapsed if elapsed else 0.0
    width = 30
    filled = int(width * done / total) if total else width
    bar = "#" * filled + "." * (width - filled)
    line = f"\rseeding documents [{bar}] {done:,}/{total:,} ({rate:,.0f}/s, {elapsed:.1f} s)"
    sys.stderr.write(line + ("\n" if end else ""))
    sys.stderr.flush()


async def seed(
    database_url: str,
    corpus: Corpus,
    *,
    count: int,
    batch_size: int = 10_000,
    blobs: int = 8,
    seed_value: int = 1,
    progress: bool = True,
    store: BlobStore | None = None,
) -> float:
    """Write ``count`` documents; the seconds it took (blobs and ANALYZE included)."""
    rng = random.Random(seed_value)
    started = time.perf_counter()
    corpus.blobs = await put_blobs(store or env_store(), blobs, rng)
    conn = await asyncpg.connect(_dsn(database_url))
    try:
        await taxonomy(conn, corpus)
        now = datetime.now(UTC)
        done = 0
        while done < count:
            n = min(batch_size, count - done)
            await write(conn, corpus, make_batch(corpus, rng, done, n, now))
            done += n
            if progress:
                _progress(done, count, started, end=done == count)
        for table in ("documents", "document_versions", "document_tags", "document_shares"):
            await conn.execute(f"ANALYZE content.{table}")
    finally:
        await conn.close()
    return time.perf_counter() - started


def _uuids(values: Sequence[str] | None) -> list[uuid.UUID]:
    return [uuid.UUID(v) for v in values or ()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--org", required=True, help="the organisation's id")
    p.add_argument("--owner", required=True, help="user id owning most documents")
    p.add_argument("--member", action="append", help="user id owning some (repeatable)")
    p.add_argument("--role", action="append", help="role id some shares go to (repeatable)")
    p.add_argument("--count", type=int, default=100_000)
    p.add_argument("--batch", type=int, default=10_000)
    p.add_argument("--blobs", type=int, default=8)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    url = os.environ.get("HUB_DATABASE_URL")
    if not url:
        raise SystemExit("set HUB_DATABASE_URL (run with the hub's environment)")
    corpus = Corpus(
        organisation_id=uuid.UUID(args.org),
        owner_id=uuid.UUID(args.owner),
        members=_uuids(args.member),
        roles=_uuids(args.role),
    )
    seconds = asyncio.run(
        seed(
            url,
            corpus,
            count=args.count,
            batch_size=args.batch,
            blobs=args.blobs,
            seed_value=args.seed,
        )
    )
    print(f"{args.count:,} documents in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
