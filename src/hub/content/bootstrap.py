"""Wires the content context into the composition root (routes, tables, permissions)."""

from __future__ import annotations

from hub.content.domain.settings import ContentSettings
from hub.content.models import Base
from hub.kernel.contexts import ContextModule


def build() -> ContextModule:
    return ContextModule(
        name="content",
        metadata=Base.metadata,
        depends_on=("identity",),
        settings=ContentSettings,
    )
