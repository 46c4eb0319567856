"""Events workflow consumes: every context's, as envelopes, for its triggers; and
identity's erasure of a person."""

from __future__ import annotations

from hub.identity.api import UserErased
from hub.kernel.db import UnitOfWork
from hub.kernel.events import EventEnvelope
from hub.kernel.subscribers import CatchAll
from hub.workflow.services.erasure import WorkflowErasure
from hub.workflow.services.triggers import TriggerService


async def start_triggered(
    envelope: EventEnvelope, uow: UnitOfWork, *, workflow_triggers: TriggerService
) -> None:
    """Committed with the inbox row that makes delivery exactly-once."""
    await workflow_triggers.on_event(envelope, uow)


#: Stable name: it is the inbox key of every event already handled.
TRIGGERS = CatchAll("workflow.triggers", start_triggered)


async def on_user_erased(
    event: UserErased, uow: UnitOfWork, *, workflow_erasure: WorkflowErasure
) -> None:
    """Unassign the erased person's tasks and put the pseudonym where a record stays
    (``services.erasure``)."""
    await workflow_erasure.erase(uow, event)
