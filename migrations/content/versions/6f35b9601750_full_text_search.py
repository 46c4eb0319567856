"""full-text search: one searchable row per document, a search language per organisation

Creates the ``unaccent`` and ``pg_trgm`` extensions (PostgreSQL contrib), one text-search
configuration per supported language (``content.hub_<language>``: ``unaccent`` then the
language's stemmer, so accents never matter), ``content.organisation_settings`` and
``content.search_documents`` with its GIN indexes (terms; trigrams of title and tags), and
fills ``search_documents`` for every existing document, extracted text included (same SQL
as ``services.search_index``, frozen here).

Downgrade drops the tables and configurations; the extensions stay (others may use them).

Revision ID: 6f35b9601750
Revises: b3875f0481c7
Create Date: 2026-11-30 03:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "6f35b9601750"
down_revision: str | None = "b3875f0481c7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LANGUAGES = (
    "danish",
    "dutch",
    "english",
    "finnish",
    "french",
    "german",
    "hungarian",
    "italian",
    "norwegian",
    "portuguese",
    "romanian",
    "russian",
    "simple",
    "spanish",
    "swedish",
    "turkish",
)

BACKFILL = """
INSERT INTO content.search_documents
    (document_id, organisation_id, title_key, tags_key, body, terms, head)
SELECT d.id, d.organisation_id,
       lower(unaccent(d.title)),
       lower(unaccent(coalesce(tg.names, ''))),
       concat_ws(E'\\n', nullif(x.content, ''), nullif(nt.bodies, ''), nullif(cf.vals, ''),
                 nullif(tg.names, '')),
       h.head
       || setweight(to_tsvector(c.cfg, coalesce(x.content, '')), 'C')
       || setweight(to_tsvector(c.cfg, nt.bodies), 'D'),
       h.head
FROM content.documents d
CROSS JOIN LATERAL (
    SELECT (SELECT vt.text FROM content.version_texts vt WHERE vt.document_id = d.id
            AND vt.version = d.current_version AND vt.status = 'ready') AS content
) x
CROSS JOIN LATERAL (
    SELECT CAST('content.hub_' || coalesce(
        (SELECT s.search_language FROM content.organisation_settings s
         WHERE s.organisation_id = d.organisation_id), 'english') AS regconfig) AS cfg
) c
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
    SELECT string_agg(e.value #>> '{}', ' ' ORDER BY e.key) AS vals
    FROM jsonb_each(d.custom_fields) e
    JOIN content.custom_fields f ON f.organisation_id = d.organisation_id AND f.key = e.key
    WHERE f.type <> 'document'
) cf
CROSS JOIN LATERAL (
    SELECT setweight(to_tsvector(c.cfg, d.title), 'A')
           || setweight(to_tsvector(c.cfg, concat_ws(' ', tg.names, cf.vals)), 'B') AS head
) h
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for language in LANGUAGES:
        stem = "simple" if language == "simple" else f"{language}_stem"
        op.execute(
            f"CREATE TEXT SEARCH CONFIGURATION content.hub_{language} "
            f"(COPY = pg_catalog.{language})"
        )
        op.execute(
            f"ALTER TEXT SEARCH CONFIGURATION content.hub_{language} "
            f"ALTER MAPPING FOR hword, hword_part, word WITH unaccent, {stem}"
        )
    op.create_table(
        "organisation_settings",
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column(
            "search_language", sa.Text(), server_default=sa.text("'english'"), nullable=False
        ),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_organisation_settings")),
        schema="content",
    )
    op.create_table(
        "search_documents",
        sa.Column("document_id", sa.UUID(), nullable=False),
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("title_key", sa.Text(), nullable=False),
        sa.Column("tags_key", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("terms", postgresql.TSVECTOR(), nullable=False),
        sa.Column("head", postgresql.TSVECTOR(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["content.documents.id"],
            name=op.f("fk_search_documents_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_search_documents")),
        schema="content",
    )
    op.create_index(
        "ix_search_documents_organisation",
        "search_documents",
        ["organisation_id"],
        unique=False,
        schema="content",
    )
    op.create_index(
        "ix_search_documents_terms",
        "search_documents",
        ["terms"],
        unique=False,
        schema="content",
        postgresql_using="gin",
    )
    op.create_index(
        "ix_search_documents_head",
        "search_documents",
        ["head"],
        unique=False,
        schema="content",
        postgresql_using="gin",
    )
    op.create_index(
        "ix_search_documents_title_trgm",
        "search_documents",
        ["title_key"],
        unique=False,
        schema="content",
        postgresql_using="gin",
        postgresql_ops={"title_key": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_search_documents_tags_trgm",
        "search_documents",
        ["tags_key"],
        unique=False,
        schema="content",
        postgresql_using="gin",
        postgresql_ops={"tags_key": "gin_trgm_ops"},
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_table("search_documents", schema="content")
    op.drop_table("organisation_settings", schema="content")
    for language in LANGUAGES:
        op.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS content.hub_{language}")
