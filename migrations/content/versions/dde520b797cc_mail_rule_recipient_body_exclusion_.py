"""content: mail rules filter on recipients and body, leave attachments out by pattern,
and may keep the mail itself as an .eml document

Revision ID: dde520b797cc
Revises: f95a69c96d4d
Create Date: 2026-12-01 19:41:47.393087
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "dde520b797cc"
down_revision: str | None = "f95a69c96d4d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("mail_rules", sa.Column("filter_to", sa.Text(), nullable=True), schema="content")
    op.add_column(
        "mail_rules", sa.Column("filter_body", sa.Text(), nullable=True), schema="content"
    )
    op.add_column(
        "mail_rules",
        sa.Column("filter_attachment_exclude", sa.Text(), nullable=True),
        schema="content",
    )
    op.add_column(
        "mail_rules",
        sa.Column(
            "consumption", sa.Text(), server_default=sa.text("'attachments'"), nullable=False
        ),
        schema="content",
    )
    op.create_check_constraint(
        op.f("ck_mail_rules_consumption"),
        "mail_rules",
        "consumption IN ('attachments', 'mail', 'everything')",
        schema="content",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("ck_mail_rules_consumption"), "mail_rules", schema="content", type_="check"
    )
    op.drop_column("mail_rules", "consumption", schema="content")
    op.drop_column("mail_rules", "filter_attachment_exclude", schema="content")
    op.drop_column("mail_rules", "filter_body", schema="content")
    op.drop_column("mail_rules", "filter_to", schema="content")
