"""identity: the sealed ID token of a session signed in through an identity provider (the
hint of an RP-initiated logout)

Revision ID: 38cfac349cc7
Revises: 6ca0d4ca758a
Create Date: 2026-12-01 02:55:54.352407
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "38cfac349cc7"
down_revision: str | None = "6ca0d4ca758a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "sso_sessions",
        sa.Column("id_token_sealed", sa.LargeBinary(), nullable=True),
        schema="identity",
    )


def downgrade() -> None:
    op.drop_column("sso_sessions", "id_token_sealed", schema="identity")
