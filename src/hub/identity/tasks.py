"""Identity's background jobs."""

from __future__ import annotations

import structlog

from hub.identity.services.housekeeping import Housekeeping
from hub.kernel.jobs import JobContext, job
from hub.kernel.scheduler import Periodic

log = structlog.get_logger("hub.identity.housekeeping")


@job("identity.prune_expired", max_retries=2)
async def prune_expired_rows(ctx: JobContext, *, housekeeping: Housekeeping) -> None:
    pruned = await housekeeping.prune()
    log.info("identity_pruned", **vars(pruned))


PRUNE_HOURLY = Periodic("identity.prune_expired", "23 * * * *", prune_expired_rows)
