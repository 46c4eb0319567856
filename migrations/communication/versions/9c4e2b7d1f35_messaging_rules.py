"""messaging rules: who may message whom, by role

Revision ID: 9c4e2b7d1f35
Revises: 3e8b1f6c2a90
Create Date: 2026-11-30 12:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "9c4e2b7d1f35"
down_revision: str | None = "3e8b1f6c2a90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "messaging_rules",
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("may_message", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", "role", name=op.f("pk_messaging_rules")),
        schema="communication",
    )


def downgrade() -> None:
    op.drop_table("messaging_rules", schema="communication")
