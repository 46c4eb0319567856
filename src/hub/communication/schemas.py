"""HTTP bodies of the communication context (camelCase on the wire).

Channel names are values (``in_app``, ``email``, ``chat``) wherever they appear, also as
keys of the ``channels`` maps of templates and preferences.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from msgspec import UNSET, Meta, UnsetType

from hub.communication.domain.preferences import CLOCK_PATTERN
from hub.communication.domain.templates import (
    KEY_PATTERN,
    LOCALE_PATTERN,
    MAX_KEY_LENGTH,
    MAX_VARIABLES,
)
from hub.kernel.pagination import Page
from hub.kernel.structs import PatchSchema, Schema

TemplateKey = Annotated[str, Meta(pattern=KEY_PATTERN, max_length=MAX_KEY_LENGTH)]
Locale = Annotated[str, Meta(pattern=LOCALE_PATTERN, max_length=10)]
Category = Annotated[str, Meta(min_length=1, max_length=64)]
SendableChannel = Literal["in_app", "email"]
Clock = Annotated[str, Meta(pattern=CLOCK_PATTERN)]
#: channel -> locale -> part -> Jinja2 source (names checked by the service: 422 naming
#: the key, since a document cannot restrict the keys of a map)
TemplateChannels = dict[str, dict[str, dict[str, str]]]
#: category -> channel -> on/off (unknown names: 422 naming them)
Switches = dict[str, dict[str, bool]]


# --------------------------------------------------------------------------- sending


class RecipientsIn(Schema):
    user_ids: Annotated[list[uuid.UUID], Meta(max_length=10_000)] = []
    role_ids: Annotated[list[uuid.UUID], Meta(max_length=100)] = []
    permission: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    everyone: bool = False


class SendIn(Schema):
    organisation_id: uuid.UUID
    template_key: TemplateKey
    recipients: RecipientsIn
    payload: dict[str, Any] = {}
    category: Category | None = None
    priority: Literal["normal", "critical"] = "normal"
    #: Default: every sendable channel the template has text for.
    channels: Annotated[list[SendableChannel], Meta(min_length=1, max_length=2)] | None = None

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


class CategoryOut(Schema):
    key: str
    description: str
    defaults: dict[str, bool]


class UserPreferencesOut(Schema):
    locale: str | None
    time_zone: str | None
    quiet_hours: QuietHoursIO | None
    channels: dict[str, dict[str, bool]]
    #: Every category a notification may have, with the platform's defaults.
    categories: list[CategoryOut]


class OrganisationPreferencesIn(Schema):
    default_locale: Locale | None = None
    channels: Switches = {}


class OrganisationPreferencesOut(Schema):
    default_locale: str | None
    channels: dict[str, dict[str, bool]]


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
    """One provider's part in sending an e-mail delivery."""

    #: The SMTP provider (its ``?name=``, else ``host:port``) or ``mailbox``.
    provider: str
    #: sent; refused (answered 4xx/5xx: the next provider was tried); down (no answer:
    #: connection refused, time-out, TLS); skipped (its circuit breaker was open: not
    #: tried); rejected (every recipient refused for good: the delivery failed).
    outcome: Literal["sent", "refused", "down", "skipped", "rejected"]
    error: str | None
    at: datetime


class DeliveryOut(Schema):
    id: uuid.UUID
    notification_id: uuid.UUID
    user_id: uuid.UUID
    channel: str
    #: queued, sent, failed, skipped (preference) or deferred (quiet hours).
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


# --------------------------------------------------------------------------- stream


class StreamTicketOut(Schema):
    #: For ``GET /stream?ticket=``: one connection, within a minute.
    ticket: str
    expires_at: datetime


class StreamEventDoc(Schema):
    """One server-sent event as the document states it (``event`` and ``data`` lines)."""

    event: Literal["ready", "notification"]
    #: JSON text: ``{}`` for ``ready``; the inbox item for ``notification``.
    data: str


# --------------------------------------------------------------------------- webhooks

WebhookUrl = Annotated[str, Meta(min_length=1, max_length=2000)]
#: Each pattern is checked by the service (422 naming ``eventTypes[i]``): constraints on
#: list items do not reach the OpenAPI document.
EventTypePatterns = Annotated[list[str], Meta(min_length=1, max_length=50)]
WebhookDescription = Annotated[str, Meta(max_length=500)]


class WebhookIn(Schema):
    organisation_id: uuid.UUID
    url: WebhookUrl
    #: Patterns: ``content.document.uploaded``, ``content.document.*``, ``*``.
    event_types: EventTypePatterns
    description: WebhookDescription = ""
    enabled: bool = True

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
