"""communication: scheduled notifications (a state and the time a notification goes out)

Every notification stored before is ``sent``.

Revision ID: 419409b0705b
Revises: 2e7fda05a4ab
Create Date: 2026-12-01 06:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "419409b0705b"
down_revision: str | None = "2e7fda05a4ab"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "notifications",
        sa.Column("state", sa.Text(), server_default=sa.text("'sent'"), nullable=False),
        schema="communication",
    )
    op.add_column(
        "notifications",
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=True),
        schema="communication",
    )
    op.create_check_constraint(
        op.f("ck_notifications_state"),
        "notifications",
        "state IN ('sent', 'scheduled', 'cancelled')",
        schema="communication",
    )
    op.create_index(
        "ix_notifications_scheduled",
        "notifications",
        ["send_at"],
        unique=False,
        schema="communication",
        postgresql_where=sa.text("state = 'scheduled'"),
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_scheduled", table_name="notifications", schema="communication")
    op.drop_constraint(
        op.f("ck_notifications_state"), "notifications", schema="communication", type_="check"
    )
    op.drop_column("notifications", "send_at", schema="communication")
    op.drop_column("notifications", "state", schema="communication")
