"""Auto-apply: per organisation opt-in with a confidence threshold. When a document's text
is extracted, the tags the classifier suggests at or above the threshold (and the
document lacks), and the most confident document type at or above it when the document
has no type yet (a person's choice is never overridden), are applied through ContentApi
as the actor type ``ai`` — so the audit trail records them as the AI's — and each is
recorded with the model version and the confidence (``label``: the tag's name, the
type's id). A person may undo one: the tag is removed, the type unset (if it is still
the one applied); an undone label is never applied to that document again."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

from uuid_utils.compat import uuid7

from hub.content.api import ContentApi
from hub.kernel.acting import acting_scope
from hub.kernel.clock import Clock
from hub.kernel.deferred import deferred_module
from hub.kernel.errors import Forbidden, NotFound
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.kernel.tenancy import Tenancy
from hub.workflow.intelligence import repositories as repo
from hub.workflow.intelligence.services.insights import InsightService, readable_document
from hub.workflow.intelligence.services.models import ModelCache

if TYPE_CHECKING:
    from hub.workflow.intelligence.domain import model as ml
else:
    ml = deferred_module("hub.workflow.intelligence.domain.model")


class AutoApply:
    def __init__(
        self,
        store: Store,
        content: ContentApi,
        tenancy: Tenancy,
        clock: Clock,
        cache: ModelCache,
        insights: InsightService,
    ) -> None:
        self.store = store
        self.content = content
        self.tenancy = tenancy
        self.clock = clock
        self.cache = cache
        self.insights = insights

    async def configure(
        self, organisation_id: uuid.UUID, *, enabled: bool, threshold: float
    ) -> None:
        async with self.store.uow() as uow:
            await repo.save_state(
                uow.session, organisation_id, auto_apply=enabled, auto_apply_threshold=threshold
            )
            await uow.commit()

    async def apply(self, document_id: uuid.UUID) -> list[str]:
        """Apply the confident tags to a document (idempotent: an applied tag is skipped);
        the names applied."""
        doc = await self.content.document(document_id)
        if doc is None or doc.trashed_at is not None:
            return []
        state = await repo.state(self.store, doc.organisation_id)
        if state is None or not state.auto_apply or state.auto_apply_threshold is None:
            return []
        current = await self.cache.current(doc.organisation_id)
        text = await self.content.text_of(document_id)
        if current is None or not text:
            return []
        version, model = current
        raw = await asyncio.to_thread(ml.suggest, model, text)
        suggested = await self.insights.within_taxonomy(doc, raw)
        undone = {
            r.label.casefold()
            for r in await repo.applications_of(self.store, document_id)
            if r.undone_at is not None
        }
        chosen = [
            s
            for s in suggested
            if s["kind"] == "tag"
            and not s["applied"]
            and s["confidence"] >= state.auto_apply_threshold
            and s["name"].casefold() not in undone
        ]
        types = [
            s
            for s in suggested
            if s["kind"] == "documentType"
            and s["confidence"] >= state.auto_apply_threshold
            and str(s["id"]).casefold() not in undone
        ]
        typed = max(types, key=lambda s: s["confidence"]) if types else None
        if doc.document_type_id is not None:
            typed = None
        if not chosen and typed is None:
            return []
        names = [s["name"] for s in chosen]
        with acting_scope(organisation_id=doc.organisation_id, actor_type="ai"):
            await self.content.set_metadata(
                document_id,
                actor="ai",
                tags=[*doc.tags, *names] if names else None,
                document_type_id=typed["id"] if typed is not None else None,
            )
        now = self.clock()
        records = [("tag", s["name"], s["confidence"]) for s in chosen]
        if typed is not None:
            records.append(("documentType", str(typed["id"]), typed["confidence"]))
        async with self.store.uow() as uow:
            await repo.add_applications(
                uow.session,
                [
                    {
                        "id": uuid7(),
                        "document_id": document_id,
                        "organisation_id": doc.organisation_id,
                        "kind": kind,
                        "label": label,
                        "confidence": confidence,
                        "model_version": version,
                        "applied_at": now,
                    }
                    for kind, label, confidence in records
                ],
            )
            await uow.commit()
        return [label for _, label, _ in records]

    async def applications(self, principal: Principal, document_id: uuid.UUID) -> list[Any]:
        await readable_document(self.content, self.tenancy, principal, document_id)
        return await repo.applications_of(self.store, document_id)

    async def undo(
        self, principal: Principal, document_id: uuid.UUID, application_id: uuid.UUID
    ) -> Any:
        doc = await readable_document(self.content, self.tenancy, principal, document_id)
        row = await repo.application(self.store, application_id)
        if row is None or row.document_id != document_id:
            raise NotFound("No such automatic change on this document.")
        if not await self.content.may_edit(principal.user_id, document_id):
            raise Forbidden(
                "You may not change this document's metadata.", code="permission_denied"
            )
        if row.undone_at is None:
            if row.kind == "documentType":
                if str(doc.document_type_id) == row.label:
                    await self.content.set_metadata(
                        document_id,
                        actor="user",
                        actor_id=principal.user_id,
                        clear_document_type=True,
                    )
            else:
                remaining = [t for t in doc.tags if t.casefold() != row.label.casefold()]
                if len(remaining) != len(doc.tags):
                    await self.content.set_metadata(
                        document_id, actor="user", actor_id=principal.user_id, tags=remaining
                    )
            async with self.store.uow() as uow:
                await repo.mark_undone(uow.session, application_id, principal.user_id, self.clock())
                await uow.commit()
        return await repo.application(self.store, application_id)
