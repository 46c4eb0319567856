"""notification channels (chat and SMS through Apprise); deliveries to them

Revision ID: 5c0a7e2f91b4
Revises: 8ec8d8e3459c
Create Date: 2026-11-30 06:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5c0a7e2f91b4"
down_revision: str | None = "8ec8d8e3459c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_channels",
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("url_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("scheme", sa.Text(), nullable=False),
        sa.Column("service", sa.Text(), nullable=False),
        sa.Column("shown_host", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "categories",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("quiet_start", sa.Text(), nullable=True),
        sa.Column("quiet_end", sa.Text(), nullable=True),
        sa.Column("time_zone", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint("kind IN ('chat', 'sms')", name=op.f("ck_notification_channels_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_channels")),
        schema="communication",
    )
    op.create_index(
        "ix_notification_channels_org",
        "notification_channels",
        ["organisation_id", "id"],
        unique=False,
        schema="communication",
    )
    op.add_column(
        "deliveries", sa.Column("channel_id", sa.UUID(), nullable=True), schema="communication"
    )
    op.alter_column(
        "deliveries", "user_id", existing_type=sa.UUID(), nullable=True, schema="communication"
    )
    op.create_index(
        "uq_deliveries_notification_channel",
        "deliveries",
        ["notification_id", "channel_id"],
        unique=True,
        schema="communication",
        postgresql_where=sa.text("channel_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_deliveries_notification_channel",
        table_name="deliveries",
        schema="communication",
        postgresql_where=sa.text("channel_id IS NOT NULL"),
    )
    op.execute("DELETE FROM communication.deliveries WHERE user_id IS NULL")
    op.alter_column(
        "deliveries", "user_id", existing_type=sa.UUID(), nullable=False, schema="communication"
    )
    op.drop_column("deliveries", "channel_id", schema="communication")
    op.drop_index(
        "ix_notification_channels_org",
        table_name="notification_channels",
        schema="communication",
    )
    op.drop_table("notification_channels", schema="communication")
