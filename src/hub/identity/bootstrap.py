"""Wires the identity context into the composition root (routes, tables, permissions)."""

from __future__ import annotations

from hub.identity.models import Base
from hub.kernel.contexts import ContextModule


def build() -> ContextModule:
    return ContextModule(
        name="identity",
        metadata=Base.metadata,
        depends_on=(),
    )
