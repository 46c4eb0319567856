"""communication: people's reactions to messages (a name per person, message and name)

Revision ID: 333042fd26c3
Revises: a0fff54dbf1d
Create Date: 2026-12-01 03:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "333042fd26c3"
down_revision: str | None = "a0fff54dbf1d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "message_reactions",
        sa.Column("message_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["communication.messages.id"],
            name=op.f("fk_message_reactions_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", "user_id", "name", name="pk_message_reactions"),
        schema="communication",
    )
    op.create_index(
        "ix_message_reactions_user",
        "message_reactions",
        ["user_id"],
        unique=False,
        schema="communication",
    )


def downgrade() -> None:
    op.drop_index(
        "ix_message_reactions_user", table_name="message_reactions", schema="communication"
    )
    op.drop_table("message_reactions", schema="communication")
