"""Routes of document intelligence: the classifier of an organisation
(``/orgs/{orgId}/classifier``), a document's insights, feedback and similar documents.

Document routes find the organisation from the document: a document the caller may not
read (or outside its organisations) is a 404, as in content."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from hub.kernel.openapi import problems
from hub.kernel.security import Principal
from hub.kernel.tenancy import permission
from hub.kernel.web import BEARER_OR_KEY, Limit, to_schema
from hub.workflow.intelligence.permissions import CLASSIFIER_MANAGE, CLASSIFIER_READ
from hub.workflow.intelligence.schemas import (
    AutoApplicationOut,
    AutoApplyIn,
    ClassifierOut,
    FeedbackIn,
    FeedbackOut,
    FoundOut,
    InsightsOut,
    SimilarItemOut,
    SimilarOut,
    SuggestionOut,
)
from hub.workflow.intelligence.services.autoapply import AutoApply
from hub.workflow.intelligence.services.classifier import ClassifierService
from hub.workflow.intelligence.services.insights import InsightService, Verdict
from hub.workflow.intelligence.services.similar import SimilarService


def _classifier(row: Any) -> ClassifierOut:
    return msgspec.convert(
        {
            "organisationId": row.organisation_id,
            "state": row.state,
            "progress": round(row.progress, 4),
            "stage": row.stage,
            "requestedAt": row.requested_at,
            "trainedAt": row.trained_at,
            "modelVersion": row.model_version,
            "documentsUsed": row.documents_used,
            "documentsSkipped": row.documents_skipped,
            "metrics": row.metrics,
            "error": row.error,
            "autoApply": getattr(row, "auto_apply", False),
            "autoApplyThreshold": getattr(row, "auto_apply_threshold", None),
        },
        ClassifierOut,
        from_attributes=True,
    )


class ClassifierController(Controller):
    path = "/orgs/{org_id:uuid}/classifier"
    tags = ["Workflow: intelligence"]
    security = BEARER_OR_KEY

    @get(
        operation_id="getClassifier",
        summary="The organisation's classifier: state, progress, documents used and left "
        "out (with reasons), held-out metrics and model version",
        guards=[permission(CLASSIFIER_READ)],
    )
    async def get_classifier(
        self, org_id: FromPath[uuid.UUID], classifier: NamedDependency[ClassifierService]
    ) -> ClassifierOut:
        return _classifier(await classifier.status(org_id))

    @post(
        "/train",
        operation_id="trainClassifier",
        summary="Queue a training of the organisation's classifier (a background job)",
        description="202 with the state (`queued`); follow it with GET. 409 while a "
        "training is queued or running.",
        status_code=202,
        guards=[permission(CLASSIFIER_MANAGE)],
        opt=problems(409),
    )
    async def train_classifier(
        self, org_id: FromPath[uuid.UUID], classifier: NamedDependency[ClassifierService]
    ) -> ClassifierOut:
        return _classifier(await classifier.request(org_id))

    @put(
        "/auto-apply",
        operation_id="setClassifierAutoApply",
        summary="Opt in or out of applying confident tag suggestions automatically",
        description="`threshold` 0.5..1: when a document's text is extracted, the suggested "
        "tags at or above it are applied as the actor type `ai` (audited) and can be undone.",
        guards=[permission(CLASSIFIER_MANAGE)],
    )
    async def set_auto_apply(
        self,
        org_id: FromPath[uuid.UUID],
        data: JSONBody[AutoApplyIn],
        auto_apply: NamedDependency[AutoApply],
        classifier: NamedDependency[ClassifierService],
    ) -> ClassifierOut:
        await auto_apply.configure(org_id, enabled=data.enabled, threshold=data.threshold)
        return _classifier(await classifier.status(org_id))


def _application(row: Any) -> AutoApplicationOut:
    return to_schema(row, AutoApplicationOut)


class InsightsController(Controller):
    path = "/documents/{document_id:uuid}"
    tags = ["Workflow: intelligence"]
    security = BEARER_OR_KEY

    @get(
        "/insights",
        operation_id="getDocumentInsights",
        summary="Suggested tags and type (only the organisation's own, with confidence "
        "and evidence), keywords, summary, language, dates and amounts",
        opt=problems(403, 404),
    )
    async def get_insights(
        self,
        document_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        insights: NamedDependency[InsightService],
    ) -> InsightsOut:
        found = await insights.insights(principal, document_id)
        return InsightsOut(
            document_id=found.document_id,
            model_version=found.model_version,
            suggestions=[msgspec.convert(s, SuggestionOut) for s in found.suggestions],
            keywords=found.keywords,
            summary=found.summary,
            language=found.language,
            dates=[msgspec.convert(f, FoundOut, from_attributes=True) for f in found.dates],
            amounts=[msgspec.convert(f, FoundOut, from_attributes=True) for f in found.amounts],
            text_available=found.text_available,
            notes=found.notes,
        )

    @post(
        "/insights/feedback",
        operation_id="sendInsightFeedback",
        summary="Accept or reject suggestions; the answers are labels for the next training",
        description="An accepted tag or type is also applied to the document when the "
        "caller may edit it; a rejected tag is removed. A label the organisation does not "
        "have is a 422 naming `items[i].label`.",
        status_code=200,
        opt=problems(403, 404, 422),
    )
    async def send_feedback(
        self,
        document_id: FromPath[uuid.UUID],
        data: JSONBody[FeedbackIn],
        principal: NamedDependency[Principal],
        insights: NamedDependency[InsightService],
    ) -> FeedbackOut:
        verdicts = [Verdict(v.kind, v.label, v.accepted) for v in data.items]
        return FeedbackOut(recorded=await insights.feedback(principal, document_id, verdicts))

    @get(
        "/similar",
        operation_id="getSimilarDocuments",
        summary="Documents like this one that the caller may read, with cosine scores",
        opt=problems(403, 404),
    )
    async def get_similar(
        self,
        document_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        similar: NamedDependency[SimilarService],
        limit: Limit = 10,
    ) -> SimilarOut:
        found = await similar.similar(principal, document_id, limit)
        return SimilarOut(
            items=[SimilarItemOut(id=i, score=s) for i, s in found.items],
            basis=found.basis,  # type: ignore[arg-type]
            model_version=found.model_version,
            reason=found.reason,
        )

    @get(
        "/insights/auto-applied",
        operation_id="listAutoApplied",
        summary="The tags and type the classifier applied to this document by itself",
        opt=problems(403, 404),
    )
    async def list_auto_applied(
        self,
        document_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        auto_apply: NamedDependency[AutoApply],
    ) -> list[AutoApplicationOut]:
        return [_application(r) for r in await auto_apply.applications(principal, document_id)]

    @post(
        "/insights/auto-applied/{application_id:uuid}/undo",
        operation_id="undoAutoApplied",
        summary="Take back a tag or type the classifier applied (not applied again here)",
        status_code=200,
        opt=problems(403, 404),
    )
    async def undo_auto_applied(
        self,
        document_id: FromPath[uuid.UUID],
        application_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        auto_apply: NamedDependency[AutoApply],
    ) -> AutoApplicationOut:
        return _application(await auto_apply.undo(principal, document_id, application_id))
