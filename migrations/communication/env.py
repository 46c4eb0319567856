"""Alembic environment of the communication context (version table in its schema)."""

from hub.communication.models import Base
from hub.kernel.migrations import run_env

run_env("communication", Base.metadata)
