"""Cron and date triggers on durable timers (``workflow.trigger_timers``).

Each timed trigger of a workflow's newest version keeps one pending row: the next cron
slot, or per document the moment "N days/hours before or after" its date field. The
timer loop fires due rows like SLA timers (one ``FOR UPDATE SKIP LOCKED`` transaction
each, so several workers fire a row once; a crash leaves it pending). Firing starts the
instance with ``trigger_key`` = the row's ``slot_key``, unique per workflow, so a slot or
a document's date starts one instance even if a row were planned twice.

Planning: publishing a version cancels the rows of older versions and plans its own (the
next slot after now; every document that already has the date field); a document event
(uploaded, updated, trashed, restored, purged) re-plans that document, so a changed
date moves its row and a trashed document loses it. A cron row fired late (no worker
ran) starts one instance for its slot and plans the next slot after now: missed slots
are not replayed one by one. A date already more than ``GRACE`` in the past when planned
is not started at all (importing old documents starts nothing).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import exists, func, select, update
from sqlalchemy.dialects.postgresql import insert

from hub.content.api import ContentApi, DocumentSummary
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import AppError
from hub.kernel.events import EventEnvelope
from hub.kernel.store import Store
from hub.workflow import repositories
from hub.workflow.domain import definitions as defs
from hub.workflow.domain.expressions import ExpressionError, holds, value_of
from hub.workflow.domain.triggers_more import TimedTrigger
from hub.workflow.models import Instance, TriggerTimer
from hub.workflow.services import metrics
from hub.workflow.services.instances import Actor, InstanceService, Subject

log = structlog.get_logger(__name__)

#: A document date whose trigger moment passed longer ago than this is not started.
GRACE = timedelta(days=1)
#: Content events after which a document's date triggers are planned again.
DOCUMENT_EVENTS = frozenset(
    {
        "content.document.uploaded",
        "content.document.updated",
        "content.document.trashed",
        "content.document.restored",
        "content.document.purged",
    }
)


def document_map(doc: DocumentSummary) -> dict[str, Any]:
    """What a date trigger's filter and variables see as ``document``."""
    return {
        "id": str(doc.id),
        "title": doc.title,
        "tags": list(doc.tags),
        "documentTypeId": str(doc.document_type_id) if doc.document_type_id else None,
        "ownerId": str(doc.owner_id),
        "fields": dict(doc.custom_fields),
    }


def _variables(trigger: TimedTrigger, scope: dict[str, Any], key: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, source in trigger.variables:
        try:
            out[name] = value_of(source, scope)
        except ExpressionError as exc:
            log.warning("workflow.trigger_variable_failed", workflow=key, name=name, error=str(exc))
    return out


class ScheduleService:
    def __init__(
        self, store: Store, clock: Clock, instances: InstanceService, content: ContentApi
    ) -> None:
        self.store, self.clock, self.instances, self.content = store, clock, instances, content

    # ------------------------------------------------------------------ planning

    async def plan_published(self, uow: UnitOfWork, row: Any, definition: defs.Definition) -> None:
        """In the publishing transaction: older versions' rows go, this version's come."""
        await uow.session.execute(
            update(TriggerTimer)
            .where(
                TriggerTimer.organisation_id == row.organisation_id,
                TriggerTimer.workflow_key == row.key,
                TriggerTimer.status == "pending",
            )
            .values(status="cancelled")
        )
        now = self.clock()
        for trigger in definition.timed:
            if trigger.kind == "cron":
                slot = trigger.next_slot(now)
                await self._insert(
                    uow,
                    row,
                    trigger,
                    f"cron:{trigger.index}",
                    _cron_slot(trigger, slot),
                    None,
                    slot,
                )
                continue
            assert trigger.date_field is not None
            values = await self.content.field_values(row.organisation_id, trigger.date_field)
            for document_id in sorted(values):
                document = await self.content.document(document_id)
                await self._plan_document(uow, row, trigger, document_id, document)

    async def on_document(self, envelope: EventEnvelope, uow: UnitOfWork) -> int:
        """Re-plan the date triggers of the document an event names; answers how many
        workflows have date triggers in its organisation."""
        raw = envelope.payload.get("documentId")
        if envelope.organisation_id is None or not isinstance(raw, str):
            return 0
        if envelope.event_type == "content.document.updated" and not {
            "customFields",
            "documentTypeId",
            "tags",
            "title",
        } & set(envelope.payload.get("changed", [])):
            return 0
        rows = (
            await uow.session.execute(repositories.newest_versions(envelope.organisation_id))
        ).all()
        document_id = uuid.UUID(raw)
        document: DocumentSummary | None = None
        fetched = False
        planned = 0
        for row in rows:
            definition = await self.instances.definition(row.id)
            dated = [t for t in definition.timed if t.kind == "date"]
            if not dated:
                continue
            if not fetched:
                document, fetched = await self.content.document(document_id), True
            for trigger in dated:
                await self._plan_document(uow, row, trigger, document_id, document)
            planned += 1
        return planned

    async def _plan_document(
        self,
        uow: UnitOfWork,
        row: Any,
        trigger: TimedTrigger,
        document_id: uuid.UUID,
        document: DocumentSummary | None,
    ) -> None:
        plan_key = f"date:{trigger.index}:{document_id}"
        wanted = await self._wanted(row, trigger, document)
        pending = (
            await uow.session.execute(
                select(TriggerTimer.__table__)
                .where(
                    TriggerTimer.organisation_id == row.organisation_id,
                    TriggerTimer.workflow_key == row.key,
                    TriggerTimer.plan_key == plan_key,
                    TriggerTimer.status == "pending",
                )
                .with_for_update()
            )
        ).first()
        if pending is not None:
            if (
                wanted is not None
                and (pending.slot_key, pending.due_at) == wanted
                and pending.definition_id == row.id
            ):
                return
            await uow.session.execute(
                update(TriggerTimer).where(TriggerTimer.id == pending.id).values(status="cancelled")
            )
        if wanted is None or await self._started(uow, row, wanted[0]):
            return
        await self._insert(uow, row, trigger, plan_key, wanted[0], document_id, wanted[1])

    async def _wanted(
        self, row: Any, trigger: TimedTrigger, document: DocumentSummary | None
    ) -> tuple[str, datetime] | None:
        """The slot key and due time a document's date trigger should have, or None."""
        if (
            document is None
            or document.trashed_at is not None
            or document.organisation_id != row.organisation_id
            or trigger.date_field is None
        ):
            return None
        due = trigger.due_for(document.custom_fields.get(trigger.date_field))
        if due is None or due[1] < self.clock() - GRACE:
            return None
        if trigger.document_type is not None:
            wanted_type = trigger.document_type.lower()
            types = (await self.content.taxonomy(row.organisation_id)).document_types
            ids = {t.id for t in types if wanted_type in (t.name.lower(), str(t.id))}
            if document.document_type_id not in ids:
                return None
        if trigger.filter is not None:
            scope = {"document": document_map(document), "trigger": _date_trigger(*due)}
            if not holds(trigger.filter, scope)[0]:
                return None
        return f"date:{trigger.index}:{document.id}:{due[0].isoformat()}", due[1]

    async def _insert(
        self,
        uow: UnitOfWork,
        row: Any,
        trigger: TimedTrigger,
        plan_key: str,
        slot_key: str,
        document_id: uuid.UUID | None,
        due: datetime,
    ) -> None:
        await uow.session.execute(
            insert(TriggerTimer)
            .values(
                id=uuid.uuid4(),
                organisation_id=row.organisation_id,
                workflow_key=row.key,
                definition_id=row.id,
                trigger=trigger.index,
                kind=trigger.kind,
                plan_key=plan_key,
                slot_key=slot_key,
                document_id=document_id,
                due_at=due,
                status="pending",
            )
            .on_conflict_do_nothing(
                index_elements=["organisation_id", "workflow_key", "plan_key"],
                index_where=TriggerTimer.status == "pending",
            )
        )

    async def _started(self, uow: UnitOfWork, row: Any, slot_key: str) -> bool:
        return bool(
            await uow.session.scalar(
                select(
                    exists().where(
                        Instance.organisation_id == row.organisation_id,
                        Instance.workflow_key == row.key,
                        Instance.trigger_key == slot_key,
                    )
                )
            )
        )

    # ------------------------------------------------------------------ firing

    async def next_due(self) -> datetime | None:
        due: datetime | None = await self.store.scalar(
            select(func.min(TriggerTimer.due_at)).where(TriggerTimer.status == "pending")
        )
        return due

    async def fire_due(self, *, limit: int = 500) -> int:
        """Fire up to ``limit`` due trigger timers; answers how many started an instance."""
        started = 0
        for _ in range(limit):
            async with self.store.uow() as uow:
                timer = (
                    await uow.session.execute(
                        select(TriggerTimer.__table__)
                        .where(
                            TriggerTimer.status == "pending", TriggerTimer.due_at <= self.clock()
                        )
                        .order_by(TriggerTimer.due_at)
                        .limit(1)
                        .with_for_update(skip_locked=True)
                    )
                ).first()
                if timer is None:
                    break
                try:
                    async with uow.savepoint():
                        started += await self._fire(uow, timer)
                except AppError as exc:  # the started workflow refused (an action failed)
                    log.warning("workflow.trigger_failed", timer_id=str(timer.id), error=exc.detail)
                    await uow.session.execute(
                        update(TriggerTimer)
                        .where(TriggerTimer.id == timer.id)
                        .values(status="failed")
                    )
                if timer.kind == "cron":  # the schedule goes on, whatever this slot did
                    await self._next_cron(uow, timer)
                await uow.commit()
        return started

    async def _next_cron(self, uow: UnitOfWork, timer: Any) -> None:
        """Plan the slot after a fired (or failed) one: the first after now, if the version
        that planned it is still the newest."""
        latest = await repositories.latest_definition(
            self.store, timer.organisation_id, timer.workflow_key
        )
        if latest is None or latest.id != timer.definition_id:
            return
        definition = await self.instances.definition(latest.id)
        trigger = next((t for t in definition.timed if t.index == timer.trigger), None)
        if trigger is None:  # pragma: no cover - rows are planned from this very version
            return
        nxt = trigger.next_slot(max(timer.due_at, self.clock()))
        await self._insert(
            uow, latest, trigger, timer.plan_key, _cron_slot(trigger, nxt), None, nxt
        )

    async def _fire(self, uow: UnitOfWork, timer: Any) -> int:
        now = self.clock()
        latest = await repositories.latest_definition(
            self.store, timer.organisation_id, timer.workflow_key
        )
        stale = latest is None or latest.id != timer.definition_id
        await uow.session.execute(
            update(TriggerTimer)
            .where(TriggerTimer.id == timer.id)
            .values(status="cancelled" if stale else "fired", fired_at=None if stale else now)
        )
        if stale or latest is None:
            return 0
        definition = await self.instances.definition(latest.id)
        trigger = next((t for t in definition.timed if t.index == timer.trigger), None)
        if trigger is None:  # pragma: no cover - rows are planned from this very version
            return 0
        if trigger.kind == "cron":
            slot_at = timer.due_at
            subject = Subject(reference=f"{timer.workflow_key}:{slot_at.isoformat()}")
            scope: dict[str, Any] = {"trigger": {"kind": "cron", "slot": slot_at.isoformat()}}
        else:
            document = await self.content.document(timer.document_id)
            wanted = await self._wanted(latest, trigger, document)
            if wanted is None or wanted[0] != timer.slot_key or document is None:
                # the date moved (its event will re-plan, or has) or the document went
                await self._plan_document(uow, latest, trigger, timer.document_id, document)
                return 0
            due = trigger.due_for(document.custom_fields.get(trigger.date_field or ""))
            assert due is not None
            subject = Subject(document_id=document.id)
            scope = {"trigger": _date_trigger(*due), "document": document_map(document)}
        if await self._started(uow, latest, timer.slot_key):
            return 0
        await self.instances.start_in(
            uow,
            latest,
            definition,
            subject,
            _variables(trigger, scope, timer.workflow_key),
            Actor(actor_type="system"),
            trigger_key=timer.slot_key,
        )
        metrics.triggered(uow, trigger.kind)
        return 1


def _cron_slot(trigger: TimedTrigger, slot: datetime) -> str:
    return f"cron:{trigger.index}:{slot.isoformat()}"


def _date_trigger(day: Any, due: datetime) -> dict[str, Any]:
    return {"kind": "date", "date": day.isoformat(), "due": due.isoformat()}
