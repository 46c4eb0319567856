"""document types: audit_reads (every read of a document of the type is audited)

Revision ID: 7a3d9e1c5b20
Revises: 7d3e1f0a9c21
Create Date: 2026-11-30 12:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7a3d9e1c5b20"
down_revision: str | None = "7d3e1f0a9c21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "document_types",
        sa.Column("audit_reads", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        schema="content",
    )


def downgrade() -> None:
    op.drop_column("document_types", "audit_reads", schema="content")
