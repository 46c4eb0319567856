"""communication: a participant may mute a conversation (until a time, or until unmuted)

Revision ID: 8b11e885bd62
Revises: ea9871b6809c
Create Date: 2026-12-01 06:33:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8b11e885bd62"
down_revision: str | None = "ea9871b6809c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "conversation_participants",
        sa.Column("muted_until", sa.DateTime(timezone=True), nullable=True),
        schema="communication",
    )


def downgrade() -> None:
    op.drop_column("conversation_participants", "muted_until", schema="communication")
