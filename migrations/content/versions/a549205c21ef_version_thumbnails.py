"""version thumbnails (one row per made thumbnail; its WebP blob counted in blobs)

Revision ID: a549205c21ef
Revises: 5b2e7c91d0a4
Create Date: 2026-11-30 02:48:17.503150
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a549205c21ef"
down_revision: str | None = "5b2e7c91d0a4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "version_thumbnails",
        sa.Column("document_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(status = 'ready') = (sha256 IS NOT NULL)",
            name=op.f("ck_version_thumbnails_ready_has_blob"),
        ),
        sa.CheckConstraint(
            "status IN ('ready', 'failed')", name=op.f("ck_version_thumbnails_status")
        ),
        sa.ForeignKeyConstraint(
            ["document_id", "version"],
            ["content.document_versions.document_id", "content.document_versions.version"],
            name=op.f("fk_version_thumbnails_document_id_document_versions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sha256"],
            ["content.blobs.sha256"],
            name=op.f("fk_version_thumbnails_sha256_blobs"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("document_id", "version", name="pk_version_thumbnails"),
        schema="content",
    )
    op.create_index(
        "ix_version_thumbnails_sha256",
        "version_thumbnails",
        ["sha256"],
        unique=False,
        schema="content",
    )


def downgrade() -> None:
    op.drop_index("ix_version_thumbnails_sha256", table_name="version_thumbnails", schema="content")
    op.drop_table("version_thumbnails", schema="content")
