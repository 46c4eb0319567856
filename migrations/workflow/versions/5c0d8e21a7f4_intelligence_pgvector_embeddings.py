"""intelligence: pgvector embeddings with an HNSW index, where the server has pgvector

Revision ID: 5c0d8e21a7f4
Revises: b6c03ccd2904
Create Date: 2026-11-30 09:15:00

Conditional on purpose. The embedded PostgreSQL ships the ``vector`` extension; a server
without it (the machine's PostgreSQL 15, a production server where nobody installed it)
keeps working on the ``real[]`` vectors of ``workflow.document_vectors``. So this revision
creates the extension and ``workflow.document_embeddings`` only when
``pg_available_extensions`` lists ``vector`` and it is installed already or the migrating
role may create it (a superuser: pgvector is not a trusted extension). No model describes
the table (it exists on some servers only): ``hub.workflow.intelligence.models`` lists it
as unmanaged, so the drift check leaves it out on both kinds of server.

Vectors are padded to 128 dimensions (the SVD's maximum; zeros change no cosine), because
an HNSW index needs a fixed dimension.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c0d8e21a7f4"
down_revision: str | None = "b6c03ccd2904"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIMENSIONS = 128


def _can_use_pgvector() -> bool:
    bind = op.get_bind()
    installed = bind.scalar(sa.text("SELECT count(*) FROM pg_extension WHERE extname = 'vector'"))
    if installed:
        return True
    available = bind.scalar(
        sa.text("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")
    )
    superuser = bind.scalar(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
    return bool(available) and bool(superuser)


def upgrade() -> None:
    if not _can_use_pgvector():
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute(
        f"""
        CREATE TABLE workflow.document_embeddings (
            document_id uuid PRIMARY KEY,
            organisation_id uuid NOT NULL,
            model_version integer NOT NULL,
            embedding vector({DIMENSIONS}) NOT NULL
        )
        """
    )
    op.execute(
        "CREATE INDEX ix_document_embeddings_hnsw ON workflow.document_embeddings"
        " USING hnsw (embedding vector_cosine_ops)"
    )
    op.execute(
        "CREATE INDEX ix_document_embeddings_organisation"
        " ON workflow.document_embeddings (organisation_id, model_version)"
    )


def downgrade() -> None:
    # The extension stays: other databases objects may use it, and it holds no data.
    op.execute("DROP TABLE IF EXISTS workflow.document_embeddings")
