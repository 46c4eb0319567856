"""workflow: messages kept for instances that do not wait for them yet (a time-to-live)

Revision ID: 1ad373381dd2
Revises: 37115fc54e85
Create Date: 2026-12-01 16:44:03.936313
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "1ad373381dd2"
down_revision: str | None = "37115fc54e85"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "buffered_messages",
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("workflow_key", sa.Text(), nullable=True),
        sa.Column("instance_id", sa.UUID(), nullable=True),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("document_id", sa.UUID(), nullable=True),
        sa.Column(
            "match_variables",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "variables",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("sender_id", sa.UUID(), nullable=True),
        sa.Column("sender_type", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "sender_type IN ('user', 'api_key')", name=op.f("ck_buffered_messages_sender_type")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buffered_messages")),
        schema="workflow",
    )
    op.create_index(
        "ix_buffered_messages_expiry",
        "buffered_messages",
        ["expires_at"],
        unique=False,
        schema="workflow",
    )
    op.create_index(
        "ix_buffered_messages_waiting",
        "buffered_messages",
        ["organisation_id", "name", "expires_at"],
        unique=False,
        schema="workflow",
    )


def downgrade() -> None:
    op.drop_index("ix_buffered_messages_waiting", table_name="buffered_messages", schema="workflow")
    op.drop_index("ix_buffered_messages_expiry", table_name="buffered_messages", schema="workflow")
    op.drop_table("buffered_messages", schema="workflow")
