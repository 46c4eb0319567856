"""Wires the communication context into the composition root (routes, tables, permissions)."""

from __future__ import annotations

from hub.communication.models import Base
from hub.kernel.contexts import ContextModule


def build() -> ContextModule:
    return ContextModule(
        name="communication",
        metadata=Base.metadata,
        depends_on=("identity",),
    )
