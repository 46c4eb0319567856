"""Content's background jobs: the retention purge of the trash, versions' thumbnails and
text extraction, the audit trail's upkeep (partitions ahead, retention, signed
checkpoints), and reading mail accounts (mail rules)."""

from __future__ import annotations

import uuid

import structlog

from hub.content.domain.thumbnails import MAKE_THUMBNAIL_JOB
from hub.content.services.audit import AuditLog
from hub.content.services.consume_folders import CONSUME_FOLDER
from hub.content.services.consume_scan import FolderConsumer
from hub.content.services.mail_fetch import FETCH_MAIL, MailFetcher
from hub.content.services.text_extraction import (
    EXTRACT_JOB,
    EXTRACT_RETRIES,
    PermanentExtractionError,
    TextExtraction,
)
from hub.content.services.thumbnails import ThumbnailService
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


@job(MAKE_THUMBNAIL_JOB, max_retries=3)
async def make_thumbnail(
    ctx: JobContext, document_id: str, version: int, *, thumbnails: ThumbnailService
) -> None:
    """Render, store and record one version's thumbnail (queued with the version).
    Idempotent; a file that cannot be rendered is recorded as failed, not retried."""
    await thumbnails.make(uuid.UUID(document_id), version)


@job(EXTRACT_JOB, max_retries=EXTRACT_RETRIES, throws=(PermanentExtractionError,))
async def extract_text(
    ctx: JobContext, document_id: str, version: int, *, text_extraction: TextExtraction
) -> None:
    """Extract one version's text (queued with every new version). Idempotent: a settled
    version is left alone. The last retry's failure marks the version ``failed``."""
    await text_extraction.extract(
        uuid.UUID(document_id), version, last_try=ctx.retries >= EXTRACT_RETRIES
    )


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


@job(FETCH_MAIL, max_retries=2)
async def fetch_mail(ctx: JobContext, account_id: str, *, mail_fetcher: MailFetcher) -> None:
    """Read one mail account (its rules make documents of what they take). A failure of
    the server is recorded on the account, not raised: the next poll tries again."""
    made = await mail_fetcher.fetch(uuid.UUID(account_id))
    if made:
        log.info("mail_consumed", account_id=account_id, documents=made)


@job("content.fetch_mail_due", max_retries=3)
async def fetch_mail_due(ctx: JobContext, *, mail_fetcher: MailFetcher) -> None:
    await mail_fetcher.due()


FETCH_MAIL_EVERY_MINUTE = Periodic("content.fetch_mail_due", "* * * * *", fetch_mail_due)


@job(CONSUME_FOLDER, max_retries=2)
async def consume_folder(
    ctx: JobContext, organisation_id: str, *, folder_consumer: FolderConsumer
) -> None:
    """Scan one organisation's consumption folder (its settled files become documents).
    A folder that cannot be read is recorded on its settings, not raised."""
    made = await folder_consumer.scan(uuid.UUID(organisation_id))
    if made:
        log.info("consume_folder_consumed", organisation_id=organisation_id, documents=made)


@job("content.consume_folders_due", max_retries=3)
async def consume_folders_due(ctx: JobContext, *, folder_consumer: FolderConsumer) -> None:
    await folder_consumer.due()


CONSUME_EVERY_MINUTE = Periodic("content.consume_folders_due", "* * * * *", consume_folders_due)
