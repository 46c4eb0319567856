"""Chat and SMS deliveries: one post of a notification's chat text to one of the
organisation's channels through Apprise, recorded in the delivery log.

Run by the ``communication.send_chat`` job. Each attempt counts in ``attempts``; success
is ``sent`` with provider ``apprise:<scheme>``; a refusal is recorded with Apprise's
reason, scrubbed of every piece of the URL, and raised so the job retries with backoff;
the last retry marks it ``failed`` and the message goes to the dead letters. A channel
removed or disabled since is ``failed`` at once; a host that is no longer allowed, or a
URL no configured key unseals, is a permanent failure (dead letters, no retry).

The URL is unsealed only here, in memory, for the call; Apprise's own log (which quotes
URLs) is scrubbed of the URL and kept out of the hub's (``domain.chat_channels``).
"""

from __future__ import annotations

import uuid
from typing import Any

import apprise
import structlog

from hub.communication import repositories
from hub.communication.domain.categories import ORGANISATION_CHANNELS
from hub.communication.domain.chat_channels import handling, quiet_apprise_logs, scrub
from hub.communication.domain.preferences import FAILED, QUEUED, SENT
from hub.communication.domain.templates import render_channel
from hub.communication.services.channels import ChannelService
from hub.communication.services.deliveries import record_outcome
from hub.communication.services.templates import TemplateService
from hub.kernel.clock import Clock
from hub.kernel.errors import Invalid
from hub.kernel.sealing import UnsealableError
from hub.kernel.store import Store

log = structlog.get_logger("hub.communication")
_MAX_ERROR = 500


class ChatSendError(Exception):
    """The service refused or could not be reached (retried); the text holds no secret."""


class PermanentChatError(ChatSendError):
    """Retrying cannot help (a refused address, an unsealable URL): straight to the dead
    letters."""


class ChatDelivery:
    def __init__(
        self, store: Store, templates: TemplateService, channels: ChannelService, clock: Clock
    ) -> None:
        self.store, self.templates, self.channels, self.clock = store, templates, channels, clock
        quiet_apprise_logs()

    async def send(self, delivery_id: uuid.UUID, *, final: bool) -> str | None:
        """Send one queued post; the status it ends in (None: nothing to do)."""
        d = await repositories.delivery(self.store, delivery_id)
        if (
            d is None
            or d.channel not in ORGANISATION_CHANNELS
            or d.channel_id is None
            or d.status not in (QUEUED, FAILED)
        ):
            return None  # sent, skipped, deferred or unknown: a redelivery changes nothing
        target = await repositories.channel(self.store, d.channel_id)
        if target is None or not target.enabled:
            await self._record(d.id, FAILED, None, "the channel was removed or disabled")
            return FAILED
        provider = f"apprise:{target.scheme}"
        n = await repositories.notification(self.store, d.notification_id)
        template = (
            await self.templates.at_version(n.organisation_id, n.template_key, n.template_version)
            if n is not None
            else None
        )
        org = (
            await repositories.organisation_settings(self.store, n.organisation_id)
            if n is not None
            else None
        )
        rendered = (
            render_channel(
                template.channels, "chat", [org.default_locale if org else None], n.payload
            )
            if n is not None and template is not None
            else None
        )
        if rendered is None:
            await self._record(d.id, FAILED, provider, "the template has no chat text")
            return FAILED
        try:
            url = self.channels.open(target)
        except UnsealableError:
            error = "no configured key unseals the channel's URL (save it again)"
            await self._record(d.id, FAILED, provider, error)
            raise PermanentChatError(error) from None
        try:
            await self.channels.check_target(url)
        except Invalid as exc:
            error = f"address not allowed: {exc.code}"
            await self._record(d.id, FAILED, provider, error)
            raise PermanentChatError(error) from None
        ok, error = await self._notify(url, rendered.parts["text"])
        if ok:
            await self._record(d.id, SENT, provider, None)
            return SENT
        status = FAILED if final else QUEUED
        await self._record(d.id, status, provider, error)
        log.warning(
            "notification_chat_failed", delivery_id=str(d.id), status=status, provider=provider
        )
        raise ChatSendError(error)

    @staticmethod
    async def _notify(url: str, text: str) -> tuple[bool, str]:
        """Post ``text``; (success, the scrubbed reason of a failure)."""
        sender = apprise.Apprise()
        with handling(url):
            try:
                if not sender.add(url):
                    return False, "Apprise no longer accepts the channel's URL"
                result: Any = await sender.async_notify(body=text, title="")
                if result:
                    return True, ""
                reasons = [
                    entry.message
                    for entry in result.logs()
                    if entry.level in ("WARNING", "ERROR", "CRITICAL")
                ]
            except Exception as exc:  # a plugin error must not escape with the URL in it
                reasons = [f"{type(exc).__name__}: {exc}"]
        reason = "; ".join(reasons) or "the service did not accept the notification"
        return False, scrub(reason, url)[:_MAX_ERROR]

    async def _record(
        self, delivery_id: uuid.UUID, status: str, provider: str | None, error: str | None
    ) -> None:
        await record_outcome(
            self.store, self.clock, delivery_id, status=status, provider=provider, error=error
        )
