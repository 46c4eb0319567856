"""Wires the workflow context into the composition root (routes, tables, permissions)."""

from __future__ import annotations

from hub.kernel.contexts import ContextModule
from hub.workflow.models import Base


def build() -> ContextModule:
    return ContextModule(
        name="workflow",
        metadata=Base.metadata,
        depends_on=("content", "identity"),
    )
