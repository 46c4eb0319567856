"""What the workflow context registers for document intelligence: its services, routes,
jobs and permissions (``hub.workflow.bootstrap`` adds them to its ContextModule)."""

from __future__ import annotations

from typing import Any, cast

from hub.content.api import ContentApi, DocumentUpdated, TextExtracted
from hub.kernel.runtime import ContextRuntime
from hub.kernel.subscribers import Handler, Subscription
from hub.workflow.intelligence.controllers import ClassifierController, InsightsController
from hub.workflow.intelligence.handlers import on_document_updated, on_text_extracted
from hub.workflow.intelligence.permissions import PERMISSIONS
from hub.workflow.intelligence.services.autoapply import AutoApply
from hub.workflow.intelligence.services.classifier import ClassifierService
from hub.workflow.intelligence.services.conditions import ClassifierSays
from hub.workflow.intelligence.services.insights import InsightService
from hub.workflow.intelligence.services.models import ModelCache
from hub.workflow.intelligence.services.semantic import QueryRanker
from hub.workflow.intelligence.services.similar import SimilarService
from hub.workflow.intelligence.services.vector_index import VectorIndex
from hub.workflow.intelligence.tasks import RETRAIN_HOURLY, retrain_changed, train_classifier

ROUTE_HANDLERS = [ClassifierController, InsightsController]
JOBS = [train_classifier, retrain_changed]
PERIODIC = [RETRAIN_HOURLY]
SUBSCRIPTIONS = [
    Subscription(
        DocumentUpdated,
        cast(Handler, on_document_updated),  # its services are injected by name
        name="workflow.intelligence_labels",
    ),
    Subscription(
        TextExtracted,
        cast(Handler, on_text_extracted),
        name="workflow.intelligence_vectors",
    ),
]


def services(rt: ContextRuntime, content_api: ContentApi) -> dict[str, Any]:
    cache = ModelCache(rt.store)
    index = VectorIndex(rt.store)
    insights = InsightService(rt.store, content_api, rt.tenancy, rt.clock, cache)
    # Content's search fuses this in for ``mode=hybrid`` (content does not import workflow).
    rt.semantic.provide(QueryRanker(cache, index))
    return {
        "classifier": ClassifierService(
            rt.store, content_api, rt.clock, rt.queue_job, cache, index
        ),
        "insights": insights,
        "auto_apply": AutoApply(rt.store, content_api, rt.tenancy, rt.clock, cache, insights),
        "similar": SimilarService(rt.store, content_api, rt.tenancy, cache, index),
        #: For the workflow engine's triggers and guards (``ClassifierSays.confidence``).
        "classifier_says": ClassifierSays(content_api, cache, insights),
        "intelligence_clock": rt.clock,
        "intelligence_models": cache,
        "intelligence_vectors": index,
    }


__all__ = ["JOBS", "PERIODIC", "PERMISSIONS", "ROUTE_HANDLERS", "SUBSCRIPTIONS", "services"]
