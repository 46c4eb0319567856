"""communication: threads in conversations (a reply posted in a thread names its root; the
root counts its replies)

Revision ID: 2e7fda05a4ab
Revises: 333042fd26c3
Create Date: 2026-12-01 05:50:32.165320
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2e7fda05a4ab"
down_revision: str | None = "333042fd26c3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "messages", sa.Column("thread_id", sa.UUID(), nullable=True), schema="communication"
    )
    op.add_column(
        "messages",
        sa.Column("thread_reply_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        schema="communication",
    )
    op.add_column(
        "messages",
        sa.Column("thread_last_reply_at", sa.DateTime(timezone=True), nullable=True),
        schema="communication",
    )
    op.create_index(
        "ix_messages_thread",
        "messages",
        ["thread_id", "seq"],
        unique=False,
        schema="communication",
        postgresql_where=sa.text("thread_id IS NOT NULL"),
    )
    op.create_index(
        "ix_messages_timeline",
        "messages",
        ["conversation_id", "seq"],
        unique=False,
        schema="communication",
        postgresql_where=sa.text("thread_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_messages_timeline", table_name="messages", schema="communication")
    op.drop_index("ix_messages_thread", table_name="messages", schema="communication")
    op.drop_column("messages", "thread_last_reply_at", schema="communication")
    op.drop_column("messages", "thread_reply_count", schema="communication")
    op.drop_column("messages", "thread_id", schema="communication")
