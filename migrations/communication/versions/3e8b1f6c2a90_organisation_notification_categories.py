"""organisation-defined notification categories

Revision ID: 3e8b1f6c2a90
Revises: d582665ca610
Create Date: 2026-11-30 12:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "3e8b1f6c2a90"
down_revision: str | None = "d582665ca610"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organisation_categories",
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column(
            "defaults",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("mandatory", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_categories")),
        sa.UniqueConstraint(
            "organisation_id", "key", name=op.f("uq_organisation_categories_organisation_id_key")
        ),
        schema="communication",
    )


def downgrade() -> None:
    op.drop_table("organisation_categories", schema="communication")
