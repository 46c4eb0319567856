"""intelligence: workflow.nearest_documents(), the HNSW search with its settings attached

Revision ID: e41b7c9d2f05
Revises: a7e3c91d4b20
Create Date: 2026-11-30 16:00:00

Where the pgvector table exists (migration 5c0d8e21a7f4), a similar-documents request
asked PostgreSQL in four round trips: BEGIN, ``set_config`` of ``hnsw.ef_search`` and
``hnsw.iterative_scan`` local to that transaction, the query, ROLLBACK. A function with
``SET`` clauses carries the two settings itself (PostgreSQL applies them for the call
only and restores them after), so the search is one statement on the autocommit read
path, with nothing left on the pooled connection. ``STRICT``: a NULL query vector (a
document without an embedding yet) yields no rows instead of an unordered scan.
``ef_search`` is 200, the size of a search round (``services/vector_index.py``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e41b7c9d2f05"
down_revision: str | None = "a7e3c91d4b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _embeddings_present() -> bool:
    bind = op.get_bind()
    return bool(
        bind.scalar(sa.text("SELECT to_regclass('workflow.document_embeddings') IS NOT NULL"))
    )


def upgrade() -> None:
    if not _embeddings_present():
        return
    op.execute(
        """
        CREATE FUNCTION workflow.nearest_documents(
            p_organisation uuid, p_version integer, p_query vector, p_exclude uuid,
            p_limit integer, p_offset integer
        ) RETURNS TABLE (document_id uuid, score double precision)
        LANGUAGE sql STABLE STRICT
        SET hnsw.ef_search = 200
        SET hnsw.iterative_scan = 'strict_order'
        AS $$
            SELECT e.document_id, 1 - (e.embedding <=> p_query)
            FROM workflow.document_embeddings e
            WHERE e.organisation_id = p_organisation AND e.model_version = p_version
              AND e.document_id <> p_exclude
            ORDER BY e.embedding <=> p_query
            LIMIT p_limit OFFSET p_offset
        $$
        """
    )


def downgrade() -> None:
    if not _embeddings_present():  # without the table there is no vector type to name
        return
    op.execute(
        "DROP FUNCTION IF EXISTS workflow.nearest_documents(uuid, integer, vector, uuid,"
        " integer, integer)"
    )
