"""Insights on one document for a person who may read it: suggestions limited to the
organisation's taxonomy as it is now, keywords, summary, language, dates and amounts;
and the feedback that turns suggestions into labels."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hub.content.api import ContentApi, DocumentSummary, Taxonomy
from hub.kernel.clock import Clock
from hub.kernel.deferred import deferred_module
from hub.kernel.errors import FieldError, Invalid, NotFound
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.kernel.tenancy import Tenancy, permission_denied
from hub.workflow.intelligence import repositories as repo
from hub.workflow.intelligence.domain import text as tx
from hub.workflow.intelligence.permissions import INSIGHTS_READ
from hub.workflow.intelligence.services.models import ModelCache

if TYPE_CHECKING:
    from hub.workflow.intelligence.domain import model as ml
else:
    ml = deferred_module("hub.workflow.intelligence.domain.model")


def document_not_found() -> NotFound:
    return NotFound("No such document.")


async def readable_document(
    content: ContentApi,
    tenancy: Tenancy,
    principal: Principal,
    document_id: uuid.UUID,
    *,
    reading: str | None = None,
) -> DocumentSummary:
    """The document if the caller may read it (the tenancy rule with
    ``workflow.insights.read`` for its organisation, then content's document rule); a
    document outside the caller's reach is a 404 (whether it exists is not told)."""
    doc = await content.readable_document(principal.user_id, document_id)
    if doc is None:
        raise document_not_found()
    member = await tenancy.membership(principal, doc.organisation_id)
    if member is None:
        raise document_not_found()
    if not member.allows(INSIGHTS_READ):
        raise permission_denied(INSIGHTS_READ)
    if reading is not None and doc.audit_reads:  # audited by content when its type says so
        await content.record_read(document_id, reading)
    return doc


@dataclass
class Insights:
    document_id: uuid.UUID
    model_version: int | None
    suggestions: list[dict[str, Any]]
    keywords: list[str]
    summary: str
    language: str
    dates: list[tx.Found]
    amounts: list[tx.Found]
    text_available: bool
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Verdict:
    kind: str
    #: A tag name, or a document type id.
    label: str
    accepted: bool


class InsightService:
    def __init__(
        self, store: Store, content: ContentApi, tenancy: Tenancy, clock: Clock, cache: ModelCache
    ) -> None:
        self.store = store
        self.content = content
        self.tenancy = tenancy
        self.clock = clock
        self.cache = cache

    async def insights(self, principal: Principal, document_id: uuid.UUID) -> Insights:
        doc = await readable_document(
            self.content, self.tenancy, principal, document_id, reading="insights"
        )
        # Two independent reads (content's text, workflow's version in use) at once.
        found_text, current = await asyncio.gather(
            self.content.text_of(document_id), self.cache.current(doc.organisation_id)
        )
        text = found_text or ""
        notes: list[str] = []
        if not text:
            notes.append("the document has no extracted text yet")
        if current is None:
            notes.append("the organisation's classifier has not been trained yet")
        suggestions: list[dict[str, Any]] = []
        if text:
            # Every pass over the text (the model's, the summary's, dates, amounts,
            # language) in one worker thread; the taxonomy is read meanwhile.
            model = current[1] if current is not None else None
            if model is None:
                found = await asyncio.to_thread(_read, None, text)
            else:
                found, taxonomy = await asyncio.gather(
                    asyncio.to_thread(_read, model, text),
                    self.content.taxonomy(doc.organisation_id),
                )
                suggestions = _within(taxonomy, doc, found.suggestions)
        else:
            found = _read(None, text)
        return Insights(
            document_id=document_id,
            model_version=current[0] if current else None,
            suggestions=suggestions,
            keywords=found.keywords,
            summary=found.summary,
            language=found.language,
            dates=found.dates,
            amounts=found.amounts,
            text_available=bool(text),
            notes=notes,
        )

    async def within_taxonomy(
        self, doc: DocumentSummary, raw: list[ml.Suggestion]
    ) -> list[dict[str, Any]]:
        """Only tags, types and select-field options the organisation has now (a tag
        renamed or deleted, an option removed since training is never suggested); each says
        whether the document already has it."""
        return _within(await self.content.taxonomy(doc.organisation_id), doc, raw)

    async def feedback(
        self, principal: Principal, document_id: uuid.UUID, verdicts: list[Verdict]
    ) -> int:
        """Record each answer (the latest per label counts at the next training). An
        accepted suggestion is also applied to the document when the person may edit it."""
        doc = await readable_document(self.content, self.tenancy, principal, document_id)
        user_id = principal.user_id
        taxonomy = await self.content.taxonomy(doc.organisation_id)
        tags = {t.name.casefold(): t.name for t in taxonomy.tags}
        tags.update({str(t.id): t.name for t in taxonomy.tags})
        types = {str(t.id) for t in taxonomy.document_types}
        rows: list[dict[str, Any]] = []
        errors: list[FieldError] = []
        for i, v in enumerate(verdicts):
            if v.kind == "tag":
                name = tags.get(v.label.casefold())
                if name is None:
                    errors.append(FieldError(field=f"items[{i}].label", message="no such tag"))
                    continue
                label = name
            else:
                if v.label not in types:
                    errors.append(
                        FieldError(field=f"items[{i}].label", message="no such document type")
                    )
                    continue
                label = v.label
            rows.append(
                {
                    "document_id": document_id,
                    "kind": v.kind,
                    "label": label,
                    "organisation_id": doc.organisation_id,
                    "accepted": v.accepted,
                    "user_id": user_id,
                    "at": self.clock(),
                }
            )
        if errors:
            raise Invalid("Some answers name no label of the organisation.", errors=errors)
        if not rows:
            return 0
        async with self.store.uow() as uow:
            await repo.record_feedback(uow.session, rows)
            await repo.labels_confirmed(uow.session, [document_id])  # a person answered
            await repo.save_state(uow.session, doc.organisation_id, labels_changed_at=self.clock())
            await uow.commit()
        if await self.content.may_edit(user_id, document_id):
            await self._apply(doc, rows, user_id)
        return len(rows)

    async def _apply(
        self, doc: DocumentSummary, rows: list[dict[str, Any]], user_id: uuid.UUID
    ) -> None:
        tags = {t.casefold(): t for t in doc.tags}
        type_id: uuid.UUID | None = None
        for row in rows:
            if row["kind"] == "tag":
                if row["accepted"]:
                    tags[row["label"].casefold()] = row["label"]
                else:
                    tags.pop(row["label"].casefold(), None)
            elif row["accepted"]:
                type_id = uuid.UUID(row["label"])
        changed_tags = sorted(tags.values()) != sorted(doc.tags)
        if changed_tags or type_id is not None:
            await self.content.set_metadata(
                doc.id,
                actor="insights_feedback",
                actor_id=user_id,
                tags=sorted(tags.values()) if changed_tags else None,
                document_type_id=type_id,
            )


@dataclass(frozen=True)
class _Read:
    """What the passes over a document's text found."""

    suggestions: list[ml.Suggestion]
    keywords: list[str]
    summary: str
    language: str
    dates: list[tx.Found]
    amounts: list[tx.Found]


def _read(model: dict[str, Any] | None, text: str) -> _Read:
    """The model's suggestions and keywords (one transform of the text serves both;
    without a model, the most frequent terms) and the text's own passes."""
    if model is not None:
        suggestions, keywords = ml.analyse(model, text)
    else:
        suggestions, keywords = [], tx.frequent_terms(text)
    return _Read(
        suggestions=suggestions,
        keywords=keywords,
        summary=tx.summary(text) if text else "",
        language=tx.language(text),
        dates=tx.dates(text),
        amounts=tx.amounts(text),
    )


def _within(
    taxonomy: Taxonomy, doc: DocumentSummary, raw: list[ml.Suggestion]
) -> list[dict[str, Any]]:
    """:meth:`InsightService.within_taxonomy` with the taxonomy read."""
    tags = {t.name.casefold(): t for t in taxonomy.tags}
    types = {str(t.id): t for t in taxonomy.document_types}
    fields = {f.key: f for f in taxonomy.select_fields}
    present = {t.casefold() for t in doc.tags}
    out: list[dict[str, Any]] = []
    for s in raw:
        if s.kind == "tag" and (tag := tags.get(s.label.casefold())) is not None:
            out.append(
                {
                    "kind": "tag",
                    "id": tag.id,
                    "name": tag.name,
                    "confidence": round(s.confidence, 4),
                    "evidence": s.evidence,
                    "applied": tag.name.casefold() in present,
                }
            )
        elif s.kind == "documentType" and (kind := types.get(s.label)) is not None:
            out.append(
                {
                    "kind": "documentType",
                    "id": kind.id,
                    "name": kind.name,
                    "confidence": round(s.confidence, 4),
                    "evidence": s.evidence,
                    "applied": doc.document_type_id == kind.id,
                }
            )
        elif (
            s.kind == "customField"
            and (field := fields.get(s.field or "")) is not None
            and s.label in field.options
        ):
            out.append(
                {
                    "kind": "customField",
                    "id": field.id,
                    "name": s.label,
                    "field": field.key,
                    "fieldName": field.name,
                    "confidence": round(s.confidence, 4),
                    "evidence": s.evidence,
                    "applied": doc.custom_fields.get(field.key) == s.label,
                }
            )
    return out
