"""Public interface of the communication context.

Everything another context may use of communication lives here: the synchronous ``Protocol``,
the msgspec DTOs it returns and the integration events communication publishes. Framework-free
(import-linter forbids SQLAlchemy, Litestar, dramatiq and Redis here), so a split-out
communication service can ship this module unchanged as its client contract.

Another context sends a notification with :meth:`CommunicationApi.notify` (in process) or
simply publishes its own event and lets communication's handlers turn it into one (how
``content.document.shared`` becomes a ``document.shared`` notification).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal, Protocol

from hub.kernel.events import IntegrationEvent

#: Channels a notification may go out on. ``chat`` and ``sms`` post to the organisation's
#: own channels (Apprise URLs), once per notification, with the template's chat text.
Channel = Literal["in_app", "email", "chat", "sms"]
CHANNELS: tuple[str, ...] = ("in_app", "email", "chat", "sms")
#: ``critical`` bypasses preferences and quiet hours (and says so in an event).
Priority = Literal["normal", "critical"]

#: Categories the platform declares (a context adds its own to ``domain.categories``).
CATEGORY_SECURITY = "security"
CATEGORY_DOCUMENTS = "documents"
CATEGORY_WORKFLOW_TASKS = "workflow.tasks"
CATEGORY_MESSAGES = "messages"
CATEGORY_GENERAL = "general"


class CommunicationApi(Protocol):
    async def notify(
        self,
        *,
        organisation_id: uuid.UUID,
        template_key: str,
        user_ids: Sequence[uuid.UUID],
        payload: Mapping[str, Any],
        category: str | None = None,
        priority: Priority = "normal",
        channels: Sequence[Channel] | None = None,
        sender_id: uuid.UUID | None = None,
        escalate_after_minutes: int | None = None,
    ) -> uuid.UUID:
        """Send a notification to members of the organisation (ids that are not active
        members are dropped) and return its id; delivery runs in jobs. Raises the same
        problems as ``POST /notifications`` for an unknown template, category or an
        incomplete payload. ``escalate_after_minutes`` (with in-app and e-mail): the
        e-mail only if the in-app item is still unread that long after."""
        ...


# --------------------------------------------------------------------------- events


class NotificationEvent(IntegrationEvent, kw_only=True, frozen=True):
    aggregate_field: ClassVar[str | None] = "notification_id"
    notification_id: uuid.UUID


class NotificationRequested(NotificationEvent, kw_only=True, frozen=True):
    """A notification was accepted; its fan-out to ``recipient_count`` members follows."""

    event_type: ClassVar[str] = "communication.notification.requested"
    template_key: str
    category: str
    priority: str
    recipient_count: int


class PreferencesBypassed(NotificationEvent, kw_only=True, frozen=True):
    """A ``critical`` notification went out on channels the recipients (or their
    organisation) had turned off, or during their quiet hours: the record of it."""

    event_type: ClassVar[str] = "communication.notification.preferences_bypassed"
    category: str
    #: The members whose preferences or quiet hours were overridden, by channel.
    bypassed: dict[str, list[uuid.UUID]]
    #: The organisation's chat or SMS channels posted to although the organisation's
    #: default was off or the channel was in its quiet hours, by kind (``chat``, ``sms``).
    bypassed_channels: dict[str, list[uuid.UUID]] = {}


class TemplateSaved(IntegrationEvent, kw_only=True, frozen=True):
    """An organisation saved a new version of a notification template."""

    event_type: ClassVar[str] = "communication.template.saved"
    aggregate_field: ClassVar[str | None] = "organisation_id"
    key: str
    version: int


class NotificationChannelEvent(IntegrationEvent, kw_only=True, frozen=True):
    """An organisation's chat or SMS channel changed (for the audit trail). Never carries
    the channel's URL: only its kind, scheme and whether the URL was set anew."""

    aggregate_field: ClassVar[str | None] = "channel_id"
    channel_id: uuid.UUID
    kind: str
    scheme: str


class NotificationChannelCreated(NotificationChannelEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "communication.channel.created"


class NotificationChannelUpdated(NotificationChannelEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "communication.channel.updated"
    url_changed: bool
    enabled: bool


class NotificationChannelDeleted(NotificationChannelEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "communication.channel.deleted"


class WebhookEvent(IntegrationEvent, kw_only=True, frozen=True):
    """Something happened to an outbound webhook endpoint (its URL is never in the event:
    a URL may carry a token)."""

    aggregate_field: ClassVar[str | None] = "webhook_id"
    webhook_id: uuid.UUID


class WebhookCreated(WebhookEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "communication.webhook.created"
    event_types: list[str]


class WebhookUpdated(WebhookEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "communication.webhook.updated"
    #: The fields that changed (``url``, ``eventTypes``, ``description``, ``enabled``).
    changed: list[str]


class WebhookDeleted(WebhookEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "communication.webhook.deleted"


class WebhookSecretRotated(WebhookEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "communication.webhook.secret_rotated"


class WebhookDisabled(WebhookEvent, kw_only=True, frozen=True):
    """The hub disabled an endpoint: ``gone`` (it answered 410) or ``failing`` (no
    successful delivery for five days)."""

    event_type: ClassVar[str] = "communication.webhook.disabled"
    reason: str
