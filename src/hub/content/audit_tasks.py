"""The audit trail's feed and upkeep: the catch-all handler every integration event of
every context reaches, and the scheduled jobs (partitions ahead, retention, checkpoints)."""

from __future__ import annotations

import structlog

from hub.content.services.audit import AuditLog
from hub.kernel.db import UnitOfWork
from hub.kernel.events import EventEnvelope
from hub.kernel.jobs import JobContext, job
from hub.kernel.scheduler import Periodic
from hub.kernel.subscribers import CatchAll

log = structlog.get_logger("hub.content.audit")


async def record_event(
    envelope: EventEnvelope, uow: UnitOfWork, *, audit_log: AuditLog | None = None
) -> None:
    """One entry per event, committed with the inbox row that makes delivery exactly-once.
    It publishes nothing: an event about an audit entry would feed itself forever.
    ``audit_log`` is injected by name (``hub.kernel.inject``)."""
    if audit_log is None:
        raise RuntimeError("record_event runs with the audit_log service injected")
    await audit_log.append(uow, envelope)


#: Stable name: it is the inbox key of every event already recorded.
AUDIT_FEED = CatchAll("content.audit_trail", record_event)


@job("content.audit_maintain", max_retries=3)
async def maintain_audit(ctx: JobContext, *, audit_log: AuditLog) -> None:
    """Keep partitions two months ahead and drop months past HUB_AUDIT_RETENTION_DAYS.
    Idempotent: creating an existing partition or finding nothing to drop changes nothing."""
    made = await audit_log.ensure_partitions()
    dropped = await audit_log.apply_retention()
    log.info("audit_maintenance_ran", partitions=made, dropped=dropped)


@job("content.audit_checkpoint", max_retries=3)
async def checkpoint_audit(ctx: JobContext, *, audit_log: AuditLog) -> None:
    """Sign the head of every chain that grew since its last checkpoint."""
    signed = await audit_log.checkpoint_all()
    log.info("audit_checkpoints_signed", chains=signed)


AUDIT_MAINTAIN_DAILY = Periodic("content.audit_maintain", "17 2 * * *", maintain_audit)
AUDIT_CHECKPOINT_HOURLY = Periodic("content.audit_checkpoint", "53 * * * *", checkpoint_audit)
