"""identity: organisations, memberships, roles, member roles, invitations, API keys

Revision ID: 2325200b5b07
Revises: b40a53b6b51d
Create Date: 2026-11-22 16:09:34.177240
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "2325200b5b07"
down_revision: str | None = "b40a53b6b51d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
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
            ["created_by"],
            ["identity.users.id"],
            name=op.f("fk_organisations_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        schema="identity",
    )
    op.create_table(
        "api_keys",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("organisation_id", sa.UUID(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("public_id", sa.Text(), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(), nullable=False),
        sa.Column("permissions", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["identity.organisations.id"],
            name=op.f("fk_api_keys_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity.users.id"],
            name=op.f("fk_api_keys_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("public_id", name=op.f("uq_api_keys_public_id")),
        schema="identity",
    )
    op.create_index(
        "ix_api_keys_organisation_id",
        "api_keys",
        ["organisation_id"],
        unique=False,
        schema="identity",
    )
    op.create_index("ix_api_keys_user_id", "api_keys", ["user_id"], unique=False, schema="identity")
    op.create_table(
        "invitations",
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("role_ids", postgresql.ARRAY(sa.UUID()), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("invited_by", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_by", sa.UUID(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["identity.organisations.id"],
            name=op.f("fk_invitations_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitations_token_hash")),
        schema="identity",
    )
    op.create_index(
        "ix_invitations_organisation_id_email",
        "invitations",
        ["organisation_id", "email"],
        unique=False,
        schema="identity",
    )
    op.create_table(
        "memberships",
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("invited_by", sa.UUID(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["identity.organisations.id"],
            name=op.f("fk_memberships_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity.users.id"],
            name=op.f("fk_memberships_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", "user_id", name=op.f("pk_memberships")),
        schema="identity",
    )
    op.create_index(
        "ix_memberships_user_id", "memberships", ["user_id"], unique=False, schema="identity"
    )
    op.create_table(
        "roles",
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_key", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("builtin", sa.Text(), nullable=True),
        sa.Column("permissions", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
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
            name=op.f("fk_roles_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roles")),
        sa.UniqueConstraint(
            "organisation_id", "builtin", name=op.f("uq_roles_organisation_id_builtin")
        ),
        sa.UniqueConstraint(
            "organisation_id", "name_key", name=op.f("uq_roles_organisation_id_name_key")
        ),
        schema="identity",
    )
    op.create_table(
        "member_roles",
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("role_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id", "user_id"],
            ["identity.memberships.organisation_id", "identity.memberships.user_id"],
            name=op.f("fk_member_roles_organisation_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["identity.roles.id"],
            name=op.f("fk_member_roles_role_id_roles"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "organisation_id", "user_id", "role_id", name=op.f("pk_member_roles")
        ),
        schema="identity",
    )
    op.create_index(
        "ix_member_roles_role_id", "member_roles", ["role_id"], unique=False, schema="identity"
    )


def downgrade() -> None:
    op.drop_index("ix_member_roles_role_id", table_name="member_roles", schema="identity")
    op.drop_table("member_roles", schema="identity")
    op.drop_table("roles", schema="identity")
    op.drop_index("ix_memberships_user_id", table_name="memberships", schema="identity")
    op.drop_table("memberships", schema="identity")
    op.drop_index(
        "ix_invitations_organisation_id_email", table_name="invitations", schema="identity"
    )
    op.drop_table("invitations", schema="identity")
    op.drop_index("ix_api_keys_user_id", table_name="api_keys", schema="identity")
    op.drop_index("ix_api_keys_organisation_id", table_name="api_keys", schema="identity")
    op.drop_table("api_keys", schema="identity")
    op.drop_table("organisations", schema="identity")
