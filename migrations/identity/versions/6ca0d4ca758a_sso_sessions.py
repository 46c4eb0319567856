"""identity: the hub sessions signed in through an identity provider (subject and the
provider's sid), for back-channel logout

Revision ID: 6ca0d4ca758a
Revises: 547091ce5084
Create Date: 2026-12-01 00:22:00.253559
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6ca0d4ca758a"
down_revision: str | None = "547091ce5084"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sso_sessions",
        sa.Column("session_id", sa.UUID(), nullable=False),
        sa.Column("provider_id", sa.UUID(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("provider_session", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["identity.identity_providers.id"],
            name=op.f("fk_sso_sessions_provider_id_identity_providers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["identity.sessions.id"],
            name=op.f("fk_sso_sessions_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_sso_sessions")),
        schema="identity",
    )
    op.create_index(
        "ix_sso_sessions_provider_id_provider_session",
        "sso_sessions",
        ["provider_id", "provider_session"],
        unique=False,
        schema="identity",
    )
    op.create_index(
        "ix_sso_sessions_provider_id_subject",
        "sso_sessions",
        ["provider_id", "subject"],
        unique=False,
        schema="identity",
    )


def downgrade() -> None:
    op.drop_index(
        "ix_sso_sessions_provider_id_subject", table_name="sso_sessions", schema="identity"
    )
    op.drop_index(
        "ix_sso_sessions_provider_id_provider_session", table_name="sso_sessions", schema="identity"
    )
    op.drop_table("sso_sessions", schema="identity")
