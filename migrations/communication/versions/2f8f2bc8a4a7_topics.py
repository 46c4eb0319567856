"""communication: topics (named groups of members to notify) and their subscriptions

Revision ID: 2f8f2bc8a4a7
Revises: 22367fcfcdcc
Create Date: 2026-12-01 11:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2f8f2bc8a4a7"
down_revision: str | None = "22367fcfcdcc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "topics",
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topics")),
        sa.UniqueConstraint("organisation_id", "key", name=op.f("uq_topics_organisation_id_key")),
        schema="communication",
    )
    op.create_table(
        "topic_subscriptions",
        sa.Column("topic_id", sa.UUID(), nullable=False),
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("added_by", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["communication.topics.id"],
            name=op.f("fk_topic_subscriptions_topic_id_topics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("topic_id", "user_id", name=op.f("pk_topic_subscriptions")),
        schema="communication",
    )
    op.create_index(
        "ix_topic_subscriptions_user",
        "topic_subscriptions",
        ["user_id"],
        unique=False,
        schema="communication",
    )


def downgrade() -> None:
    op.drop_index(
        "ix_topic_subscriptions_user", table_name="topic_subscriptions", schema="communication"
    )
    op.drop_table("topic_subscriptions", schema="communication")
    op.drop_table("topics", schema="communication")
