"""intelligence: document vectors kept per model version

Revision ID: a7e3c91d4b20
Revises: 5c0d8e21a7f4
Create Date: 2026-11-30 12:45:00

A retraining builds the new version's vectors beside the current version's (a search
meanwhile keeps using the complete current version), then switches the organisation's
``classifier_states.model_version`` to it and deletes the old version's vectors. So both
vector tables are keyed by (document, model version) instead of by document. The pgvector
table exists on some servers only (migration 5c0d8e21a7f4); it is changed where present.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7e3c91d4b20"
down_revision: str | None = "5c0d8e21a7f4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _embeddings_present() -> bool:
    bind = op.get_bind()
    return bool(
        bind.scalar(sa.text("SELECT to_regclass('workflow.document_embeddings') IS NOT NULL"))
    )


def upgrade() -> None:
    op.drop_constraint("pk_document_vectors", "document_vectors", schema="workflow")
    op.create_primary_key(
        "pk_document_vectors",
        "document_vectors",
        ["document_id", "model_version"],
        schema="workflow",
    )
    if _embeddings_present():
        op.execute(
            "ALTER TABLE workflow.document_embeddings"
            " DROP CONSTRAINT document_embeddings_pkey,"
            " ADD CONSTRAINT document_embeddings_pkey PRIMARY KEY (document_id, model_version)"
        )


def downgrade() -> None:
    # One row per document again: keep each document's newest version only.
    op.execute(
        "DELETE FROM workflow.document_vectors v USING workflow.document_vectors w"
        " WHERE v.document_id = w.document_id AND v.model_version < w.model_version"
    )
    op.drop_constraint("pk_document_vectors", "document_vectors", schema="workflow")
    op.create_primary_key(
        "pk_document_vectors", "document_vectors", ["document_id"], schema="workflow"
    )
    if _embeddings_present():
        op.execute(
            "DELETE FROM workflow.document_embeddings v USING workflow.document_embeddings w"
            " WHERE v.document_id = w.document_id AND v.model_version < w.model_version"
        )
        op.execute(
            "ALTER TABLE workflow.document_embeddings"
            " DROP CONSTRAINT document_embeddings_pkey,"
            " ADD CONSTRAINT document_embeddings_pkey PRIMARY KEY (document_id)"
        )
