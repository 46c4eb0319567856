"""Alembic environment of the example context (version table example.alembic_version)."""

from tests.kit_example.models import Base

from hub.kernel.migrations import run_env

run_env("example", Base.metadata)
