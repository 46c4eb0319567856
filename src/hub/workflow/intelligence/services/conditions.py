"""What the workflow engine may ask of the classifier, for a trigger or a guard such as
"when the classifier says `invoice` with confidence ≥ 0.8": the current model's
confidence for one label of the organisation's taxonomy on one document.

No permission check: the engine acts for the organisation, not for a person (its own
rules decide who sees what happens next)."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

from hub.content.api import ContentApi
from hub.kernel.deferred import deferred_module
from hub.workflow.intelligence.services.insights import InsightService
from hub.workflow.intelligence.services.models import ModelCache

if TYPE_CHECKING:
    from hub.workflow.intelligence.domain import model as ml
else:
    ml = deferred_module("hub.workflow.intelligence.domain.model")


class ClassifierSays:
    def __init__(self, content: ContentApi, cache: ModelCache, insights: InsightService) -> None:
        self.content = content
        self.cache = cache
        self.insights = insights

    async def confidence(self, document_id: uuid.UUID, kind: str, name: str) -> float | None:
        """The confidence (0..1) that the document has the tag or type named ``name``
        (case-insensitive; a type may be named by its id); 0.0 when the model knows the
        label but gives it less than 0.2; None when there is no model, no text, no such
        document or the label is not in the organisation's taxonomy."""
        doc = await self.content.document(document_id)
        if doc is None or doc.trashed_at is not None:
            return None
        taxonomy = await self.content.taxonomy(doc.organisation_id)
        items = taxonomy.tags if kind == "tag" else taxonomy.document_types
        wanted = name.casefold()
        if not any(t.name.casefold() == wanted or str(t.id) == name for t in items):
            return None
        current = await self.cache.current(doc.organisation_id)
        text = await self.content.text_of(document_id)
        if current is None or not text:
            return None
        raw = await asyncio.to_thread(ml.suggest, current[1], text)
        for s in await self.insights.within_taxonomy(doc, raw):
            if s["kind"] == kind and (s["name"].casefold() == wanted or str(s["id"]) == name):
                return float(s["confidence"])
        return 0.0

    async def confidences(self, document_id: uuid.UUID) -> dict[str, float]:
        """Every label the current model suggests for the document (within the
        organisation's taxonomy), by name casefolded and, for types, by id (a select
        field's option as ``key=option``); the highest when a tag and a type share a name.
        Empty without a model, text or document."""
        doc = await self.content.document(document_id)
        if doc is None or doc.trashed_at is not None:
            return {}
        current = await self.cache.current(doc.organisation_id)
        text = await self.content.text_of(document_id)
        if current is None or not text:
            return {}
        raw = await asyncio.to_thread(ml.suggest, current[1], text)
        out: dict[str, float] = {}
        for s in await self.insights.within_taxonomy(doc, raw):
            confidence = float(s["confidence"])
            if s["kind"] == "customField":  # a select field's option: "key=option"
                keys: tuple[str, ...] = (f"{s['field']}={s['name']}".casefold(),)
            else:
                keys = (str(s["name"]).casefold(), str(s["id"]))
            for key in keys:
                out[key] = max(out.get(key, 0.0), confidence)
        return out
