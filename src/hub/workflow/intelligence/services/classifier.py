"""Training the organisation's classifier: requested over HTTP (a job is queued with the
state change), run by the job off the event loop (a worker thread), with progress written
as it goes, the held-out measurement, the new model version and every document's vector."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import structlog

from hub.content.api import ContentApi
from hub.kernel.clock import Clock
from hub.kernel.deferred import deferred_module
from hub.kernel.errors import Conflict
from hub.kernel.store import Store
from hub.workflow.intelligence import repositories as repo
from hub.workflow.intelligence.domain.selection import Answer, select
from hub.workflow.intelligence.services.models import ModelCache
from hub.workflow.intelligence.services.vector_index import VectorIndex

if TYPE_CHECKING:
    from hub.workflow.intelligence.domain import model as ml
    from hub.workflow.intelligence.domain import storage
else:
    ml = deferred_module("hub.workflow.intelligence.domain.model")
    storage = deferred_module("hub.workflow.intelligence.domain.storage")

log = structlog.get_logger("hub.workflow.intelligence")

TRAIN_JOB = "workflow.train_classifier"
QueueJob = Callable[..., uuid.UUID]
_VECTOR_BATCH = 1000


class ClassifierService:
    def __init__(
        self,
        store: Store,
        content: ContentApi,
        clock: Clock,
        queue_job: QueueJob,
        cache: ModelCache,
        index: VectorIndex,
    ) -> None:
        self.store = store
        self.content = content
        self.clock = clock
        self.queue_job = queue_job
        self.cache = cache
        self.index = index

    async def status(self, organisation_id: uuid.UUID) -> Any:
        row = await repo.state(self.store, organisation_id)
        if row is not None:
            return row
        return _Untrained(organisation_id)

    async def request(self, organisation_id: uuid.UUID) -> Any:
        """Queue a training; one at a time per organisation (409 while one runs)."""
        async with self.store.uow() as uow:
            current = await repo.lock_state(uow.session, organisation_id)
            if current in ("queued", "training"):
                raise Conflict(
                    "A training of this organisation's classifier is already queued or running.",
                    code="training_in_progress",
                )
            await repo.save_state(
                uow.session,
                organisation_id,
                state="queued",
                progress=0.0,
                stage="queued",
                requested_at=self.clock(),
                error=None,
            )
            self.queue_job(uow, TRAIN_JOB, str(organisation_id))
            queued = await repo.state_in(uow.session, organisation_id)
            await uow.commit()
        return queued

    async def retrain_changed(self) -> list[uuid.UUID]:
        """Queue a training for each organisation whose labels a person changed since its
        last training was requested (the hourly job); one already running is left alone."""
        queued: list[uuid.UUID] = []
        for organisation_id in await repo.changed_since_request(self.store):
            try:
                await self.request(organisation_id)
            except Conflict:
                continue
            queued.append(organisation_id)
        return queued

    async def _progress(self, organisation_id: uuid.UUID, share: float, stage: str) -> None:
        async with self.store.uow() as uow:
            await repo.save_state(
                uow.session, organisation_id, state="training", progress=share, stage=stage
            )
            await uow.commit()

    async def run(self, organisation_id: uuid.UUID) -> None:
        """The job's work. Idempotent: a redelivery trains again and stores a new version."""
        await self._progress(organisation_id, 0.0, "reading documents")
        documents = await self.content.corpus(organisation_id)
        answers = [
            Answer(r.document_id, r.kind, r.label, r.accepted)
            for r in await repo.feedback_of(self.store, organisation_id)
        ]
        machine = await repo.machine_labelled(self.store, organisation_id)
        chosen = select(documents, answers, machine)
        loop = asyncio.get_running_loop()

        def progress(share: float, stage: str) -> None:  # called from the training thread
            future = asyncio.run_coroutine_threadsafe(
                self._progress(organisation_id, 0.05 + 0.8 * share, stage), loop
            )
            future.result(timeout=30)

        try:
            model, measured = await asyncio.to_thread(
                ml.train, chosen.examples, progress, unlabelled=chosen.unlabelled
            )
        except ml.NotEnoughLabels as exc:
            async with self.store.uow() as uow:
                await repo.save_state(
                    uow.session,
                    organisation_id,
                    state="failed",
                    progress=1.0,
                    stage="not enough labels",
                    error=str(exc),
                    documents_used=len(chosen.examples),
                    documents_skipped=chosen.report(),
                )
                await uow.commit()
            return
        await self._progress(organisation_id, 0.87, "storing the model")
        computed = model.pop(ml.VECTORS, None)
        data = await asyncio.to_thread(storage.dump, model)
        taxonomy = await self.content.taxonomy(organisation_id)
        type_names = {str(t.id): t.name for t in taxonomy.document_types}
        previous = await repo.current_version(self.store, organisation_id)
        version = (await repo.latest_version(self.store, organisation_id) or 0) + 1
        ids = chosen.ids + chosen.unlabelled_ids
        texts = [e.text for e in chosen.examples] + chosen.unlabelled
        # The new version is built beside the one in use (whose model and vectors every
        # request keeps reading) and switched to once complete.
        async with self.store.uow() as uow:
            await repo.add_model(uow.session, organisation_id, version, self.clock(), data)
            await uow.commit()
        await self._progress(organisation_id, 0.9, "computing document vectors")
        for start in range(0, len(ids), _VECTOR_BATCH):
            end = start + _VECTOR_BATCH
            part = (
                computed[start:end]
                if computed is not None
                else await asyncio.to_thread(ml.vectors, model, texts[start:end])
            )
            if part is None:
                break
            await self._put(organisation_id, version, ids[start:end], part)
        if previous is not None and computed is not None:
            await self._catch_up(organisation_id, model, version, previous)
        pgvector = await self.index.pgvector()
        async with self.store.uow() as uow:
            await repo.save_state(
                uow.session,
                organisation_id,
                state="ready",
                progress=1.0,
                stage="done",
                trained_at=self.clock(),
                model_version=version,
                documents_used=len(chosen.examples),
                documents_skipped=chosen.report(),
                metrics=_metrics(measured, type_names),
                error=None,
            )
            await repo.switch_version(uow.session, organisation_id, version, previous)
            await uow.commit()
        # After the switch: the previous version's vectors (and any a failed training
        # left) are no longer read.
        async with self.store.uow() as uow:
            await repo.drop_vectors_except(
                uow.session, organisation_id, version, embeddings=pgvector
            )
            await uow.commit()
        self.cache.keep(organisation_id, version, model)
        log.info(
            "classifier_trained",
            organisation_id=str(organisation_id),
            version=version,
            documents=len(chosen.examples),
            tag_macro_f1=measured.tag_macro_f1,
        )

    async def _put(
        self,
        organisation_id: uuid.UUID,
        version: int,
        ids: list[uuid.UUID],
        part: Any,
    ) -> None:
        async with self.store.uow() as uow:
            await self.index.put_many(
                uow.session, organisation_id, version, ids, np.asarray(part, dtype=np.float32)
            )
            await uow.commit()

    async def _catch_up(
        self, organisation_id: uuid.UUID, model: dict[str, Any], version: int, previous: int
    ) -> None:
        """Vectors of the new version for documents whose text was extracted while it was
        being built (they got one of the previous version only)."""
        missing = await repo.missing_in(self.store, organisation_id, version, previous)
        for start in range(0, len(missing), _VECTOR_BATCH):
            ids: list[uuid.UUID] = []
            texts: list[str] = []
            for document_id in missing[start : start + _VECTOR_BATCH]:
                text = await self.content.text_of(document_id)
                if text:
                    ids.append(document_id)
                    texts.append(text)
            part = await asyncio.to_thread(ml.vectors, model, texts) if texts else None
            if part is not None:
                await self._put(organisation_id, version, ids, part)


def _metrics(measured: ml.Measurement, type_names: dict[str, str]) -> dict[str, Any]:
    return {
        "heldOut": measured.held_out,
        "tagMacroF1": measured.tag_macro_f1,
        "typeMacroF1": measured.type_macro_f1,
        "labels": [
            {
                "kind": s.kind,
                "label": type_names.get(s.label, s.label) if s.kind == "documentType" else s.label,
                **({"documentTypeId": s.label} if s.kind == "documentType" else {}),
                **({"field": s.field} if s.kind == "customField" else {}),
                "precision": round(s.precision, 4),
                "recall": round(s.recall, 4),
                "f1": round(s.f1, 4),
                "support": s.support,
            }
            for s in measured.scores
        ],
        "skippedLabels": measured.skipped_labels,
    }


class _Untrained:
    """The state of an organisation that never asked for a training."""

    def __init__(self, organisation_id: uuid.UUID) -> None:
        self.organisation_id = organisation_id
        self.state = "untrained"
        self.progress = 0.0
        self.stage = None
        self.requested_at = None
        self.trained_at = None
        self.model_version = None
        self.documents_used = 0
        self.documents_skipped: dict[str, Any] = {}
        self.metrics = None
        self.error = None


async def mark_failed(store: Store, organisation_id: uuid.UUID, error: str) -> None:
    """A training that raised: visible as ``failed`` (a new request may be made)."""
    async with store.uow() as uow:
        await repo.save_state(
            uow.session, organisation_id, state="failed", stage="error", error=error[:500]
        )
        await uow.commit()
