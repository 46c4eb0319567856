"""HTTP bodies of the communication context (camelCase on the wire).

Channel names are values (``in_app``, ``email``, ``chat``, ``sms``, ``push``) wherever they appear,
also as keys of the ``channels`` maps of templates and preferences.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from msgspec import UNSET, Meta, UnsetType

from hub.communication.domain.escalation import MAX_ESCALATION_MINUTES
from hub.communication.domain.preferences import CLOCK_PATTERN
from hub.communication.domain.push import MAX_ENDPOINT, MAX_LABEL
from hub.communication.domain.templates import (
    KEY_PATTERN,
    LOCALE_PATTERN,
    MAX_KEY_LENGTH,
    MAX_VARIABLES,
)
from hub.communication.domain.topics import KEY_PATTERN as TOPIC_KEY_PATTERN
from hub.communication.domain.topics import MAX_KEY as TOPIC_MAX_KEY
from hub.communication.domain.topics import MAX_TOPICS_PER_SEND
from hub.kernel.pagination import Page
from hub.kernel.structs import PatchSchema, Schema

TemplateKey = Annotated[str, Meta(pattern=KEY_PATTERN, max_length=MAX_KEY_LENGTH)]
Locale = Annotated[str, Meta(pattern=LOCALE_PATTERN, max_length=10)]
Category = Annotated[str, Meta(min_length=1, max_length=64)]
SendableChannel = Literal["in_app", "email", "chat", "sms", "push"]
Clock = Annotated[str, Meta(pattern=CLOCK_PATTERN)]
#: channel -> locale -> part -> Jinja2 source (names checked by the service: 422 naming
#: the key, since a document cannot restrict the keys of a map)
TemplateChannels = dict[str, dict[str, dict[str, str]]]
#: category -> channel -> on/off (unknown names: 422 naming them)
Switches = dict[str, dict[str, bool]]
#: category -> e-mail digest period (unknown categories: 422 naming them)
Digests = dict[str, Literal["off", "hourly", "daily"]]


# --------------------------------------------------------------------------- sending


TopicKey = Annotated[str, Meta(pattern=TOPIC_KEY_PATTERN, min_length=1, max_length=TOPIC_MAX_KEY)]


class RecipientsIn(Schema):
    user_ids: Annotated[list[uuid.UUID], Meta(max_length=10_000)] = []
    role_ids: Annotated[list[uuid.UUID], Meta(max_length=100)] = []
    permission: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    everyone: bool = False
    #: Keys of the organisation's topics: their subscribers who are members.
    topics: Annotated[list[TopicKey], Meta(max_length=MAX_TOPICS_PER_SEND)] = []


class SendIn(Schema):
    organisation_id: uuid.UUID
    template_key: TemplateKey
    recipients: RecipientsIn
    payload: dict[str, Any] = {}
    category: Category | None = None
    priority: Literal["normal", "critical"] = "normal"
    #: Default: every sendable channel the template has text for.
    channels: Annotated[list[SendableChannel], Meta(min_length=1, max_length=5)] | None = None
    #: In-app first; the e-mail only if the in-app item is still unread this many minutes
    #: later (needs both channels). Reading it in time cancels the e-mail.
    escalate_after_minutes: Annotated[int, Meta(ge=1, le=MAX_ESCALATION_MINUTES)] | None = None
    #: Send it then instead of now (with a time zone; in the future, at most 366 days
    #: ahead). It waits as ``scheduled`` until then and may be cancelled.
    send_at: Annotated[datetime, Meta(tz=True)] | None = None

    example: ClassVar[dict[str, Any]] = {
        "organisationId": "0191e6a8-5a8e-7000-8000-000000000001",
        "templateKey": "general.announcement",
        "recipients": {"everyone": True},
        "payload": {"title": "Office closed on Friday", "text": "Enjoy the long weekend."},
        "priority": "normal",
    }


class SentOut(Schema):
    id: uuid.UUID
    recipient_count: int
    #: When a scheduled notification goes out (absent: it is going out now).
    send_at: datetime | None = None


class ScheduledOut(Schema):
    """A notification waiting for its ``sendAt``."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    sender_id: uuid.UUID | None
    template_key: str
    category: str
    priority: str
    send_at: datetime
    created_at: datetime
    #: Members it goes to (fewer if some leave the organisation before it goes out).
    recipient_count: int


# --------------------------------------------------------------------------- inbox


class InboxItemOut(Schema):
    id: uuid.UUID
    organisation_id: uuid.UUID
    notification_id: uuid.UUID
    category: str
    priority: str
    title: str
    body: str
    action_url: str | None
    created_at: datetime
    read_at: datetime | None
    archived_at: datetime | None
    snoozed_until: datetime | None


InboxPage = Page[InboxItemOut]


class CountOut(Schema):
    count: int


class UpdatedOut(Schema):
    updated: int


class SnoozeIn(Schema):
    until: datetime


# --------------------------------------------------------------------------- preferences


class QuietHoursIO(Schema):
    start: Clock
    end: Clock


class UserPreferencesIn(Schema):
    locale: Locale | None = None
    time_zone: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    quiet_hours: QuietHoursIO | None = None
    #: Overrides: category -> channel -> on/off (absent: the organisation's default).
    channels: Switches = {}
    #: Overrides: category -> e-mail digest "off", "hourly" or "daily" (absent: the
    #: organisation's default, else off).
    digests: Digests = {}


class CategoryOut(Schema):
    key: str
    description: str
    defaults: dict[str, bool]
    #: The display name (a platform category's is its key).
    name: str = ""
    #: Members cannot turn it off.
    mandatory: bool = False
    #: The organisation that defined it (null: a platform category).
    organisation_id: uuid.UUID | None = None


class UserPreferencesOut(Schema):
    locale: str | None
    time_zone: str | None
    quiet_hours: QuietHoursIO | None
    channels: dict[str, dict[str, bool]]
    digests: dict[str, str]
    #: Every category a notification to the caller may have: the platform's, then those
    #: each of the caller's organisations defined, with their defaults.
    categories: list[CategoryOut]


class OrganisationPreferencesIn(Schema):
    default_locale: Locale | None = None
    channels: Switches = {}
    #: Defaults: category -> e-mail digest "off", "hourly" or "daily".
    digests: Digests = {}


class OrganisationPreferencesOut(Schema):
    default_locale: str | None
    channels: dict[str, dict[str, bool]]
    digests: dict[str, str]


# --------------------------------------------------------------------------- templates


_TEMPLATE_EXAMPLE: dict[str, Any] = {
    "category": "general",
    "variables": ["name"],
    "sample": {"name": "Ada"},
    "channels": {
        "in_app": {"en": {"title": "Hello {{ name }}", "body": "Welcome aboard."}},
        "email": {"en": {"subject": "Hello {{ name }}", "text": "Welcome aboard."}},
    },
}
#: Names are checked by the service (422 naming ``variables[i]``): the document cannot
#: state a pattern on the items of a list, and the strict body check would answer 400.
Variables = Annotated[list[str], Meta(max_length=MAX_VARIABLES)]
Description = Annotated[str, Meta(max_length=500)]


class TemplateBody(Schema):
    """A new version of a template (``PUT``)."""

    category: Category
    channels: TemplateChannels
    description: Description = ""
    #: The names the template may use (anything else is refused when saved).
    variables: Variables = []
    #: Values to check and preview the template with (a placeholder for the others).
    sample: dict[str, Any] = {}

    example: ClassVar[dict[str, Any]] = _TEMPLATE_EXAMPLE


class TemplateIn(Schema):
    """A new template (``POST``): a key and its first version."""

    key: TemplateKey
    category: Category
    channels: TemplateChannels
    description: Description = ""
    variables: Variables = []
    sample: dict[str, Any] = {}

    example: ClassVar[dict[str, Any]] = {"key": "team.welcome", **_TEMPLATE_EXAMPLE}


class TemplateOut(Schema):
    key: str
    organisation_id: uuid.UUID
    #: 0: the platform's shipped template; 1, 2…: the organisation's saved versions.
    version: int
    #: "platform" or "organisation".
    source: str
    category: str
    description: str
    variables: list[str]
    sample: dict[str, Any]
    channels: dict[str, dict[str, dict[str, str]]]
    created_at: datetime | None
    created_by: uuid.UUID | None


class TemplateSummaryOut(Schema):
    key: str
    version: int
    source: str
    category: str
    description: str


class TemplateVersionOut(Schema):
    version: int
    created_at: datetime
    created_by: uuid.UUID | None


class PreviewIn(Schema):
    #: Values replacing the sample's (the rest comes from the template's sample).
    payload: dict[str, Any] = {}
    locale: Locale | None = None


class RenderedOut(Schema):
    locale: str
    parts: dict[str, str]


class PreviewOut(Schema):
    channels: dict[str, RenderedOut]


# --------------------------------------------------------------------------- deliveries


class ProviderAttemptOut(Schema):
    """One provider's part in sending an e-mail delivery, or one browser's in a push."""

    #: The SMTP provider (its ``?name=``, else ``host:port``) or ``mailbox``; for push
    #: ``webpush:<push service host>``.
    provider: str
    #: sent; refused (answered 4xx/5xx: the next provider was tried); down (no answer:
    #: connection refused, time-out, TLS; push: also 429 and 5xx, retried); skipped (its
    #: circuit breaker was open: not tried); rejected (every recipient refused for good:
    #: the delivery failed; push: this browser refused the message, 400/401/403/413);
    #: gone (push: the browser's subscription expired, 404/410: forgotten).
    outcome: Literal["sent", "refused", "down", "skipped", "rejected", "gone"]
    error: str | None
    at: datetime


class DeliveryOut(Schema):
    id: uuid.UUID
    notification_id: uuid.UUID
    #: The recipient; null for a post to one of the organisation's chat or SMS channels.
    user_id: uuid.UUID | None
    #: That channel (``/orgs/{orgId}/notification-channels``); null for in-app and e-mail.
    channel_id: uuid.UUID | None
    channel: str
    #: queued, sent, failed, skipped (preference, or read before an escalation), deferred
    #: (quiet hours, or an escalation waiting) or digested (batched into a digest).
    status: str
    #: What delivered it: ``inbox``, the SMTP provider that took the mail, or ``mailbox``.
    provider: str | None
    #: Times the delivery job ran.
    attempts: int
    last_error: str | None
    reason: str | None
    deliver_after: datetime | None
    #: E-mail: every provider tried, oldest first, across the job's runs (the last 50).
    provider_attempts: list[ProviderAttemptOut]
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None


# --------------------------------------------------------------------------- web push


class PushKeysIn(Schema):
    #: The browser's P-256 public key, base64url (``subscription.toJSON().keys.p256dh``).
    p256dh: Annotated[str, Meta(min_length=1, max_length=200)]
    #: The browser's authentication secret, base64url (``keys.auth``).
    auth: Annotated[str, Meta(min_length=1, max_length=100)]


class PushSubscriptionIn(Schema):
    """``PushSubscription.toJSON()`` as the browser gives it, and a name for the device."""

    endpoint: Annotated[str, Meta(min_length=1, max_length=MAX_ENDPOINT)]
    keys: PushKeysIn
    #: What ``toJSON()`` carries (null in every browser today); not used.
    expiration_time: Annotated[int, Meta(ge=0, le=2**53)] | None = None
    label: Annotated[str, Meta(min_length=1, max_length=MAX_LABEL)] | None = None


#: A notification category's key as a device names it: the platform's (``security``,
#: ``workflow.tasks``) or an organisation's (``consultation-alerts``).
PushCategory = Annotated[
    str, Meta(min_length=1, max_length=48, pattern=r"^[a-z][a-z0-9_]*([.-][a-z0-9_]+)*$")
]


class PushSubscriptionPatch(PatchSchema):
    label: Annotated[str, Meta(min_length=1, max_length=MAX_LABEL)] | UnsetType | None = UNSET
    #: The categories this device is woken for; null: every category the person's
    #: preferences push (the default).
    categories: Annotated[list[PushCategory], Meta(max_length=50)] | UnsetType | None = UNSET


class PushSubscriptionOut(Schema):
    """A registered browser: never its endpoint or keys, only its push service's host."""

    id: uuid.UUID
    #: The push service (``fcm.googleapis.com``, ``updates.push.services.mozilla.com``,
    #: ``web.push.apple.com``…).
    host: str
    label: str | None
    #: The categories it is woken for (null: every one the person's preferences push).
    categories: list[str] | None
    created_at: datetime
    last_used_at: datetime
    last_success_at: datetime | None


class PushTestOut(Schema):
    """What the browser's push service answered a test message."""

    #: sent (it will show), gone (the subscription expired: forgotten), rejected (the
    #: push service refuses this sender or message), down (try again later).
    outcome: Literal["sent", "gone", "rejected", "down"]
    #: The push service's answer when it did not take the message.
    error: str | None


class PushKeyOut(Schema):
    #: The hub's VAPID public key (base64url, uncompressed P-256 point): the
    #: ``applicationServerKey`` of ``pushManager.subscribe``.
    public_key: str


# --------------------------------------------------------------------------- stream


class StreamTicketOut(Schema):
    #: For ``GET /stream?ticket=``: one connection, within a minute.
    ticket: str
    expires_at: datetime


class StreamEventDoc(Schema):
    """One server-sent event as the document states it (``event`` and ``data`` lines)."""

    event: Literal[
        "ready",
        "notification.created",
        "notification.updated",
        "unread.count",
        "reset",
        "message.created",
        "message.updated",
        "conversation.read",
    ]
    #: JSON text, ``unreadCount`` (the inbox's unread notifications) first in every event but
    #: ``reset``: ``{"unreadCount": n, "item": {…inbox item…}}`` for ``notification.*``,
    #: ``{"unreadCount": n, "cause": …}`` for ``unread.count``, ``{"unreadCount": n}`` for
    #: ``ready``, ``{"reason": …}`` for ``reset``; ``{unreadCount, conversationId,
    #: organisationId, message}`` for ``message.*``; ``{unreadCount, conversationId,
    #: organisationId, userId, lastReadSeq, lastReadMessageId}`` (and
    #: ``conversationUnreadCount`` in the reader's own) for ``conversation.read``.
    data: str
    #: The event's stream id (absent on ``reset``): send the last one as ``Last-Event-ID``.
    id: str | None = None


# --------------------------------------------------------------------------- channels

ChannelKind = Literal["chat", "sms"]
ChannelName = Annotated[str, Meta(min_length=1, max_length=100)]
#: An Apprise URL: write-only (never in a response).
ChannelUrl = Annotated[str, Meta(min_length=1, max_length=2000)]
#: Each item is checked by the service (a known category, else 422 naming
#: ``categories[i]``): constraints on list items do not reach the OpenAPI document.
ChannelCategories = Annotated[list[str], Meta(max_length=50)]
TimeZone = Annotated[str, Meta(min_length=1, max_length=64)]


class NotificationChannelIn(Schema):
    kind: ChannelKind
    name: ChannelName
    url: ChannelUrl
    enabled: bool = True
    #: The categories it posts (empty: every category).
    categories: ChannelCategories = []
    #: The channel's own quiet hours (non-critical posts wait until they end).
    quiet_hours: QuietHoursIO | None = None
    time_zone: TimeZone | None = None

    example: ClassVar[dict[str, Any]] = {
        "kind": "chat",
        "name": "#announcements",
        "url": "slack://T01ABCDEF/B02GHIJKL/xoxbSecretTokenValue/#announcements",
        "categories": ["general"],
    }


class NotificationChannelPatch(PatchSchema):
    kind: ChannelKind | UnsetType = UNSET
    name: ChannelName | UnsetType = UNSET
    #: A new URL replaces the sealed one (checked like a new channel's).
    url: ChannelUrl | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    categories: ChannelCategories | UnsetType = UNSET
    quiet_hours: QuietHoursIO | UnsetType | None = UNSET
    time_zone: TimeZone | UnsetType | None = UNSET


class NotificationChannelOut(Schema):
    """A channel as the API shows it: never its URL, only what identifies the target."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    kind: str
    name: str
    #: The URL's scheme (``slack``, ``json`` …) and Apprise's name of the service.
    scheme: str
    service: str
    #: For services at an address of the organisation's choosing: the host, masked
    #: (``*.example.com``); null for services at a fixed address (Slack, Telegram …).
    host: str | None
    enabled: bool
    categories: list[str]
    quiet_hours: QuietHoursIO | None
    time_zone: str | None
    created_at: datetime
    updated_at: datetime


# --------------------------------------------------------------------------- conversations
# Lengths (body, title), NUL characters and the number of attachments are checked by the
# service (422 naming the field) so the answer says which rule was broken.


class ConversationIn(Schema):
    organisation_id: uuid.UUID
    #: The other people (you are always in it); ids must be active members.
    participant_ids: Annotated[list[uuid.UUID], Meta(min_length=1, max_length=300)]
    title: Annotated[str, Meta(max_length=1000)] | None = None
    #: Default: ``direct`` for one other person and no title, ``group`` otherwise.
    kind: Literal["direct", "group"] | None = None

    example: ClassVar[dict[str, Any]] = {
        "organisationId": "0191e6a8-5a8e-7000-8000-000000000001",
        "participantIds": ["0191e6a8-5a8e-7000-8000-000000000002"],
    }


class ConversationPatch(Schema):
    #: The group's new title; null removes it.
    title: Annotated[str, Meta(max_length=1000)] | None

    example: ClassVar[dict[str, Any]] = {"title": "Release team"}


class AttachmentOut(Schema):
    document_id: uuid.UUID
    #: False when the reader may not read the document (or it is gone): then only its id.
    available: bool
    title: str | None
    file_name: str | None
    media_type: str | None
    size: int | None


class ReactionOut(Schema):
    #: What the frontend draws as an emoji (``thumbsup``, ``+1``).
    name: str
    #: How many people reacted so.
    count: int
    #: Whether the caller is one of them.
    mine: bool


class MessageOut(Schema):
    id: uuid.UUID
    conversation_id: uuid.UUID
    #: 1, 2, 3… within the conversation, in the order messages were sent.
    seq: int
    sender_id: uuid.UUID
    #: Plain text as sent (show it as text, never as markup); empty once deleted.
    body: str
    attachments: list[AttachmentOut]
    created_at: datetime
    edited_at: datetime | None
    #: A tombstone: the message was deleted by its sender.
    deleted: bool
    deleted_at: datetime | None
    #: The message of this conversation it replies to (null: none).
    reply_to_id: uuid.UUID | None = None
    #: Reactions by name, in the order each first came (none on a deleted message).
    reactions: list[ReactionOut] = []
    #: The thread it was posted in (its root message); null: the main timeline.
    thread_id: uuid.UUID | None = None
    #: On a thread's root: the replies posted in it, and when the last one came.
    thread_reply_count: int = 0
    thread_last_reply_at: datetime | None = None
    #: On a thread's root, in pages: the caller's unread replies in it (after their read
    #: pointer, sent by others, not deleted), part of the conversation's ``unreadCount``.
    thread_unread_count: int = 0
    #: Pinned to the conversation: when, and by whom (null: not pinned).
    pinned_at: datetime | None = None
    pinned_by: uuid.UUID | None = None


class ParticipantOut(Schema):
    user_id: uuid.UUID
    display_name: str | None
    role: Literal["admin", "member"]
    joined_at: datetime
    last_read_seq: int
    last_read_message_id: uuid.UUID | None


class ConversationOut(Schema):
    id: uuid.UUID
    organisation_id: uuid.UUID
    kind: Literal["direct", "group"]
    title: str | None
    created_by: uuid.UUID
    created_at: datetime
    last_activity_at: datetime
    #: The ``seq`` of the newest message (0: none yet).
    last_seq: int
    participants: list[ParticipantOut]
    #: The caller's unread messages here (from others, not deleted).
    unread_count: int
    last_message: MessageOut | None
    #: Whether the caller muted it (no unread notice, not in their unread total).
    muted: bool = False
    #: When the caller's mute ends (null while muted until they unmute it).
    muted_until: datetime | None = None


class MuteIn(Schema):
    #: When the mute ends (with a time zone, in the future); absent: until unmuted.
    until: Annotated[datetime, Meta(tz=True)] | None = None

    example: ClassVar[dict[str, Any]] = {"until": "2027-01-04T09:00:00Z"}


class MessageIn(Schema):
    body: Annotated[str, Meta(max_length=20_000)] = ""
    #: Document ids the sender may read, of the conversation's organisation.
    attachments: Annotated[list[uuid.UUID], Meta(max_length=50)] = []
    #: Reply to this message of the conversation (not a deleted one).
    reply_to_id: uuid.UUID | None = None
    #: Post in the thread of this top-level message of the conversation (not a deleted
    #: one); absent: the main timeline.
    thread_id: uuid.UUID | None = None

    example: ClassVar[dict[str, Any]] = {"body": "See the attached report."}


class MessagePatch(Schema):
    body: Annotated[str, Meta(max_length=20_000)]


class ReadIn(Schema):
    #: Read up to this message; default: the newest.
    message_id: uuid.UUID | None = None


class ReadStateOut(Schema):
    conversation_id: uuid.UUID
    user_id: uuid.UUID
    last_read_seq: int
    last_read_message_id: uuid.UUID | None
    unread_count: int


class ParticipantsIn(Schema):
    user_ids: Annotated[list[uuid.UUID], Meta(min_length=1, max_length=300)]
    role: Literal["admin", "member"] = "member"


# --------------------------------------------------------------------------- webhooks

WebhookUrl = Annotated[str, Meta(min_length=1, max_length=2000)]
#: Each pattern is checked by the service (422 naming ``eventTypes[i]``): constraints on
#: list items do not reach the OpenAPI document.
EventTypePatterns = Annotated[list[str], Meta(min_length=1, max_length=50)]
WebhookDescription = Annotated[str, Meta(max_length=500)]
#: Custom headers sent with every delivery, name → value (checked by the service: 422
#: naming ``headers.<name>``). Values are write-only: answers list the names.
WebhookHeaders = Annotated[dict[str, str], Meta(max_length=20)]


class WebhookIn(Schema):
    organisation_id: uuid.UUID
    url: WebhookUrl
    #: Patterns: ``content.document.uploaded``, ``content.document.*``, ``*``.
    event_types: EventTypePatterns
    description: WebhookDescription = ""
    enabled: bool = True
    headers: WebhookHeaders = {}

    example: ClassVar[dict[str, Any]] = {
        "organisationId": "0191e6a8-5a8e-7000-8000-000000000001",
        "url": "https://hooks.example.com/hub",
        "eventTypes": ["content.document.*"],
        "description": "Document sync",
    }


class WebhookPatch(PatchSchema):
    example: ClassVar[dict[str, Any]] = {"enabled": True}

    url: WebhookUrl | UnsetType = UNSET
    event_types: EventTypePatterns | UnsetType = UNSET
    description: WebhookDescription | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    #: Replaces every custom header ({} removes them).
    headers: WebhookHeaders | UnsetType = UNSET


class WebhookOut(Schema):
    id: uuid.UUID
    organisation_id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    #: ``gone`` (the receiver answered 410) or ``failing`` (no success for 5 days) when the
    #: hub disabled it.
    disabled_reason: str | None
    #: The first failure since the last successful delivery.
    failing_since: datetime | None
    #: While a rotated-out secret still signs beside the current one: until when.
    previous_secret_expires_at: datetime | None
    #: The names of the custom headers sent with every delivery (their values are never
    #: shown again).
    header_names: list[str]
    created_at: datetime
    updated_at: datetime


class WebhookCreatedOut(WebhookOut):
    #: ``whsec_…``: shown this once, never again.
    secret: str


class WebhookSecretOut(Schema):
    #: The new ``whsec_…`` secret, shown this once.
    secret: str
    #: Until then deliveries carry a signature with the previous secret too.
    previous_secret_expires_at: datetime


class WebhookDeliveryOut(Schema):
    id: uuid.UUID
    #: The ``webhook-id`` header: the same on every attempt and manual retry.
    webhook_id: str
    endpoint_id: uuid.UUID
    event_id: uuid.UUID | None
    event_type: str
    status: Literal["pending", "succeeded", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    response_status: int | None
    #: The first 2 KiB of the receiver's answer.
    response_body: str | None
    duration_ms: int | None
    last_error: str | None
    created_at: datetime


class EventTypesOut(Schema):
    items: list[str]
