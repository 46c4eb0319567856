"""audit trail: append-only, monthly partitions, chain heads, checkpoints

Revision ID: 5c1a7e9d2b40
Revises: 6f35b9601750
Create Date: 2026-11-30 03:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c1a7e9d2b40"
down_revision: str | None = "6f35b9601750"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Refuses every change to a stored entry. Dropping a whole partition (retention) stays
# possible: DROP fires no trigger.
REFUSE = """
CREATE FUNCTION content.audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""

# One month's partition (in the content_audit schema, which schema comparison ignores),
# created if missing, with the TRUNCATE guard of its own (a partition truncated directly
# does not fire its parent's statement trigger).
CREATE_PARTITION = """
CREATE FUNCTION content.audit_create_partition(month date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    first date := date_trunc('month', month)::date;
    name text := format('audit_entries_%s', to_char(first, 'YYYY_MM'));
BEGIN
    IF to_regclass(format('content_audit.%I', name)) IS NOT NULL THEN
        RETURN name;
    END IF;
    -- Two writers reaching a new month at once: one creates, the other finds it made.
    PERFORM pg_advisory_xact_lock(hashtext('content.audit_create_partition'));
    IF to_regclass(format('content_audit.%I', name)) IS NULL THEN
        BEGIN
            EXECUTE format(
                'CREATE TABLE content_audit.%I PARTITION OF content.audit_entries '
                'FOR VALUES FROM (%L) TO (%L)',
                name, first::text || ' 00:00:00+00',
                (first + interval '1 month')::date::text || ' 00:00:00+00');
            EXECUTE format(
                'CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON content_audit.%I '
                'FOR EACH STATEMENT EXECUTE FUNCTION content.audit_refuse_change()', name);
        EXCEPTION WHEN duplicate_table THEN
            NULL;  -- made meanwhile by a writer this statement's catalog view missed
        END;
    END IF;
    RETURN name;
END
$$
"""


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS content_audit")
    op.create_table(
        "audit_entries",
        sa.Column("chain_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("organisation_id", sa.UUID(), nullable=True),
        sa.Column("actor_id", sa.UUID(), nullable=True),
        sa.Column("actor_type", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("entity_type", sa.Text(), nullable=True),
        sa.Column("entity_id", sa.Text(), nullable=True),
        sa.Column("summary", sa.dialects.postgresql.JSONB(), nullable=False),
        sa.Column("correlation_id", sa.Text(), nullable=True),
        sa.Column("request_id", sa.Text(), nullable=True),
        sa.Column("client_address", sa.Text(), nullable=True),
        sa.Column("event_id", sa.UUID(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.Text(), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "seq", "recorded_at", name="pk_audit_entries"),
        schema="content",
        postgresql_partition_by="RANGE (recorded_at)",
    )
    op.create_index(
        "ix_audit_entries_actor",
        "audit_entries",
        ["chain_id", "actor_id"],
        unique=False,
        schema="content",
    )
    op.create_index(
        "ix_audit_entries_correlation",
        "audit_entries",
        ["chain_id", "correlation_id"],
        unique=False,
        schema="content",
    )
    op.create_index(
        "ix_audit_entries_entity",
        "audit_entries",
        ["chain_id", "entity_type", "entity_id"],
        unique=False,
        schema="content",
    )
    op.create_table(
        "audit_chains",
        sa.Column("chain_id", sa.UUID(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.Text(), nullable=False),
        sa.Column("last_recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("anchor_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("anchor_hash", sa.Text(), nullable=False),
        sa.Column("anchor_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("anchor_signature", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("chain_id", name=op.f("pk_audit_chains")),
        schema="content",
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("chain_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
        schema="content",
    )
    op.create_index(
        "ix_audit_checkpoints_chain",
        "audit_checkpoints",
        ["chain_id", "seq"],
        unique=False,
        schema="content",
    )
    op.execute(REFUSE)
    op.execute(
        "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON"
        " content.audit_entries FOR EACH ROW EXECUTE FUNCTION content.audit_refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON content.audit_entries"
        " FOR EACH STATEMENT EXECUTE FUNCTION content.audit_refuse_change()"
    )
    op.execute(CREATE_PARTITION)
    # This month and the next; the scheduled job keeps two months ahead from then on.
    op.execute("SELECT content.audit_create_partition(current_date)")
    op.execute("SELECT content.audit_create_partition((current_date + interval '1 month')::date)")


def downgrade() -> None:
    op.drop_table("audit_entries", schema="content")  # its partitions go with it
    op.execute("DROP SCHEMA IF EXISTS content_audit CASCADE")
    op.execute("DROP FUNCTION IF EXISTS content.audit_create_partition(date)")
    op.execute("DROP FUNCTION IF EXISTS content.audit_refuse_change()")
    op.drop_index("ix_audit_checkpoints_chain", table_name="audit_checkpoints", schema="content")
    op.drop_table("audit_checkpoints", schema="content")
    op.drop_table("audit_chains", schema="content")
