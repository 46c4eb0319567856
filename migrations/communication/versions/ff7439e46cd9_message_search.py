"""communication: a GIN index over the words of every message body (message search)

Revision ID: ff7439e46cd9
Revises: 9c4e2b7d1f35
Create Date: 2026-12-01 03:20:56.113226
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ff7439e46cd9"
down_revision: str | None = "9c4e2b7d1f35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_messages_body_search",
        "messages",
        [sa.literal_column("to_tsvector('simple'::regconfig, body)")],
        unique=False,
        schema="communication",
        postgresql_using="gin",
    )


def downgrade() -> None:
    op.drop_index(
        "ix_messages_body_search",
        table_name="messages",
        schema="communication",
        postgresql_using="gin",
    )
