"""Alembic environment of the identity context (version table: identity.alembic_version)."""

from hub.identity.models import Base
from hub.kernel.migrations import run_env

run_env("identity", Base.metadata)
