"""Alembic environment of the content context (version table: content.alembic_version)."""

from hub.content.models import Base
from hub.kernel.migrations import run_env

run_env("content", Base.metadata)
