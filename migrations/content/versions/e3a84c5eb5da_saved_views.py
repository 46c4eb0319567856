"""content: saved views (a member's named document queries, personal or shared)

Revision ID: e3a84c5eb5da
Revises: 7a3d9e1c5b20
Create Date: 2026-12-01 10:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e3a84c5eb5da"
down_revision: str | None = "7a3d9e1c5b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saved_views",
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("owner_id", sa.UUID(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("filters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("sort", sa.Text(), nullable=False),
        sa.Column("shared", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "show_on_dashboard", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("show_in_sidebar", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "sort IN ('created', 'updated', 'title')", name=op.f("ck_saved_views_sort")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
        schema="content",
    )
    op.create_index(
        "ix_saved_views_owner",
        "saved_views",
        ["organisation_id", "owner_id"],
        unique=False,
        schema="content",
    )
    op.create_index(
        "ix_saved_views_shared",
        "saved_views",
        ["organisation_id"],
        unique=False,
        schema="content",
        postgresql_where=sa.text("shared"),
    )


def downgrade() -> None:
    op.drop_index("ix_saved_views_shared", table_name="saved_views", schema="content")
    op.drop_index("ix_saved_views_owner", table_name="saved_views", schema="content")
    op.drop_table("saved_views", schema="content")
