"""communication: messages pinned to their conversation (when, and by whom)

Revision ID: 22367fcfcdcc
Revises: 8b11e885bd62
Create Date: 2026-12-01 06:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "22367fcfcdcc"
down_revision: str | None = "8b11e885bd62"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "messages",
        sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=True),
        schema="communication",
    )
    op.add_column(
        "messages", sa.Column("pinned_by", sa.UUID(), nullable=True), schema="communication"
    )
    op.create_index(
        "ix_messages_pinned",
        "messages",
        ["conversation_id", "pinned_at"],
        unique=False,
        schema="communication",
        postgresql_where=sa.text("pinned_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_messages_pinned", table_name="messages", schema="communication")
    op.drop_column("messages", "pinned_by", schema="communication")
    op.drop_column("messages", "pinned_at", schema="communication")
