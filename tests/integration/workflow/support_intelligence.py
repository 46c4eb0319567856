"""Seeding a labelled corpus straight into content's tables (1,000 uploads with text
extraction would take minutes and test nothing intelligence does), as uploads and a
finished extraction leave them: a document, its current version, the version's ready
text, its tags and type."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from tests.integration.identity.support import plain_dsn
from tests.unit.workflow.corpus import Doc


@dataclass
class Seeded:
    tag_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    type_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    #: document id -> the corpus document it holds (None: no text)
    documents: dict[uuid.UUID, Doc | None] = field(default_factory=dict)
    restricted: set[uuid.UUID] = field(default_factory=set)


async def seed(
    database_url: str,
    org: str,
    owner: str,
    labelled: list[Doc],
    *,
    unlabelled: list[str] = (),  # type: ignore[assignment]
    without_text: int = 0,
    restricted: list[Doc] = (),  # type: ignore[assignment]
    extra_tags: tuple[str, ...] = (),
) -> Seeded:
    out = Seeded()
    org_id, owner_id = uuid.UUID(org), uuid.UUID(owner)
    now = datetime.now(UTC)
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        async with conn.transaction():
            names = sorted({t for d in [*labelled, *restricted] for t in d.tags} | set(extra_tags))
            for name in names:
                out.tag_ids[name] = uuid.uuid4()
                await conn.execute(
                    "INSERT INTO content.tags (id, organisation_id, name, name_key)"
                    " VALUES ($1, $2, $3, $4)",
                    out.tag_ids[name],
                    org_id,
                    name,
                    name.casefold(),
                )
            for kind in sorted({d.document_type for d in [*labelled, *restricted]}):
                out.type_ids[kind] = uuid.uuid4()
                await conn.execute(
                    "INSERT INTO content.document_types (id, organisation_id, name, name_key)"
                    " VALUES ($1, $2, $3, $4)",
                    out.type_ids[kind],
                    org_id,
                    kind,
                    kind.casefold(),
                )
            sha = hashlib.sha256(b"seeded").hexdigest()
            await conn.execute(
                "INSERT INTO content.blobs (sha256, size, ref_count) VALUES ($1, 6, 0)"
                " ON CONFLICT DO NOTHING",
                sha,
            )
            documents, versions, texts, tags = [], [], [], []
            rows: list[tuple[Doc | None, str | None, bool]] = [
                *((d, d.text, False) for d in labelled),
                *((None, text, False) for text in unlabelled),
                *((None, None, False) for _ in range(without_text)),
                *((d, d.text, True) for d in restricted),
            ]
            for i, (doc, text, is_restricted) in enumerate(rows):
                doc_id = uuid.uuid4()
                out.documents[doc_id] = doc if doc is not None else None
                if is_restricted:
                    out.restricted.add(doc_id)
                type_id = out.type_ids[doc.document_type] if doc else None
                status = "ready" if text is not None else "pending"
                documents.append(
                    (
                        doc_id,
                        org_id,
                        owner_id,
                        f"Document {i}",
                        type_id,
                        json.dumps({}),
                        1,
                        is_restricted,
                        False,
                        status,
                        now,
                        now,
                        None,
                        None,
                    )
                )
                versions.append(
                    (doc_id, 1, f"d{i}.txt", "text/plain", 6, sha, now, owner_id, None, None)
                )
                texts.append((doc_id, 1, status, text, now if text is not None else None))
                if doc is not None:
                    tags += [(doc_id, out.tag_ids[t]) for t in doc.tags]
            await conn.copy_records_to_table(
                "documents",
                schema_name="content",
                records=documents,
                columns=[
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
                ],
            )
            await conn.copy_records_to_table(
                "document_versions",
                schema_name="content",
                records=versions,
                columns=[
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
                ],
            )
            await conn.copy_records_to_table(
                "version_texts",
                schema_name="content",
                records=texts,
                columns=["document_id", "version", "status", "text", "extracted_at"],
            )
            await conn.copy_records_to_table(
                "document_tags",
                schema_name="content",
                records=tags,
                columns=["document_id", "tag_id"],
            )
            await conn.execute(
                "UPDATE content.blobs SET ref_count = $2 WHERE sha256 = $1", sha, len(rows)
            )
    finally:
        await conn.close()
    return out
