"""Housekeeping the kernel schedules for itself: old outbox and inbox rows.

Published outbox rows are only history once sent; inbox rows must outlive every possible
redelivery of their event (retries, a dead letter replayed by an operator within the
dead-letter TTL), hence the longer default (HUB_INBOX_RETENTION_DAYS, 30 days, against
a 7-day dead-letter TTL).
"""

from __future__ import annotations

import structlog
from sqlalchemy import text

from hub.kernel.jobs import JobContext, job
from hub.kernel.scheduler import Periodic
from hub.kernel.schema import context_schemas

log = structlog.get_logger("hub.retention")


@job("kernel.prune_outbox_inbox", max_retries=2)
async def prune_outbox_inbox(ctx: JobContext) -> None:
    settings = ctx.kernel.settings
    removed: dict[str, int] = {}
    async with ctx.kernel.db.engine.begin() as conn:
        for schema in context_schemas():
            exists = await conn.scalar(
                text("SELECT to_regclass(:name) IS NOT NULL"), {"name": f'"{schema}".outbox'}
            )
            if not exists:
                continue
            out = await conn.execute(
                text(
                    f'DELETE FROM "{schema}".outbox WHERE published_at IS NOT NULL '  # noqa: S608
                    "AND published_at < now() - make_interval(days => :days)"
                ),
                {"days": settings.outbox_retention_days},
            )
            inb = await conn.execute(
                text(
                    f'DELETE FROM "{schema}".inbox '  # noqa: S608
                    "WHERE processed_at < now() - make_interval(days => :days)"
                ),
                {"days": settings.inbox_retention_days},
            )
            removed[schema] = int(out.rowcount or 0) + int(inb.rowcount or 0)
    log.info("outbox_inbox_pruned", removed=removed)


PRUNE_HOURLY = Periodic("kernel.prune_outbox_inbox", "17 * * * *", prune_outbox_inbox)
