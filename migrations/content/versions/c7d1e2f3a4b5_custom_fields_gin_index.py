"""custom fields: a GIN index for the list's equality filters (JSONB containment)

Revision ID: c7d1e2f3a4b5
Revises: a549205c21ef
Create Date: 2026-11-30 03:55:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c7d1e2f3a4b5"
down_revision: str | None = "a549205c21ef"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_documents_custom_fields",
        "documents",
        ["custom_fields"],
        unique=False,
        schema="content",
        postgresql_using="gin",
        postgresql_ops={"custom_fields": "jsonb_path_ops"},
    )


def downgrade() -> None:
    op.drop_index(
        "ix_documents_custom_fields",
        table_name="documents",
        schema="content",
        postgresql_using="gin",
        postgresql_ops={"custom_fields": "jsonb_path_ops"},
    )
