"""personal data erasure: audit rewrites, pseudonymising updates, departed owners' documents

Revision ID: 7d3e1f0a9c21
Revises: 5c1a7e9d2b40
Create Date: 2026-11-30 12:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7d3e1f0a9c21"
down_revision: str | None = "5c1a7e9d2b40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The append-only guard lets one kind of UPDATE through: a transaction that declared an
# erasure rewrite (SET LOCAL hub.audit_rewrite = 'erasure'; services.audit_erasure).
# DELETE and TRUNCATE stay refused.
ALLOW_REWRITE = """
CREATE OR REPLACE FUNCTION content.audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('hub.audit_rewrite', true) = 'erasure' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""

REFUSE = """
CREATE OR REPLACE FUNCTION content.audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade() -> None:
    op.execute(ALLOW_REWRITE)
    op.create_table(
        "audit_rewrites",
        sa.Column("chain_id", sa.UUID(), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("hash_before", sa.Text(), nullable=False),
        sa.Column("hash_after", sa.Text(), nullable=False),
        sa.Column("rewritten_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_rewrites")),
        schema="content",
    )
    op.create_index(
        "ix_audit_rewrites_chain",
        "audit_rewrites",
        ["chain_id", "last_seq"],
        unique=False,
        schema="content",
    )
    op.add_column(
        "organisation_settings",
        sa.Column(
            "departed_owner_documents",
            sa.Text(),
            server_default=sa.text("'transfer'"),
            nullable=False,
        ),
        schema="content",
    )


def downgrade() -> None:
    op.drop_column("organisation_settings", "departed_owner_documents", schema="content")
    op.drop_index("ix_audit_rewrites_chain", table_name="audit_rewrites", schema="content")
    op.drop_table("audit_rewrites", schema="content")
    op.execute(REFUSE)
