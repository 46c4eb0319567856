"""Communication's jobs: fan-out batches, e-mail deliveries, pushes, chat and SMS posts, the
release of deferred deliveries once quiet hours end (every minute), digests (closed every
minute, each sent by its own job), escalations (every minute) and inbox retention
(daily). All idempotent: a
redelivered batch inserts nothing twice, a sent delivery is not sent again."""

from __future__ import annotations

import uuid

import structlog

from hub.communication.services.chat import ChatDelivery, PermanentChatError
from hub.communication.services.digests import SEND_DIGEST, DigestClosing, DigestEmail
from hub.communication.services.email import DeferredRelease, EmailDelivery
from hub.communication.services.escalation import Escalation
from hub.communication.services.fanout import SEND_CHAT, SEND_EMAIL, SEND_PUSH, FanOut
from hub.communication.services.push_delivery import PermanentPushError, PushDelivery
from hub.communication.services.retention import HistoryRetention, InboxRetention
from hub.communication.services.sending import FAN_OUT, SendService
from hub.communication.services.snoozes import SnoozeEnd
from hub.communication.services.unread_notices import UnreadNotices
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


@job(SEND_CHAT, throws=(PermanentChatError,))
async def send_chat(ctx: JobContext, delivery_id: str, *, chat_delivery: ChatDelivery) -> None:
    """One post to an organisation's chat or SMS channel (Apprise); retried with backoff,
    the last retry marks it failed before the message goes to the dead letters."""
    final = ctx.retries >= ctx.kernel.settings.job_max_retries
    await chat_delivery.send(uuid.UUID(delivery_id), final=final)


@job(SEND_PUSH, throws=(PermanentPushError,))
async def send_push(ctx: JobContext, delivery_id: str, *, push_delivery: PushDelivery) -> None:
    """One notification to a person's browsers; retried with backoff while a push service
    is down (only the browsers still owed it), the last retry marks it failed."""
    final = ctx.retries >= ctx.kernel.settings.job_max_retries
    await push_delivery.send(uuid.UUID(delivery_id), final=final)


@job("communication.release_deferred", max_retries=3)
async def release_deferred(ctx: JobContext, *, deferred_release: DeferredRelease) -> None:
    released = await deferred_release.release_due()
    if released:
        log.info("notification_deliveries_released", released=released)


RELEASE_EVERY_MINUTE = Periodic("communication.release_deferred", "* * * * *", release_deferred)


@job("communication.send_scheduled", max_retries=3)
async def send_scheduled(ctx: JobContext, *, notifications: SendService) -> None:
    sent = await notifications.release_due()
    if sent:
        log.info("scheduled_notifications_sent", notifications=sent)


SEND_SCHEDULED_EVERY_MINUTE = Periodic("communication.send_scheduled", "* * * * *", send_scheduled)


@job("communication.close_digests", max_retries=3)
async def close_digests(ctx: JobContext, *, digest_closing: DigestClosing) -> None:
    made = await digest_closing.close_due()
    if made:
        log.info("notification_digests_closed", digests=made)


@job(SEND_DIGEST, throws=(PermanentMailError,))
async def send_digest(ctx: JobContext, digest_id: str, *, digest_email: DigestEmail) -> None:
    final = ctx.retries >= ctx.kernel.settings.job_max_retries
    await digest_email.send(uuid.UUID(digest_id), final=final)


@job("communication.escalate_unread", max_retries=3)
async def escalate_unread(ctx: JobContext, *, escalation: Escalation) -> None:
    outcome = await escalation.run_due()
    if any(outcome.values()):
        log.info("notification_escalations", **outcome)


@job("communication.prune_inbox", max_retries=3)
async def prune_inbox(ctx: JobContext, *, inbox_retention: InboxRetention) -> None:
    pruned = await inbox_retention.prune()
    log.info("notification_inbox_pruned", items=pruned)


@job("communication.prune_history", max_retries=3)
async def prune_history(ctx: JobContext, *, history_retention: HistoryRetention) -> None:
    pruned = await history_retention.prune()
    if any(pruned.values()):
        log.info("notification_history_pruned", **pruned)


CLOSE_DIGESTS_EVERY_MINUTE = Periodic("communication.close_digests", "* * * * *", close_digests)
ESCALATE_EVERY_MINUTE = Periodic("communication.escalate_unread", "* * * * *", escalate_unread)
PRUNE_INBOX_DAILY = Periodic("communication.prune_inbox", "40 3 * * *", prune_inbox)
PRUNE_HISTORY_DAILY = Periodic("communication.prune_history", "50 3 * * *", prune_history)


@job("communication.end_snoozes", max_retries=3)
async def end_snoozes(ctx: JobContext, *, snooze_end: SnoozeEnd) -> None:
    ended = await snooze_end.release_due()
    if ended:
        log.info("notification_snoozes_ended", ended=ended)


END_SNOOZES_EVERY_MINUTE = Periodic("communication.end_snoozes", "* * * * *", end_snoozes)


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
