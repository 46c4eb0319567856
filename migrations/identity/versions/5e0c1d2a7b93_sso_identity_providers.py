"""identity: single sign-on (OpenID Connect providers, linked identities, SSO policies)

Revision ID: 5e0c1d2a7b93
Revises: 0a7c5e3d9b21
Create Date: 2026-11-30 12:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5e0c1d2a7b93"
down_revision: str | None = "0a7c5e3d9b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _now() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "identity_providers",
        sa.Column("organisation_id", sa.UUID(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("client_id_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("client_secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("endpoints", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "email_domains", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("default_role_id", sa.UUID(), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        _now(),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["default_role_id"],
            ["identity.roles.id"],
            name=op.f("fk_identity_providers_default_role_id_roles"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["identity.organisations.id"],
            name=op.f("fk_identity_providers_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_providers")),
        schema="identity",
    )
    op.create_index(
        "ix_identity_providers_organisation_id",
        "identity_providers",
        ["organisation_id"],
        unique=False,
        schema="identity",
    )
    op.create_table(
        "sso_identities",
        sa.Column("provider_id", sa.UUID(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        _now(),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["identity.identity_providers.id"],
            name=op.f("fk_sso_identities_provider_id_identity_providers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity.users.id"],
            name=op.f("fk_sso_identities_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_identities")),
        sa.UniqueConstraint(
            "provider_id", "subject", name=op.f("uq_sso_identities_provider_id_subject")
        ),
        schema="identity",
    )
    op.create_index(
        "ix_sso_identities_user_id", "sso_identities", ["user_id"], unique=False, schema="identity"
    )
    op.create_table(
        "sso_policies",
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("required", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["identity.organisations.id"],
            name=op.f("fk_sso_policies_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_sso_policies")),
        schema="identity",
    )


def downgrade() -> None:
    op.drop_table("sso_policies", schema="identity")
    op.drop_index("ix_sso_identities_user_id", table_name="sso_identities", schema="identity")
    op.drop_table("sso_identities", schema="identity")
    op.drop_index(
        "ix_identity_providers_organisation_id", table_name="identity_providers", schema="identity"
    )
    op.drop_table("identity_providers", schema="identity")
