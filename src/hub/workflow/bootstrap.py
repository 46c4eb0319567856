"""Wires the workflow context into the composition root (routes, tables, permissions)."""

from __future__ import annotations

from typing import Any

from hub.content.api import ContentApi
from hub.kernel.contexts import ContextModule
from hub.kernel.runtime import ContextRuntime
from hub.workflow.intelligence import wiring as intelligence
from hub.workflow.intelligence.models import ClassifierState  # noqa: F401  (tables)
from hub.workflow.models import Base


def services(rt: ContextRuntime, *, content_api: ContentApi) -> dict[str, Any]:
    return {**intelligence.services(rt, content_api)}


def build() -> ContextModule:
    return ContextModule(
        name="workflow",
        metadata=Base.metadata,
        depends_on=("content", "identity"),
        services=services,
        route_handlers=[*intelligence.ROUTE_HANDLERS],
        permissions=[*intelligence.PERMISSIONS],
        jobs=[*intelligence.JOBS],
        periodic=[*intelligence.PERIODIC],
        subscriptions=[*intelligence.SUBSCRIPTIONS],
    )
