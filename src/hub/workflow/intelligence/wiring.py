"""What the workflow context registers for document intelligence: its services, routes,
jobs and permissions (``hub.workflow.bootstrap`` adds them to its ContextModule)."""

from __future__ import annotations

from typing import Any

from hub.content.api import ContentApi
from hub.kernel.runtime import ContextRuntime
from hub.workflow.intelligence.controllers import ClassifierController, InsightsController
from hub.workflow.intelligence.permissions import PERMISSIONS
from hub.workflow.intelligence.services.classifier import ClassifierService
from hub.workflow.intelligence.services.insights import InsightService
from hub.workflow.intelligence.services.models import ModelCache
from hub.workflow.intelligence.services.similar import SimilarService
from hub.workflow.intelligence.tasks import train_classifier

ROUTE_HANDLERS = [ClassifierController, InsightsController]
JOBS = [train_classifier]
PERIODIC: list[Any] = []


def services(rt: ContextRuntime, content_api: ContentApi) -> dict[str, Any]:
    cache = ModelCache(rt.store)
    return {
        "classifier": ClassifierService(rt.store, content_api, rt.clock, rt.queue_job, cache),
        "insights": InsightService(rt.store, content_api, rt.tenancy, rt.clock, cache),
        "similar": SimilarService(rt.store, content_api, rt.tenancy, cache),
    }


__all__ = ["JOBS", "PERIODIC", "PERMISSIONS", "ROUTE_HANDLERS", "services"]
