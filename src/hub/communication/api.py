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
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol

import msgspec

from hub.identity.api import SettingChange
from hub.kernel.contract import idempotent
from hub.kernel.events import IntegrationEvent

#: Channels a notification may go out on. ``chat`` and ``sms`` post to the organisation's
#: own channels (Apprise URLs), once per notification, with the template's chat text;
#: ``push`` wakes each recipient's registered browsers (Web Push) with the in-app text.
Channel = Literal["in_app", "email", "chat", "sms", "push"]
CHANNELS: tuple[str, ...] = ("in_app", "email", "chat", "sms", "push")
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
        topics: Sequence[str] | None = None,
    ) -> uuid.UUID:
        """Send a notification to members of the organisation (ids that are not active
        members are dropped) and return its id; delivery runs in jobs. Raises the same
        problems as ``POST /notifications`` for an unknown template, category or an
        incomplete payload. ``escalate_after_minutes`` (with in-app and e-mail): the
        e-mail only if the in-app item is still unread that long after. ``topics``: the
        subscribers of these topic keys who are members, each once; unlike the HTTP send,
        a key the organisation no longer has reaches nobody instead of refusing the whole
        send (the caller checked it when its own configuration was saved, and the topic
        may have been deleted since — the other recipients are still told)."""
        ...

    @idempotent
    async def topic_keys(self, organisation_id: uuid.UUID) -> list[str]:
        """The keys of the organisation's topics, sorted: what a configuration that
        names topics (a workflow's ``notify``) is checked against when it is saved."""
        ...


# --------------------------------------------------------------------------- configuration


class TemplateSetting(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="camel"
):
    """A notification template as configuration, known by its key: ``channels`` holds per
    channel and locale the template's parts (``{"email": {"fr": {"subject": …}}}``)."""

    key: str
    category: str
    description: str = ""
    variables: tuple[str, ...] = ()
    sample: dict[str, Any] = msgspec.field(default_factory=dict)
    channels: dict[str, dict[str, dict[str, str]]]


class NotificationDefaults(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="camel"
):
    """An organisation's defaults: its locale, and per category the channels on or off
    (and digest periods) unless a member says otherwise."""

    default_locale: str | None = None
    channels: dict[str, dict[str, bool]] = msgspec.field(default_factory=dict)
    digests: dict[str, str] = msgspec.field(default_factory=dict)


class CategorySetting(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="camel"
):
    """A notification category the organisation defines (``consultation-alerts``), known
    by its key: ``defaults`` channel -> on/off (a channel left out: off); a ``mandatory``
    category ignores members' opt-outs."""

    key: str
    name: str
    description: str = ""
    defaults: dict[str, bool] = msgspec.field(default_factory=dict)
    mandatory: bool = False


class TopicSetting(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="camel"
):
    """A notification topic the organisation defines (``on-call``), known by its key.
    Configuration defines the topic only: members still join and leave it themselves."""

    key: str
    name: str
    description: str = ""


class MessagingRuleSetting(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="camel"
):
    """Holders of ``role`` may message only holders of one of ``may_message``."""

    role: str
    may_message: tuple[str, ...]


class MessagingSetting(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="camel"
):
    """An organisation's messaging policy by role (no rule: anyone messages anyone)."""

    rules: tuple[MessagingRuleSetting, ...] = ()


class CommunicationConfigApi(Protocol):
    """An organisation's notification templates and default preferences as configuration
    (domain packs, export/import), through the same checks as the HTTP routes. A template
    whose content differs becomes a new version; an identical one changes nothing."""

    @idempotent
    async def template_problems(
        self, template: TemplateSetting, path: str, categories: tuple[str, ...] = ()
    ) -> list[tuple[str, str]]:
        """Why the template could not be saved (unsafe, undeclared names, a part that does
        not render with the sample…), as ``(path, message)``; empty when it can.
        ``categories``: organisation-defined category keys it may use beside the
        platform's (those the same configuration defines)."""
        ...

    @idempotent
    async def defaults_problems(
        self, defaults: NotificationDefaults, path: str, categories: tuple[str, ...] = ()
    ) -> list[tuple[str, str]]: ...

    @idempotent
    async def category_problems(
        self, category: CategorySetting, path: str
    ) -> list[tuple[str, str]]:
        """Why the organisation category could not be defined, as ``(path, message)``."""
        ...

    @idempotent
    async def organisation_categories(self, organisation_id: uuid.UUID) -> list[CategorySetting]:
        """The organisation's own notification categories, by key."""
        ...

    async def put_category(
        self, organisation_id: uuid.UUID, category: CategorySetting, *, actor_id: uuid.UUID
    ) -> SettingChange:
        """Define the category or update its name, description, defaults and mandatory
        flag (matched by key; nothing is deleted)."""
        ...

    @idempotent
    async def topic_problems(self, topic: TopicSetting, path: str) -> list[tuple[str, str]]:
        """Why the topic could not be defined, as ``(path, message)``."""
        ...

    @idempotent
    async def organisation_topics(self, organisation_id: uuid.UUID) -> list[TopicSetting]: ...

    async def put_topic(
        self, organisation_id: uuid.UUID, topic: TopicSetting, *, actor_id: uuid.UUID
    ) -> SettingChange:
        """Define the topic, or rename or re-describe it; its subscribers stay. A topic
        the configuration leaves out is kept (members may be subscribed to it)."""
        ...

    @idempotent
    async def messaging_problems(
        self, policy: MessagingSetting, path: str, roles: tuple[str, ...]
    ) -> list[tuple[str, str]]:
        """Why the messaging policy could not be set, with ``roles`` the role names the
        organisation will have."""
        ...

    @idempotent
    async def messaging_policy(self, organisation_id: uuid.UUID) -> MessagingSetting: ...

    async def put_messaging_policy(
        self, organisation_id: uuid.UUID, policy: MessagingSetting, *, actor_id: uuid.UUID
    ) -> SettingChange:
        """Replace the organisation's messaging rules (the same rules: unchanged)."""
        ...

    @idempotent
    async def organisation_templates(self, organisation_id: uuid.UUID) -> list[TemplateSetting]:
        """The current version of each of the organisation's own templates, by key."""
        ...

    async def put_template(
        self, organisation_id: uuid.UUID, template: TemplateSetting, *, actor_id: uuid.UUID
    ) -> SettingChange: ...

    @idempotent
    async def notification_defaults(self, organisation_id: uuid.UUID) -> NotificationDefaults: ...

    async def put_notification_defaults(
        self, organisation_id: uuid.UUID, defaults: NotificationDefaults, *, actor_id: uuid.UUID
    ) -> SettingChange: ...


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


class NotificationScheduled(NotificationEvent, kw_only=True, frozen=True):
    """A notification was accepted to go out at ``send_at``; ``NotificationRequested``
    follows then (recipients who left the organisation meanwhile dropped)."""

    event_type: ClassVar[str] = "communication.notification.scheduled"
    template_key: str
    category: str
    priority: str
    recipient_count: int
    send_at: datetime


class NotificationCancelled(NotificationEvent, kw_only=True, frozen=True):
    """A scheduled notification was called off before it went out."""

    event_type: ClassVar[str] = "communication.notification.cancelled"


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


class CategoryEvent(IntegrationEvent, kw_only=True, frozen=True):
    """An organisation's own notification category was defined, changed or removed."""

    aggregate_field: ClassVar[str | None] = "category_id"
    category_id: uuid.UUID
    key: str


class CategoryCreated(CategoryEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "communication.category.created"


class CategoryUpdated(CategoryEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "communication.category.updated"
    #: The fields that changed (``name``, ``description``, ``defaults``, ``mandatory``).
    changed: list[str]


class CategoryDeleted(CategoryEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "communication.category.deleted"


class TopicEvent(IntegrationEvent, kw_only=True, frozen=True):
    """An organisation's topic (a named group notifications can be sent to) changed."""

    aggregate_field: ClassVar[str | None] = "topic_id"
    topic_id: uuid.UUID
    key: str


class TopicCreated(TopicEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "communication.topic.created"


class TopicUpdated(TopicEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "communication.topic.updated"
    #: The fields that changed (``name``, ``description``).
    changed: list[str]


class TopicDeleted(TopicEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "communication.topic.deleted"


class TopicSubscribed(TopicEvent, kw_only=True, frozen=True):
    """``user_id`` joined the topic (``actor_id``: themselves or a manager)."""

    event_type: ClassVar[str] = "communication.topic.subscribed"
    user_id: uuid.UUID


class TopicUnsubscribed(TopicEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "communication.topic.unsubscribed"
    user_id: uuid.UUID


class MessagingPolicyChanged(IntegrationEvent, kw_only=True, frozen=True):
    """An organisation replaced its messaging rules (who may message whom, by role)."""

    event_type: ClassVar[str] = "communication.messaging_policy.changed"
    aggregate_field: ClassVar[str | None] = "organisation_id"
    #: role -> the roles its holders may message.
    rules: dict[str, list[str]]


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
