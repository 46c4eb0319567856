"""workflow: effect retries and the indexes incidents are read by

Revision ID: 37115fc54e85
Revises: e41b7c9d2f05
Create Date: 2026-12-01 13:26:57

A failed effect (an incident) may be run again (``POST /workflow-instances/{id}/effects/
{effectId}/retry``): ``retries`` counts how many times. ``GET /workflow-incidents`` reads
an organisation's failed effects newest first through a partial index that holds only
those, and an instance's effects are read in order (``GET …/{id}/effects``) through
``ix_effects_instance``, which the cascade from a deleted instance also uses.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "37115fc54e85"
down_revision: str | None = "e41b7c9d2f05"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "effects",
        sa.Column("retries", sa.Integer(), server_default=sa.text("0"), nullable=False),
        schema="workflow",
    )
    op.create_index(
        "ix_effects_failed",
        "effects",
        ["organisation_id", "id"],
        unique=False,
        schema="workflow",
        postgresql_where=sa.text("status = 'failed'"),
    )
    op.create_index(
        "ix_effects_instance", "effects", ["instance_id", "id"], unique=False, schema="workflow"
    )


def downgrade() -> None:
    op.drop_index("ix_effects_instance", table_name="effects", schema="workflow")
    op.drop_index(
        "ix_effects_failed",
        table_name="effects",
        schema="workflow",
        postgresql_where=sa.text("status = 'failed'"),
    )
    op.drop_column("effects", "retries", schema="workflow")
