"""Triggers: an integration event of any context (a catch-all subscription) starts an
instance of each of its organisation's workflows whose newest version has a trigger for
that event type and whose filter (CEL over ``event``) holds.

The same event never starts two instances of a workflow: the kernel's inbox runs the
handler once per event, and ``instances`` is unique on (organisation, workflow key,
trigger event), checked before the insert.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from sqlalchemy import exists, select

from hub.kernel.db import UnitOfWork
from hub.kernel.events import EventEnvelope
from hub.workflow.domain import definitions as defs
from hub.workflow.domain.expressions import ExpressionError, holds, value_of
from hub.workflow.models import Instance
from hub.workflow.repositories import newest_versions
from hub.workflow.services import metrics
from hub.workflow.services.host_functions import host_functions
from hub.workflow.services.instances import Actor, InstanceService, Subject
from hub.workflow.services.schedules import DOCUMENT_EVENTS, ScheduleService

log = structlog.get_logger(__name__)


def event_map(envelope: EventEnvelope) -> dict[str, Any]:
    """What a filter sees as ``event``: the payload plus ``type``, ``source``, ``actorId``."""
    return {
        **envelope.payload,
        "type": envelope.event_type,
        "source": envelope.source,
        "actorId": str(envelope.actor_id) if envelope.actor_id else None,
        "organisationId": str(envelope.organisation_id),
    }


class TriggerService:
    def __init__(self, instances: InstanceService, schedules: ScheduleService) -> None:
        self.instances, self.schedules = instances, schedules

    async def on_event(self, envelope: EventEnvelope, uow: UnitOfWork) -> int:
        """Start what the event triggers, in the handler's transaction; answers how many.
        A document's events also re-plan its date triggers (``services.schedules``)."""
        if envelope.organisation_id is None or envelope.source == "workflow":
            return 0
        if envelope.event_type in DOCUMENT_EVENTS:
            await self.schedules.on_document(envelope, uow)
        rows = (await uow.session.execute(newest_versions(envelope.organisation_id))).all()
        # The newest version of each key, then its triggers: filtering on the trigger in
        # SQL first would pick an older version that had it after a newer one dropped it.
        rows = [r for r in rows if r.body.get("triggers")]
        started = 0
        scope = {"event": event_map(envelope)}
        for row in rows:
            definition = await self.instances.definition(row.id)
            for trigger in definition.triggers:
                if trigger.event != envelope.event_type:
                    continue
                if (
                    trigger.filter is not None
                    and not holds(
                        trigger.filter,
                        scope,
                        await host_functions(
                            self.instances.classifier,
                            trigger.filter,
                            _subject(envelope).document_id,
                        ),
                    )[0]
                ):
                    continue
                if await self._already(uow, row, envelope.event_id):
                    break
                await self.instances.start_in(
                    uow,
                    row,
                    definition,
                    _subject(envelope),
                    _variables(trigger, scope, row.key),
                    Actor(actor_type="system", actor_id=envelope.actor_id),
                    trigger_event_id=envelope.event_id,
                )
                metrics.triggered(uow, "event")
                started += 1
                break  # one instance per workflow and event
        return started

    async def _already(self, uow: UnitOfWork, row: Any, event_id: uuid.UUID) -> bool:
        return bool(
            await uow.session.scalar(
                select(
                    exists().where(
                        Instance.organisation_id == row.organisation_id,
                        Instance.workflow_key == row.key,
                        Instance.trigger_event_id == event_id,
                    )
                )
            )
        )


def _subject(envelope: EventEnvelope) -> Subject:
    raw = envelope.payload.get("documentId")
    if isinstance(raw, str):
        try:
            return Subject(document_id=uuid.UUID(raw))
        except ValueError:
            pass
    return Subject(reference=f"{envelope.event_type}:{envelope.event_id}")


def _variables(trigger: defs.Trigger, scope: dict[str, Any], key: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, source in trigger.variables:
        try:
            out[name] = value_of(source, scope)
        except ExpressionError as exc:
            log.warning("workflow.trigger_variable_failed", workflow=key, name=name, error=str(exc))
    return out
