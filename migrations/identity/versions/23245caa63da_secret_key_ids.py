"""identity: the id of the HUB_SECRET_KEY that made each API-key and recovery-code hash

Existing rows get NULL: the application labels them with the current key's id at its
next start with no HUB_SECRET_KEY_PREVIOUS configured (the partial indexes find them).

Revision ID: 23245caa63da
Revises: 2325200b5b07
Create Date: 2026-11-29 23:54:37.977905
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "23245caa63da"
down_revision: str | None = "2325200b5b07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "api_keys", sa.Column("secret_key_id", sa.Text(), nullable=True), schema="identity"
    )
    op.create_index(
        "ix_api_keys_unlabelled",
        "api_keys",
        ["id"],
        unique=False,
        schema="identity",
        postgresql_where=sa.text("secret_key_id IS NULL"),
    )
    op.add_column(
        "recovery_codes", sa.Column("secret_key_id", sa.Text(), nullable=True), schema="identity"
    )
    op.create_index(
        "ix_recovery_codes_unlabelled",
        "recovery_codes",
        ["id"],
        unique=False,
        schema="identity",
        postgresql_where=sa.text("secret_key_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_recovery_codes_unlabelled",
        table_name="recovery_codes",
        schema="identity",
        postgresql_where=sa.text("secret_key_id IS NULL"),
    )
    op.drop_column("recovery_codes", "secret_key_id", schema="identity")
    op.drop_index(
        "ix_api_keys_unlabelled",
        table_name="api_keys",
        schema="identity",
        postgresql_where=sa.text("secret_key_id IS NULL"),
    )
    op.drop_column("api_keys", "secret_key_id", schema="identity")
