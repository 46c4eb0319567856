"""content: archive serial numbers (Paperless-ngx's ASN) on documents

Revision ID: 4e36780fca75
Revises: e3a84c5eb5da
Create Date: 2026-12-01 13:44:01

The number written on a paper original, so it is found again on the shelf: optional,
1 to 4294967295, unique in the organisation (trashed documents keep theirs). The partial
unique index holds only numbered documents and answers ``GET /documents?
archiveSerialNumber=`` and ``GET /documents/next-asn`` (the highest number).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4e36780fca75"
down_revision: str | None = "e3a84c5eb5da"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "documents",
        sa.Column("archive_serial_number", sa.BigInteger(), nullable=True),
        schema="content",
    )
    op.create_check_constraint(
        op.f("ck_documents_asn"),
        "documents",
        "archive_serial_number BETWEEN 1 AND 4294967295",
        schema="content",
    )
    op.create_index(
        "uq_documents_asn",
        "documents",
        ["organisation_id", "archive_serial_number"],
        unique=True,
        schema="content",
        postgresql_where=sa.text("archive_serial_number IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_documents_asn",
        table_name="documents",
        schema="content",
        postgresql_where=sa.text("archive_serial_number IS NOT NULL"),
    )
    op.drop_constraint(op.f("ck_documents_asn"), "documents", schema="content", type_="check")
    op.drop_column("documents", "archive_serial_number", schema="content")
