"""Alembic environment of the workflow context (version table: workflow.alembic_version)."""

from hub.kernel.migrations import run_env
from hub.workflow.models import Base

run_env("workflow", Base.metadata)
