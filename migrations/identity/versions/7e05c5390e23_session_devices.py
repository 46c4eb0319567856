"""identity: a session's device name ("Firefox on Windows", from its User-Agent)

Sessions opened before it keep a null device; the new-sign-in check names theirs from
their stored User-Agent when it reads them.

Revision ID: 7e05c5390e23
Revises: 38cfac349cc7
Create Date: 2026-12-01 05:58:59.211494
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7e05c5390e23"
down_revision: str | None = "38cfac349cc7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sessions", sa.Column("device", sa.Text(), nullable=True), schema="identity")


def downgrade() -> None:
    op.drop_column("sessions", "device", schema="identity")
