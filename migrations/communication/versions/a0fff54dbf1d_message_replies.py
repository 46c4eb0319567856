"""communication: a message may reply to another of its conversation (reply_to_id)

Revision ID: a0fff54dbf1d
Revises: ff7439e46cd9
Create Date: 2026-12-01 03:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a0fff54dbf1d"
down_revision: str | None = "ff7439e46cd9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "messages", sa.Column("reply_to_id", sa.UUID(), nullable=True), schema="communication"
    )


def downgrade() -> None:
    op.drop_column("messages", "reply_to_id", schema="communication")
