"""The search index: ``content.search_documents``, one row per document, recomputed from
the source tables in SQL inside the caller's transaction.

Every write that changes what a row is computed from (title, tags, custom-field values,
notes, the current version's text, a tag's name, a field's deletion, the organisation's
search language) calls :meth:`SearchIndex.refresh` before it commits, so search never
shows a document as it was: the row and its source commit together or not at all.
Trash state, permissions and the filter columns are not copied into the row: a search
joins ``documents`` and filters with the document list's own rule
(``repositories.documents``), so a trash, restore or share needs no refresh.

Concurrent writers: the refresh first takes a transaction-scoped advisory lock per
document (key space :data:`LOCK_SPACE`, in key order), then recomputes in a new statement.
Under READ COMMITTED that statement sees everything committed by a refresh it waited for,
so the last refresh to commit is computed from the last state (two notes added at once
both reach the row). An advisory lock rather than ``FOR UPDATE`` on the document: a note's
insert already holds a ``KEY SHARE`` lock on it through its foreign key, and two writers
each upgrading that to ``FOR UPDATE`` would deadlock.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import text

from hub.kernel.db import UnitOfWork

#: Extracted text: the CURRENT version's, once its extraction is ``ready``
#: (``content.version_texts``, written by the text-extraction job, which refreshes the row
#: in the transaction that stores it). The one place the index reads it (weight C, and the
#: snippet's first part).
EXTRACTED_TEXT = (
    "(SELECT vt.text FROM content.version_texts vt WHERE vt.document_id = d.id"
    " AND vt.version = d.current_version AND vt.status = 'ready')"
)

#: Constants only (no input reaches the text): the S608 warning does not apply.
_ROWS = f"""
SELECT d.id, d.organisation_id,
       lower(unaccent(d.title)) AS title_key,
       lower(unaccent(coalesce(tg.names, ''))) AS tags_key,
       concat_ws(E'\\n', nullif(x.content, ''), nullif(nt.bodies, ''), nullif(cf.vals, ''),
                 nullif(tg.names, '')) AS body,
       h.head
       || setweight(to_tsvector(c.cfg, coalesce(x.content, '')), 'C')
       || setweight(to_tsvector(c.cfg, nt.bodies), 'D') AS terms,
       h.head
FROM content.documents d
CROSS JOIN LATERAL (
    SELECT CAST('content.hub_' || coalesce(
        (SELECT s.search_language FROM content.organisation_settings s
         WHERE s.organisation_id = d.organisation_id), 'english') AS regconfig) AS cfg
) c
CROSS JOIN LATERAL (SELECT {EXTRACTED_TEXT} AS content) x
CROSS JOIN LATERAL (
    SELECT string_agg(t.name, ' ' ORDER BY t.name) AS names
    FROM content.document_tags dt JOIN content.tags t ON t.id = dt.tag_id
    WHERE dt.document_id = d.id
) tg
CROSS JOIN LATERAL (
    SELECT coalesce(string_agg(n.body, E'\\n' ORDER BY n.id), '') AS bodies
    FROM content.notes n WHERE n.document_id = d.id
) nt
CROSS JOIN LATERAL (
    SELECT string_agg(e.value #>> '{{}}', ' ' ORDER BY e.key) AS vals
    FROM jsonb_each(d.custom_fields) e
    JOIN content.custom_fields f ON f.organisation_id = d.organisation_id AND f.key = e.key
    WHERE f.type <> 'document'
) cf
CROSS JOIN LATERAL (
    SELECT setweight(to_tsvector(c.cfg, d.title), 'A')
           || setweight(to_tsvector(c.cfg, concat_ws(' ', tg.names, cf.vals)), 'B') AS head
) h
"""  # noqa: S608

_UPSERT = """
INSERT INTO content.search_documents
    (document_id, organisation_id, title_key, tags_key, body, terms, head)
{rows}
ON CONFLICT (document_id) DO UPDATE SET
    organisation_id = EXCLUDED.organisation_id,
    title_key = EXCLUDED.title_key,
    tags_key = EXCLUDED.tags_key,
    body = EXCLUDED.body,
    terms = EXCLUDED.terms,
    head = EXCLUDED.head
"""

_REFRESH = text(_UPSERT.format(rows=_ROWS + "WHERE d.id = ANY(:ids)"))
#: The two-key advisory lock space of search rows (no other lock uses it).
LOCK_SPACE = 0x5EA2C4
_LOCK = text(
    "SELECT pg_advisory_xact_lock(:space, k) FROM ("
    " SELECT DISTINCT hashtext(CAST(id AS text)) AS k FROM unnest(CAST(:ids AS uuid[])) AS id"
    " ORDER BY k) AS keys"
)
_REFRESH_ORGANISATION = text(_UPSERT.format(rows=_ROWS + "WHERE d.organisation_id = :org"))
_TAGGED = text(
    "SELECT document_id FROM content.document_tags WHERE tag_id = :tag ORDER BY document_id"
)
_WITH_FIELD = text(
    "SELECT id FROM content.documents "
    "WHERE organisation_id = :org AND custom_fields ? :key ORDER BY id"
)


class SearchIndex:
    """Recomputes search rows; stateless, called inside the writer's unit of work."""

    @staticmethod
    async def refresh(uow: UnitOfWork, document_ids: Iterable[uuid.UUID]) -> None:
        """Recompute the rows of these documents from their current state (ids of
        documents that no longer exist are skipped; their rows went with them)."""
        ids = sorted(set(document_ids))
        if not ids:
            return
        await uow.session.execute(_LOCK, {"ids": ids, "space": LOCK_SPACE})
        await uow.session.execute(_REFRESH, {"ids": ids})

    @staticmethod
    async def set_text(uow: UnitOfWork, document_id: uuid.UUID) -> None:
        """For the text-extraction job: the current version's text changed."""
        await SearchIndex.refresh(uow, [document_id])

    @staticmethod
    async def refresh_organisation(uow: UnitOfWork, organisation_id: uuid.UUID) -> None:
        """Every row of an organisation (its search language changed)."""
        await uow.session.execute(_REFRESH_ORGANISATION, {"org": organisation_id})

    @staticmethod
    async def tagged(uow: UnitOfWork, tag_id: uuid.UUID) -> list[uuid.UUID]:
        """Documents carrying a tag (before it is renamed or deleted)."""
        return list((await uow.session.execute(_TAGGED, {"tag": tag_id})).scalars())

    @staticmethod
    async def with_field(uow: UnitOfWork, organisation_id: uuid.UUID, key: str) -> list[uuid.UUID]:
        """Documents holding a value for a custom field (before it is deleted)."""
        rows = await uow.session.execute(_WITH_FIELD, {"org": organisation_id, "key": key})
        return list(rows.scalars())
