"""Events workflow consumes: every context's, as envelopes, for its triggers."""

from __future__ import annotations

from hub.kernel.db import UnitOfWork
from hub.kernel.events import EventEnvelope
from hub.kernel.subscribers import CatchAll
from hub.workflow.services.triggers import TriggerService


async def start_triggered(
    envelope: EventEnvelope, uow: UnitOfWork, *, workflow_triggers: TriggerService
) -> None:
    """Committed with the inbox row that makes delivery exactly-once."""
    await workflow_triggers.on_event(envelope, uow)


#: Stable name: it is the inbox key of every event already handled.
TRIGGERS = CatchAll("workflow.triggers", start_triggered)
