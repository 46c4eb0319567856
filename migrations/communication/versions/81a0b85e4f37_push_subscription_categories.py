"""communication: the notification categories a browser is woken for (null: every one
the person's preferences push)

Revision ID: 81a0b85e4f37
Revises: c2ba6a69279d
Create Date: 2026-12-01 20:12:36.076223
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "81a0b85e4f37"
down_revision: str | None = "c2ba6a69279d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "push_subscriptions",
        sa.Column("categories", sa.ARRAY(sa.Text()), nullable=True),
        schema="communication",
    )


def downgrade() -> None:
    op.drop_column("push_subscriptions", "categories", schema="communication")
