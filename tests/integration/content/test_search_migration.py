"""The search migration (``6f35b9601750``) indexes the documents that exist before it, the
way the application's refresh would, and goes down and up again cleanly."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from hub.content.services import search_index
from hub.kernel import migrations
from tests.integration.content.test_document_links_migration import _document, _run

BEFORE = "5b2e7c91d0a4"
SEARCH = "6f35b9601750"


@pytest.fixture
def scratch_url(database_url: str) -> Iterator[str]:
    name = f"hub_search_{uuid.uuid4().hex[:12]}"
    _run(database_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        _run(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_existing_documents_are_indexed(scratch_url: str) -> None:
    root = migrations.migrations_root()
    migrations.upgrade(["content"], scratch_url, root, BEFORE)
    org = uuid.uuid4()
    for key, kind in (("client", "text"), ("see", "document")):
        _run(
            scratch_url,
            "INSERT INTO content.custom_fields (id, organisation_id, key, name, type)"
            " VALUES ($1, $2, $3, $3, $4)",
            uuid.uuid4(),
            org,
            key,
            kind,
        )
    other = _document(scratch_url, org, {})
    doc = _document(scratch_url, org, {"client": "Société Générale", "see": [other]})
    _run(
        scratch_url,
        "UPDATE content.documents SET title = 'Quarterly Report' WHERE id = $1",
        uuid.UUID(doc),
    )
    tag = uuid.uuid4()
    _run(
        scratch_url,
        "INSERT INTO content.tags (id, organisation_id, name, name_key)"
        " VALUES ($1, $2, 'Crème', 'crème')",
        tag,
        org,
    )
    _run(
        scratch_url,
        "INSERT INTO content.document_tags (document_id, tag_id) VALUES ($1, $2)",
        uuid.UUID(doc),
        tag,
    )
    _run(
        scratch_url,
        "INSERT INTO content.notes (id, document_id, author_id, body, created_at)"
        " VALUES ($1, $2, $3, 'Checked the totals', now())",
        uuid.uuid4(),
        uuid.UUID(doc),
        uuid.uuid4(),
    )

    migrations.upgrade(["content"], scratch_url, root, SEARCH)
    rows = _run(
        scratch_url,
        "SELECT document_id::text AS id, organisation_id, title_key, tags_key, body,"
        " terms::text AS terms FROM content.search_documents ORDER BY document_id",
    )
    assert [r["id"] for r in rows] == sorted([doc, other])
    (row,) = [r for r in rows if r["id"] == doc]
    assert row["organisation_id"] == org
    assert (row["title_key"], row["tags_key"]) == ("quarterly report", "creme")
    # linked document ids are not text to search
    assert row["body"] == "Checked the totals\nSociété Générale\nCrème"
    assert row["terms"] == (
        "'check':6 'creme':3B 'general':5B 'quarter':1A 'report':2A 'societ':4B 'total':8"
    )
    # the application's refresh computes the same row
    refresh = search_index._REFRESH.text.replace(":ids", "$1::uuid[]")
    _run(scratch_url, refresh, [uuid.UUID(doc), uuid.UUID(other)])
    again = _run(
        scratch_url,
        "SELECT document_id::text AS id, organisation_id, title_key, tags_key, body,"
        " terms::text AS terms FROM content.search_documents ORDER BY document_id",
    )
    assert [dict(r) for r in again] == [dict(r) for r in rows]
    found = _run(
        scratch_url,
        "SELECT document_id::text AS id FROM content.search_documents"
        " WHERE terms @@ websearch_to_tsquery('content.hub_english', 'societe')",
    )
    assert [r["id"] for r in found] == [doc]

    migrations.downgrade("content", scratch_url, root, BEFORE)
    assert _run(scratch_url, "SELECT to_regclass('content.search_documents') AS t")[0]["t"] is None
    migrations.upgrade(["content"], scratch_url, root, SEARCH)
    assert len(_run(scratch_url, "SELECT 1 FROM content.search_documents")) == 2
