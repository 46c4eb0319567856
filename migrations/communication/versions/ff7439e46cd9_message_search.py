"""communication: a GIN index over the words of every message body (message search), in
a text-search configuration of communication's own (``simple`` words, accents folded)

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
    # Database-wide and idempotent: content creates it too, and a communication split out
    # to a database of its own needs it all the same.
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute(
        "CREATE TEXT SEARCH CONFIGURATION communication.hub_messages (COPY = pg_catalog.simple)"
    )
    op.execute(
        "ALTER TEXT SEARCH CONFIGURATION communication.hub_messages "
        "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple"
    )
    op.create_index(
        "ix_messages_body_search",
        "messages",
        [sa.literal_column("to_tsvector('communication.hub_messages'::regconfig, body)")],
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
    op.execute("DROP TEXT SEARCH CONFIGURATION communication.hub_messages")
