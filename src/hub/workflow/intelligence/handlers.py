"""Content's events intelligence follows: who last set a document's labels (a person, or
a workflow or AI through ContentApi), when a person changed labels (for the hourly
retraining), and new text (the document's vector under the current model, so similar
documents include it before the next training)."""

from __future__ import annotations

from hub.content.api import ContentApi, DocumentUpdated, TextExtracted
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.workflow.intelligence import repositories as repo
from hub.workflow.intelligence.services.autoapply import AutoApply
from hub.workflow.intelligence.services.models import ModelCache
from hub.workflow.intelligence.services.similar import refresh_vector
from hub.workflow.intelligence.services.vector_index import VectorIndex

LABEL_FIELDS = frozenset({"tags", "documentTypeId"})
#: ``via`` values that mean a person set the labels.
PERSON = frozenset({"user", "insights_feedback"})


async def on_document_updated(
    event: DocumentUpdated, uow: UnitOfWork, *, intelligence_clock: Clock
) -> None:
    if event.organisation_id is None or not LABEL_FIELDS & set(event.changed):
        return
    if event.linked_from is not None:
        return
    now = intelligence_clock()
    if event.via in PERSON:
        await repo.labels_confirmed(uow.session, [event.document_id])
        await repo.save_state(uow.session, event.organisation_id, labels_changed_at=now)
    else:
        await repo.labels_set_by(
            uow.session, event.document_id, event.organisation_id, event.via, now
        )


async def on_text_extracted(
    event: TextExtracted,
    uow: UnitOfWork,
    *,
    content_api: ContentApi,
    intelligence_models: ModelCache,
    intelligence_vectors: VectorIndex,
    auto_apply: AutoApply,
) -> None:
    if event.status == "ready":
        await refresh_vector(
            uow.session, content_api, intelligence_models, intelligence_vectors, event.document_id
        )
        await auto_apply.apply(event.document_id)
