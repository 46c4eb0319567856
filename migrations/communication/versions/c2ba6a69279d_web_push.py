"""communication: Web Push — browsers' subscriptions (sealed), which of them a push
delivery reached, and the hub's VAPID key (one row)

Revision ID: c2ba6a69279d
Revises: 2f8f2bc8a4a7
Create Date: 2026-12-01 16:20:58.800634
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c2ba6a69279d"
down_revision: str | None = "2f8f2bc8a4a7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "push_subscriptions",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("endpoint_hash", sa.LargeBinary(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint("endpoint_hash", name=op.f("uq_push_subscriptions_endpoint_hash")),
        schema="communication",
    )
    op.create_index(
        "ix_push_subscriptions_user",
        "push_subscriptions",
        ["user_id", "last_used_at"],
        unique=False,
        schema="communication",
    )
    op.create_table(
        "vapid_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("private_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_vapid_keys_single")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vapid_keys")),
        schema="communication",
    )
    op.create_table(
        "push_receipts",
        sa.Column("delivery_id", sa.UUID(), nullable=False),
        sa.Column("subscription_id", sa.UUID(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["communication.deliveries.id"],
            name=op.f("fk_push_receipts_delivery_id_deliveries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["communication.push_subscriptions.id"],
            name=op.f("fk_push_receipts_subscription_id_push_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("delivery_id", "subscription_id", name=op.f("pk_push_receipts")),
        schema="communication",
    )
    op.create_index(
        "ix_push_receipts_subscription",
        "push_receipts",
        ["subscription_id"],
        unique=False,
        schema="communication",
    )


def downgrade() -> None:
    op.drop_index(
        "ix_push_receipts_subscription", table_name="push_receipts", schema="communication"
    )
    op.drop_table("push_receipts", schema="communication")
    op.drop_table("vapid_keys", schema="communication")
    op.drop_index(
        "ix_push_subscriptions_user", table_name="push_subscriptions", schema="communication"
    )
    op.drop_table("push_subscriptions", schema="communication")
