"""content: consumption folders (an organisation's folder on the server whose files
become documents) and the files taken from them

Revision ID: 5b4581156a2c
Revises: dde520b797cc
Create Date: 2026-12-01 19:47:16.741167
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5b4581156a2c"
down_revision: str | None = "dde520b797cc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consume_folders",
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("owner_id", sa.UUID(), nullable=True),
        sa.Column(
            "tag_ids", postgresql.ARRAY(sa.UUID()), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column("document_type_id", sa.UUID(), nullable=True),
        sa.Column(
            "subfolders_as_tags", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("last_scanned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_consume_folders")),
        schema="content",
    )
    op.create_table(
        "consumed_files",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("document_id", sa.UUID(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('processing', 'consumed', 'failed')", name=op.f("ck_consumed_files_status")
        ),
        sa.CheckConstraint("size >= 0", name=op.f("ck_consumed_files_size")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consumed_files")),
        schema="content",
    )
    op.create_index(
        "ix_consumed_files_org",
        "consumed_files",
        ["organisation_id", "id"],
        unique=False,
        schema="content",
    )
    op.create_index(
        "ix_consumed_files_settled",
        "consumed_files",
        ["settled_at"],
        unique=False,
        schema="content",
    )


def downgrade() -> None:
    op.drop_index("ix_consumed_files_settled", table_name="consumed_files", schema="content")
    op.drop_index("ix_consumed_files_org", table_name="consumed_files", schema="content")
    op.drop_table("consumed_files", schema="content")
    op.drop_table("consume_folders", schema="content")
