"""Content's background jobs: the retention purge of the trash."""

from __future__ import annotations

import structlog

from hub.content.services.trash import TrashService
from hub.kernel.jobs import JobContext, job
from hub.kernel.scheduler import Periodic

log = structlog.get_logger("hub.content.trash")


@job("content.purge_trash", max_retries=3)
async def purge_trash(ctx: JobContext, *, trash: TrashService) -> None:
    """Delete documents trashed longer than HUB_CONTENT_TRASH_DAYS (never those under
    legal hold) and the blobs no version references any more. Idempotent."""
    purged = await trash.purge_expired()
    log.info("content_trash_purge_ran", purged=purged)


PURGE_HOURLY = Periodic("content.purge_trash", "41 * * * *", purge_trash)
