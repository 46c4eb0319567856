"""identity: passkeys (WebAuthn credentials), several per user, named, with their counters

Revision ID: ec1395460956
Revises: 23245caa63da
Create Date: 2026-11-30 09:05:00.186469
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "ec1395460956"
down_revision: str | None = "23245caa63da"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "passkeys",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("credential_id", sa.LargeBinary(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("transports", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("aaguid", sa.Text(), server_default="", nullable=False),
        sa.Column("multi_device", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("backed_up", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity.users.id"],
            name=op.f("fk_passkeys_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passkeys")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_passkeys_credential_id")),
        schema="identity",
    )
    op.create_index("ix_passkeys_user_id", "passkeys", ["user_id"], unique=False, schema="identity")


def downgrade() -> None:
    op.drop_index("ix_passkeys_user_id", table_name="passkeys", schema="identity")
    op.drop_table("passkeys", schema="identity")
