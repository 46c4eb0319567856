"""Communication's jobs: fan-out batches, e-mail deliveries, the release of deferred
deliveries once quiet hours end (every minute). All idempotent: a redelivered batch
inserts nothing twice, a sent delivery is not sent again."""

from __future__ import annotations

import uuid

import structlog

from hub.communication.services.email import DeferredRelease, EmailDelivery
from hub.communication.services.fanout import SEND_EMAIL, FanOut
from hub.communication.services.sending import FAN_OUT
from hub.communication.services.webhook_delivery import WebhookRetries, WebhookSender
from hub.communication.services.webhooks import DELIVER
from hub.kernel.jobs import JobContext, job
from hub.kernel.mail import PermanentMailError
from hub.kernel.scheduler import Periodic

log = structlog.get_logger("hub.communication")


@job(FAN_OUT, max_retries=5)
async def fan_out(
    ctx: JobContext, notification_id: str, start: int, end: int, *, notification_fan_out: FanOut
) -> None:
    written = await notification_fan_out.run(uuid.UUID(notification_id), start, end)
    log.info("notification_fanned_out", notification_id=notification_id, deliveries=written)


@job(SEND_EMAIL, throws=(PermanentMailError,))
async def send_email(ctx: JobContext, delivery_id: str, *, email_delivery: EmailDelivery) -> None:
    """One e-mail; the last allowed retry marks the delivery failed before the message
    goes to the dead letters."""
    final = ctx.retries >= ctx.kernel.settings.job_max_retries
    await email_delivery.send(uuid.UUID(delivery_id), final=final)


@job("communication.release_deferred", max_retries=3)
async def release_deferred(ctx: JobContext, *, deferred_release: DeferredRelease) -> None:
    released = await deferred_release.release_due()
    if released:
        log.info("notification_deliveries_released", released=released)


RELEASE_EVERY_MINUTE = Periodic("communication.release_deferred", "* * * * *", release_deferred)


@job(DELIVER, queue="webhooks", max_retries=3)
async def webhook_deliver(
    ctx: JobContext, delivery_id: str, attempts_before: int, *, webhook_sender: WebhookSender
) -> None:
    """One attempt of a webhook delivery (its own queue: slow receivers hold up nothing
    else). A failed attempt is an outcome, not an error: the next one is scheduled in the
    table, and the job raises only when the hub itself fails."""
    await webhook_sender.attempt(uuid.UUID(delivery_id), attempts_before)


@job("communication.webhook_retries", max_retries=3)
async def webhook_retries(ctx: JobContext, *, webhook_release: WebhookRetries) -> None:
    released = await webhook_release.release_due()
    if released:
        log.info("webhook_deliveries_released", released=released)


WEBHOOK_RETRIES_EVERY_5S = Periodic(
    "communication.webhook_retries", "*/5 * * * * *", webhook_retries
)
