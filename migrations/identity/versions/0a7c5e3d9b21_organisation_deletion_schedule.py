"""identity: organisation deletion schedule (deletion_scheduled_at, purge_after, who asked)

Revision ID: 0a7c5e3d9b21
Revises: ec1395460956
Create Date: 2026-11-30 12:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0a7c5e3d9b21"
down_revision: str | None = "ec1395460956"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "organisations",
        sa.Column("deletion_scheduled_at", sa.DateTime(timezone=True), nullable=True),
        schema="identity",
    )
    op.add_column(
        "organisations",
        sa.Column("purge_after", sa.DateTime(timezone=True), nullable=True),
        schema="identity",
    )
    op.add_column(
        "organisations",
        sa.Column("deletion_requested_by", sa.UUID(), nullable=True),
        schema="identity",
    )
    op.create_index(
        "ix_organisations_purge_after",
        "organisations",
        ["purge_after"],
        unique=False,
        schema="identity",
        postgresql_where=sa.text("purge_after IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_organisations_purge_after",
        table_name="organisations",
        schema="identity",
        postgresql_where=sa.text("purge_after IS NOT NULL"),
    )
    op.drop_column("organisations", "deletion_requested_by", schema="identity")
    op.drop_column("organisations", "purge_after", schema="identity")
    op.drop_column("organisations", "deletion_scheduled_at", schema="identity")
