"""communication: custom headers on webhook endpoints (names in clear, the headers sealed)

Revision ID: ea9871b6809c
Revises: 419409b0705b
Create Date: 2026-12-01 06:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "ea9871b6809c"
down_revision: str | None = "419409b0705b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "webhook_endpoints",
        sa.Column(
            "header_names",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        schema="communication",
    )
    op.add_column(
        "webhook_endpoints",
        sa.Column("headers_sealed", sa.LargeBinary(), nullable=True),
        schema="communication",
    )


def downgrade() -> None:
    op.drop_column("webhook_endpoints", "headers_sealed", schema="communication")
    op.drop_column("webhook_endpoints", "header_names", schema="communication")
