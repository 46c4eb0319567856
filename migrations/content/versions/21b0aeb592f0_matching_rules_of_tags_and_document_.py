"""content: matching rules of tags and document types (which documents' text earns them
when they arrive)

Revision ID: 21b0aeb592f0
Revises: 5b4581156a2c
Create Date: 2026-12-01 19:58:34.125525
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "21b0aeb592f0"
down_revision: str | None = "5b4581156a2c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("document_types", "tags")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(
            table,
            sa.Column(
                "match_algorithm", sa.Text(), server_default=sa.text("'none'"), nullable=False
            ),
            schema="content",
        )
        op.add_column(
            table,
            sa.Column("match_pattern", sa.Text(), server_default=sa.text("''"), nullable=False),
            schema="content",
        )
        op.add_column(
            table,
            sa.Column(
                "match_case_sensitive",
                sa.Boolean(),
                server_default=sa.text("false"),
                nullable=False,
            ),
            schema="content",
        )
        op.create_check_constraint(
            op.f(f"ck_{table}_match_algorithm"),
            table,
            "match_algorithm IN ('none', 'any', 'all', 'literal', 'regex')",
            schema="content",
        )


def downgrade() -> None:
    for table in TABLES:
        op.drop_constraint(
            op.f(f"ck_{table}_match_algorithm"), table, schema="content", type_="check"
        )
        for column in ("match_case_sensitive", "match_pattern", "match_algorithm"):
            op.drop_column(table, column, schema="content")
