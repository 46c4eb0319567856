"""inbox: a partial index of the snoozes still to end

Revision ID: 5b1e2c7a9d40
Revises: e4f78e3b3d89
Create Date: 2026-11-30 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b1e2c7a9d40"
down_revision: str | None = "e4f78e3b3d89"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_inbox_snoozed",
        "inbox_items",
        ["snoozed_until"],
        unique=False,
        schema="communication",
        postgresql_where=sa.text("snoozed_until IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_inbox_snoozed",
        table_name="inbox_items",
        schema="communication",
        postgresql_where=sa.text("snoozed_until IS NOT NULL"),
    )
