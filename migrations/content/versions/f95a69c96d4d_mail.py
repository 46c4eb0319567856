"""content: mail accounts (passwords sealed), mail rules and the mails they dealt with

Revision ID: f95a69c96d4d
Revises: 4e36780fca75
Create Date: 2026-12-01 16:50:49.122069
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "f95a69c96d4d"
down_revision: str | None = "4e36780fca75"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_accounts",
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("security", sa.Text(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("password_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("owner_id", sa.UUID(), nullable=True),
        sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "security IN ('ssl', 'starttls', 'none')", name=op.f("ck_mail_accounts_security")
        ),
        sa.CheckConstraint("port BETWEEN 1 AND 65535", name=op.f("ck_mail_accounts_port")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_accounts")),
        schema="content",
    )
    op.create_index(
        "ix_mail_accounts_org",
        "mail_accounts",
        ["organisation_id", "id"],
        unique=False,
        schema="content",
    )
    op.create_table(
        "mail_rules",
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("folder", sa.Text(), nullable=False),
        sa.Column("filter_from", sa.Text(), nullable=True),
        sa.Column("filter_subject", sa.Text(), nullable=True),
        sa.Column("filter_attachment", sa.Text(), nullable=True),
        sa.Column("max_age_days", sa.Integer(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("action_folder", sa.Text(), nullable=True),
        sa.Column("title_from", sa.Text(), nullable=False),
        sa.Column(
            "tag_ids", postgresql.ARRAY(sa.UUID()), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column("document_type_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "action IN ('mark_read', 'flag', 'move', 'delete')", name=op.f("ck_mail_rules_action")
        ),
        sa.CheckConstraint(
            "title_from IN ('subject', 'filename')", name=op.f("ck_mail_rules_title_from")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["content.mail_accounts.id"],
            name=op.f("fk_mail_rules_account_id_mail_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_rules")),
        schema="content",
    )
    op.create_index(
        "ix_mail_rules_account",
        "mail_rules",
        ["account_id", "position", "id"],
        unique=False,
        schema="content",
    )
    op.create_index(
        "ix_mail_rules_org", "mail_rules", ["organisation_id", "id"], unique=False, schema="content"
    )
    op.create_table(
        "mail_processed",
        sa.Column("rule_id", sa.UUID(), nullable=False),
        sa.Column("uid_validity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("sender", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "document_ids",
            postgresql.ARRAY(sa.UUID()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('consumed', 'skipped', 'failed')", name=op.f("ck_mail_processed_status")
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["content.mail_rules.id"],
            name=op.f("fk_mail_processed_rule_id_mail_rules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rule_id", "uid_validity", "uid", name=op.f("pk_mail_processed")),
        schema="content",
    )
    op.create_index(
        "ix_mail_processed_rule",
        "mail_processed",
        ["rule_id", "processed_at"],
        unique=False,
        schema="content",
    )


def downgrade() -> None:
    op.drop_index("ix_mail_processed_rule", table_name="mail_processed", schema="content")
    op.drop_table("mail_processed", schema="content")
    op.drop_index("ix_mail_rules_org", table_name="mail_rules", schema="content")
    op.drop_index("ix_mail_rules_account", table_name="mail_rules", schema="content")
    op.drop_table("mail_rules", schema="content")
    op.drop_index("ix_mail_accounts_org", table_name="mail_accounts", schema="content")
    op.drop_table("mail_accounts", schema="content")
