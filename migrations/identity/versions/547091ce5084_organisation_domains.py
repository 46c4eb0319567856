"""identity: organisation domains (claimed, then proved by a DNS TXT record; a verified
domain belongs to one organisation)

Revision ID: 547091ce5084
Revises: 5e0c1d2a7b93
Create Date: 2026-12-01 00:01:16.998746
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "547091ce5084"
down_revision: str | None = "5e0c1d2a7b93"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organisation_domains",
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("domain", sa.Text(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["identity.organisations.id"],
            name=op.f("fk_organisation_domains_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_domains")),
        sa.UniqueConstraint(
            "organisation_id", "domain", name=op.f("uq_organisation_domains_organisation_id_domain")
        ),
        schema="identity",
    )
    op.create_index(
        "uq_organisation_domains_verified_domain",
        "organisation_domains",
        ["domain"],
        unique=True,
        schema="identity",
        postgresql_where=sa.text("verified_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_organisation_domains_verified_domain",
        table_name="organisation_domains",
        schema="identity",
        postgresql_where=sa.text("verified_at IS NOT NULL"),
    )
    op.drop_table("organisation_domains", schema="identity")
