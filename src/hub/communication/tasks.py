"""Communication's jobs: fan-out batches, e-mail deliveries, chat and SMS posts, the
release of deferred deliveries once quiet hours end (every minute). All idempotent: a
redelivered batch inserts nothing twice, a sent delivery is not sent again."""

from __future__ import annotations

import uuid

import structlog

from hub.communication.services.chat import ChatDelivery, PermanentChatError
from hub.communication.services.email import DeferredRelease, EmailDelivery
from hub.communication.services.fanout import SEND_CHAT, SEND_EMAIL, FanOut
from hub.communication.services.sending import FAN_OUT
from hub.communication.services.unread_notices import UnreadNotices
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


@job(SEND_CHAT, throws=(PermanentChatError,))
async def send_chat(ctx: JobContext, delivery_id: str, *, chat_delivery: ChatDelivery) -> None:
    """One post to an organisation's chat or SMS channel (Apprise); retried with backoff,
    the last retry marks it failed before the message goes to the dead letters."""
    final = ctx.retries >= ctx.kernel.settings.job_max_retries
    await chat_delivery.send(uuid.UUID(delivery_id), final=final)


@job("communication.release_deferred", max_retries=3)
async def release_deferred(ctx: JobContext, *, deferred_release: DeferredRelease) -> None:
    released = await deferred_release.release_due()
    if released:
        log.info("notification_deliveries_released", released=released)


RELEASE_EVERY_MINUTE = Periodic("communication.release_deferred", "* * * * *", release_deferred)


@job("communication.conversation_unread_notices", max_retries=3)
async def conversation_unread_notices(
    ctx: JobContext, *, conversation_unread_notices: UnreadNotices
) -> None:
    told = await conversation_unread_notices.run()
    if told:
        log.info("conversation_unread_notices_sent", told=told)


UNREAD_NOTICES_EVERY_MINUTE = Periodic(
    "communication.conversation_unread_notices", "* * * * *", conversation_unread_notices
)
