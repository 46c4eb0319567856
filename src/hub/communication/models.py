"""Tables of the communication context, all in the ``communication`` PostgreSQL schema.

* ``templates``: organisations' template versions (the platform's live in code); the
  highest version of a key is the current one, older rows are its history.
* ``organisation_categories``: notification categories an organisation defines (beside
  the platform's, ``domain.categories``).
* ``messaging_rules``: an organisation's policy of who may message whom, by role.
* ``organisation_settings`` / ``user_settings``: default channels per category and
  locale of an organisation; a user's overrides, locale, time zone and quiet hours.
* ``notifications``: one per send, with its resolved recipients (fan-out reads them in
  batches).
* ``inbox_items``: the in-app inbox, one row per notification and recipient. The unread
  count is ``COUNT(*)`` over the partial index ``ix_inbox_unread`` (rows neither read nor
  archived), so it is exact by construction: no counter to drift.
* ``deliveries``: the log, one row per notification, recipient and channel.
* ``notification_channels``: organisations' chat and SMS targets (Apprise URLs, sealed).
* ``push_subscriptions`` / ``push_receipts`` / ``vapid_keys``: browsers' Web Push
  subscriptions (sealed), which of them a push delivery reached, the hub's VAPID key.
* ``share_notices``: who was already told a document was shared with them (a sharing
  event lists every share, not only the new ones).
* ``digest_items`` / ``digests``: e-mails batched into one per user, organisation,
  category and window (``services.digests``); the digest is unique per window, so a
  re-run or a second worker cannot send it twice.
* ``webhook_endpoints`` / ``webhook_deliveries``: outbound webhooks (secrets sealed) and
  one row per message and endpoint with its latest attempt; pending ones are due at
  ``next_attempt_at`` (``services.webhook_delivery``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub.kernel.outbox import inbox_table, outbox_table
from hub.kernel.schema import IdMixin, context_metadata, owned_by, utcnow


class Base(DeclarativeBase):
    metadata = context_metadata("communication")


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)


def _uuid(*, nullable: bool = False) -> Any:
    return mapped_column(UUID(as_uuid=True), nullable=nullable)


def _ts(*, nullable: bool = True) -> Any:
    if nullable:
        return mapped_column(DateTime(timezone=True), nullable=True)
    return mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


def _json(default: str) -> Any:
    return mapped_column(JSONB, nullable=False, server_default=text(f"'{default}'::jsonb"))


class Template(IdMixin, Base):
    """One saved version of an organisation's template (every save is a new row)."""

    __tablename__ = "templates"

    organisation_id: Mapped[uuid.UUID] = _uuid()
    key: Mapped[str] = mapped_column(Text, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    category: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("''"))
    variables: Mapped[list[str]] = _json("[]")
    sample: Mapped[dict[str, Any]] = _json("{}")
    #: channel -> locale -> part -> source
    channels: Mapped[dict[str, Any]] = _json("{}")
    created_at: Mapped[datetime] = _ts(nullable=False)
    created_by: Mapped[uuid.UUID | None] = _uuid(nullable=True)

    __table_args__ = (UniqueConstraint("organisation_id", "key", "version"),)


class OrganisationSettings(Base):
    __tablename__ = "organisation_settings"

    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    default_locale: Mapped[str | None] = mapped_column(Text)
    #: category -> channel -> on/off
    channels: Mapped[dict[str, Any]] = _json("{}")
    updated_at: Mapped[datetime] = _ts(nullable=False)
    #: category -> "off" | "hourly" | "daily" (e-mail batching)
    digests: Mapped[dict[str, Any]] = _json("{}")


class OrganisationCategory(IdMixin, Base):
    """A notification category an organisation defines for itself (``consultation-alerts``):
    used by its templates, notify actions and members' preferences like the platform's
    (``domain.categories``); ``mandatory`` ones ignore members' opt-outs."""

    __tablename__ = "organisation_categories"

    organisation_id: Mapped[uuid.UUID] = _uuid()
    key: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("''"))
    #: channel -> on/off (a channel left out: off)
    defaults: Mapped[dict[str, Any]] = _json("{}")
    mandatory: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    created_at: Mapped[datetime] = _ts(nullable=False)
    updated_at: Mapped[datetime] = _ts(nullable=False)

    __table_args__ = (UniqueConstraint("organisation_id", "key"),)


class Topic(IdMixin, Base):
    """A named group of members notifications can be sent to (``domain.topics``)."""

    __tablename__ = "topics"

    organisation_id: Mapped[uuid.UUID] = _uuid()
    key: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("''"))
    created_at: Mapped[datetime] = _ts(nullable=False)
    updated_at: Mapped[datetime] = _ts(nullable=False)

    __table_args__ = (UniqueConstraint("organisation_id", "key"),)


class TopicSubscription(Base):
    """A member subscribed to a topic (whether they still are a member is asked when a
    notification goes out)."""

    __tablename__ = "topic_subscriptions"

    topic_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("communication.topics.id", ondelete="CASCADE")
    )
    organisation_id: Mapped[uuid.UUID] = _uuid()
    user_id: Mapped[uuid.UUID] = _uuid()
    #: Who subscribed them (themselves, or a manager).
    added_by: Mapped[uuid.UUID] = _uuid()
    created_at: Mapped[datetime] = _ts(nullable=False)

    __table_args__ = (
        PrimaryKeyConstraint("topic_id", "user_id"),
        Index("ix_topic_subscriptions_user", "user_id"),
    )


class MessagingRule(Base):
    """One rule of an organisation's messaging policy (``domain.messaging``): holders of
    ``role`` (a role name as ``role_key`` gives it) may message only holders of
    ``may_message``."""

    __tablename__ = "messaging_rules"

    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    role: Mapped[str] = mapped_column(Text, primary_key=True)
    may_message: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    updated_at: Mapped[datetime] = _ts(nullable=False)


class UserSettings(Base):
    __tablename__ = "user_settings"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    locale: Mapped[str | None] = mapped_column(Text)
    time_zone: Mapped[str | None] = mapped_column(Text)
    #: ``HH:MM`` both, or both null.
    quiet_start: Mapped[str | None] = mapped_column(Text)
    quiet_end: Mapped[str | None] = mapped_column(Text)
    channels: Mapped[dict[str, Any]] = _json("{}")
    updated_at: Mapped[datetime] = _ts(nullable=False)
    digests: Mapped[dict[str, Any]] = _json("{}")


class Notification(IdMixin, Base):
    __tablename__ = "notifications"

    organisation_id: Mapped[uuid.UUID] = _uuid()
    sender_id: Mapped[uuid.UUID | None] = _uuid(nullable=True)
    template_key: Mapped[str] = mapped_column(Text, nullable=False)
    #: The organisation's template version used (0: the platform's).
    template_version: Mapped[int] = mapped_column(Integer, nullable=False)
    category: Mapped[str] = mapped_column(Text, nullable=False)
    priority: Mapped[str] = mapped_column(Text, nullable=False)
    channels: Mapped[list[str]] = _json("[]")
    payload: Mapped[dict[str, Any]] = _json("{}")
    recipient_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(UUID(as_uuid=True)), nullable=False
    )
    created_at: Mapped[datetime] = _ts(nullable=False)
    #: E-mail only when the in-app item is still unread this long after sending.
    escalate_after_minutes: Mapped[int | None] = mapped_column(Integer)
    #: ``sent`` (fanned out, or being), ``scheduled`` (waits for ``send_at``; its
    #: ``created_at`` becomes the time it goes out) or ``cancelled`` (never went out).
    state: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'sent'"))
    #: When a scheduled notification goes out (null: it went out when asked).
    send_at: Mapped[datetime | None] = _ts()

    __table_args__ = (
        CheckConstraint("priority IN ('normal', 'critical')", name="priority"),
        CheckConstraint("state IN ('sent', 'scheduled', 'cancelled')", name="state"),
        Index("ix_notifications_org", "organisation_id", "id"),
        #: The scheduled ones, by when they are due (the minute job; an organisation's list).
        Index(
            "ix_notifications_scheduled",
            "send_at",
            postgresql_where=text("state = 'scheduled'"),
        ),
    )


class InboxItem(IdMixin, Base):
    __tablename__ = "inbox_items"

    notification_id: Mapped[uuid.UUID] = _uuid()
    user_id: Mapped[uuid.UUID] = _uuid()
    organisation_id: Mapped[uuid.UUID] = _uuid()
    category: Mapped[str] = mapped_column(Text, nullable=False)
    priority: Mapped[str] = mapped_column(Text, nullable=False)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("''"))
    action_url: Mapped[str | None] = mapped_column(Text)
    #: When the notification was sent (not when this batch was fanned out).
    created_at: Mapped[datetime] = _ts(nullable=False)
    read_at: Mapped[datetime | None] = _ts()
    archived_at: Mapped[datetime | None] = _ts()
    #: Hidden from the unread count until then, unread again after.
    snoozed_until: Mapped[datetime | None] = _ts()

    __table_args__ = (
        UniqueConstraint("notification_id", "user_id"),
        #: The inbox list: the user's items by the time their notification was sent.
        Index("ix_inbox_user", "user_id", "created_at", "id"),
        Index(
            "ix_inbox_unread",
            "user_id",
            "snoozed_until",
            postgresql_where=text("read_at IS NULL AND archived_at IS NULL"),
        ),
        #: Snoozes still to end (the job clears them as they do, so it stays small).
        Index(
            "ix_inbox_snoozed",
            "snoozed_until",
            postgresql_where=text("snoozed_until IS NOT NULL"),
        ),
    )


class Delivery(IdMixin, Base):
    __tablename__ = "deliveries"

    notification_id: Mapped[uuid.UUID] = _uuid()
    organisation_id: Mapped[uuid.UUID] = _uuid()
    #: The recipient; None for a post to an organisation's chat or SMS channel.
    user_id: Mapped[uuid.UUID | None] = _uuid(nullable=True)
    #: The organisation's chat or SMS channel posted to (None for in-app and e-mail).
    channel_id: Mapped[uuid.UUID | None] = _uuid(nullable=True)
    channel: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    #: "inbox", the SMTP provider that took the mail (its ``?name=``, else ``host:port``),
    #: "mailbox" (the development mailbox) or "apprise:<scheme>" for chat and SMS; None
    #: until tried.
    provider: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    #: Each provider tried, oldest first (``hub.kernel.mail.MailAttempt``: provider,
    #: outcome, error, at; for push ``services.push_delivery.PushAttempt``, a line per
    #: browser), the last ``services.deliveries.MAX_PROVIDER_ATTEMPTS`` kept.
    provider_attempts: Mapped[list[Any]] = _json("[]")
    last_error: Mapped[str | None] = mapped_column(Text)
    #: Why it was skipped or deferred, or that a critical notice overrode a preference.
    reason: Mapped[str | None] = mapped_column(Text)
    deliver_after: Mapped[datetime | None] = _ts()
    created_at: Mapped[datetime] = _ts(nullable=False)
    updated_at: Mapped[datetime] = _ts(nullable=False)
    sent_at: Mapped[datetime | None] = _ts()
    #: An escalation: deferred to ``deliver_after``, then sent only if still unread.
    if_unread: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))

    __table_args__ = (
        UniqueConstraint("notification_id", "user_id", "channel"),
        #: One post per notification and organisation channel (a redelivered batch).
        Index(
            "uq_deliveries_notification_channel",
            "notification_id",
            "channel_id",
            unique=True,
            postgresql_where=text("channel_id IS NOT NULL"),
        ),
        CheckConstraint(
            "status IN ('queued', 'sent', 'failed', 'skipped', 'deferred', 'digested')",
            name="status",
        ),
        Index("ix_deliveries_org", "organisation_id", "id"),
        Index(
            "ix_deliveries_deferred",
            "deliver_after",
            postgresql_where=text("status = 'deferred'"),
        ),
    )


class DigestItem(IdMixin, Base):
    """One e-mail delivery waiting for (then part of) its digest."""

    __tablename__ = "digest_items"

    delivery_id: Mapped[uuid.UUID] = _uuid()
    notification_id: Mapped[uuid.UUID] = _uuid()
    user_id: Mapped[uuid.UUID] = _uuid()
    organisation_id: Mapped[uuid.UUID] = _uuid()
    category: Mapped[str] = mapped_column(Text, nullable=False)
    #: "hourly" or "daily"
    period: Mapped[str] = mapped_column(Text, nullable=False)
    #: The window ``[window_start, window_end)`` the item falls in.
    window_start: Mapped[datetime] = _ts(nullable=False)
    window_end: Mapped[datetime] = _ts(nullable=False)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("''"))
    action_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _ts(nullable=False)
    #: The digest it went into (None: its window is still open).
    digest_id: Mapped[uuid.UUID | None] = _uuid(nullable=True)

    __table_args__ = (
        UniqueConstraint("delivery_id"),
        Index("ix_digest_items_open", "window_end", postgresql_where=text("digest_id IS NULL")),
        Index("ix_digest_items_digest", "digest_id", "created_at"),
    )


class Digest(IdMixin, Base):
    """One digest e-mail: unique per user, organisation, category, period and window."""

    __tablename__ = "digests"

    user_id: Mapped[uuid.UUID] = _uuid()
    organisation_id: Mapped[uuid.UUID] = _uuid()
    category: Mapped[str] = mapped_column(Text, nullable=False)
    period: Mapped[str] = mapped_column(Text, nullable=False)
    window_start: Mapped[datetime] = _ts(nullable=False)
    window_end: Mapped[datetime] = _ts(nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    item_count: Mapped[int] = mapped_column(Integer, nullable=False)
    provider: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    deliver_after: Mapped[datetime | None] = _ts()
    created_at: Mapped[datetime] = _ts(nullable=False)
    updated_at: Mapped[datetime] = _ts(nullable=False)
    sent_at: Mapped[datetime | None] = _ts()

    __table_args__ = (
        UniqueConstraint("user_id", "organisation_id", "category", "period", "window_start"),
        CheckConstraint("status IN ('queued', 'sent', 'failed', 'deferred')", name="status"),
        Index("ix_digests_deferred", "deliver_after", postgresql_where=text("status = 'deferred'")),
    )


class ShareNotice(Base):
    __tablename__ = "share_notices"

    document_id: Mapped[uuid.UUID] = _uuid()
    user_id: Mapped[uuid.UUID] = _uuid()

    __table_args__ = (PrimaryKeyConstraint("document_id", "user_id", name="pk_share_notices"),)


class NotificationChannel(IdMixin, Base):
    """A chat or SMS target of an organisation: an Apprise URL, sealed at rest (AES-GCM
    under ``HUB_SECRET_KEY``, bound to the row's id), never returned by the API."""

    __tablename__ = "notification_channels"

    organisation_id: Mapped[uuid.UUID] = _uuid()
    #: "chat" or "sms": the preference channel it serves.
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    url_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    #: What the API shows of the URL: its scheme, Apprise's service name, a masked host.
    scheme: Mapped[str] = mapped_column(Text, nullable=False)
    service: Mapped[str] = mapped_column(Text, nullable=False)
    shown_host: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    #: The categories it serves (empty: every category).
    categories: Mapped[list[str]] = _json("[]")
    #: The channel's own quiet hours (``HH:MM`` both or neither) in ``time_zone``.
    quiet_start: Mapped[str | None] = mapped_column(Text)
    quiet_end: Mapped[str | None] = mapped_column(Text)
    time_zone: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _ts(nullable=False)
    updated_at: Mapped[datetime] = _ts(nullable=False)
    created_by: Mapped[uuid.UUID | None] = _uuid(nullable=True)

    __table_args__ = (
        CheckConstraint("kind IN ('chat', 'sms')", name="kind"),
        Index("ix_notification_channels_org", "organisation_id", "id"),
    )


class PushSubscription(IdMixin, Base):
    """A browser's Web Push subscription (``domain.push``). The endpoint is a capability
    URL and the keys encrypt for that browser, so all three are sealed at rest (AES-GCM
    under ``HUB_SECRET_KEY``, bound to the row's id); the push service's host is kept in
    clear to show which device kind it is."""

    __tablename__ = "push_subscriptions"

    user_id: Mapped[uuid.UUID] = _uuid()
    #: SHA-256 of the endpoint: one row per browser, whoever registered it last.
    endpoint_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, unique=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    host: Mapped[str] = mapped_column(Text, nullable=False)
    #: The frontend's name for the device ("Firefox on the office laptop").
    label: Mapped[str | None] = mapped_column(Text)
    #: The notification categories this device is woken for (None: every category the
    #: person's preferences push).
    categories: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    created_at: Mapped[datetime] = _ts(nullable=False)
    #: Registered again or pushed to successfully (the least recent goes past the limit).
    last_used_at: Mapped[datetime] = _ts(nullable=False)
    last_success_at: Mapped[datetime | None] = _ts()

    __table_args__ = (Index("ix_push_subscriptions_user", "user_id", "last_used_at"),)


class PushReceipt(Base):
    """A push delivery that reached one subscription: a retried delivery skips it."""

    __tablename__ = "push_receipts"

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("communication.deliveries.id", ondelete="CASCADE")
    )
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("communication.push_subscriptions.id", ondelete="CASCADE"),
    )
    sent_at: Mapped[datetime] = _ts(nullable=False)

    __table_args__ = (
        PrimaryKeyConstraint("delivery_id", "subscription_id"),
        Index("ix_push_receipts_subscription", "subscription_id"),
    )


class VapidKey(Base):
    """The hub's VAPID key pair (RFC 8292), made on first use and kept: browsers bind
    their subscriptions to its public key, so it must outlive processes and rotations of
    ``HUB_SECRET_KEY`` (the private key is sealed under it and re-sealed by ``hub secrets
    rotate``)."""

    __tablename__ = "vapid_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    private_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    #: The uncompressed public point, base64url: the ``applicationServerKey``.
    public_key: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = _ts(nullable=False)

    __table_args__ = (CheckConstraint("id = 1", name="single"),)


# --------------------------------------------------------------------------- conversations


class Conversation(IdMixin, Base):
    """A thread between members of one organisation: ``direct`` (exactly two people, one
    conversation per pair: the partial unique index on the sorted pair makes concurrent
    creations meet on one row) or ``group`` (a title and any number of participants)."""

    __tablename__ = "conversations"

    organisation_id: Mapped[uuid.UUID] = _uuid()
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    title: Mapped[str | None] = mapped_column(Text)
    #: Direct conversations: the two user ids, the smaller first (null for groups).
    direct_low: Mapped[uuid.UUID | None] = _uuid(nullable=True)
    direct_high: Mapped[uuid.UUID | None] = _uuid(nullable=True)
    created_by: Mapped[uuid.UUID] = _uuid()
    created_at: Mapped[datetime] = _ts(nullable=False)
    #: The ``seq`` of the newest message (0: none yet); a send increments it under the
    #: row's lock, so messages of one conversation are numbered without gaps or ties.
    last_seq: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    #: Creation, then the newest message: what ``GET /conversations`` sorts by.
    last_activity_at: Mapped[datetime] = _ts(nullable=False)

    __table_args__ = (
        CheckConstraint("kind IN ('direct', 'group')", name="kind"),
        CheckConstraint(
            "(kind = 'direct') = (direct_low IS NOT NULL AND direct_high IS NOT NULL)",
            name="direct_pair",
        ),
        CheckConstraint("direct_low < direct_high", name="direct_sorted"),
        Index(
            "uq_conversations_direct_pair",
            "organisation_id",
            "direct_low",
            "direct_high",
            unique=True,
            postgresql_where=text("kind = 'direct'"),
        ),
    )


class ConversationParticipant(Base):
    """Who is in a conversation, their part in it and how far they have read."""

    __tablename__ = "conversation_participants"

    conversation_id: Mapped[uuid.UUID] = owned_by("communication.conversations.id")
    user_id: Mapped[uuid.UUID] = _uuid()
    organisation_id: Mapped[uuid.UUID] = _uuid()
    #: "admin" (adds and removes people; the creator of a group) or "member".
    role: Mapped[str] = mapped_column(Text, nullable=False)
    added_by: Mapped[uuid.UUID | None] = _uuid(nullable=True)
    joined_at: Mapped[datetime] = _ts(nullable=False)
    #: The ``seq`` of the last message read (only ever moves forward).
    last_read_seq: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    #: The ``last_seq`` an unread-messages notification covered (one per unread burst).
    notified_seq: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    #: Muted until then: no unread-messages notice, left out of the unread total
    #: (``domain.conversations.MUTED_FOREVER``: until unmuted). None: not muted.
    muted_until: Mapped[datetime | None] = _ts()

    __table_args__ = (
        PrimaryKeyConstraint("conversation_id", "user_id", name="pk_conversation_participants"),
        CheckConstraint("role IN ('admin', 'member')", name="role"),
        Index("ix_conversation_participants_user", "user_id", "organisation_id"),
    )


class Message(IdMixin, Base):
    """One message; deleting keeps a tombstone (``deleted_at`` set, text and attachments
    removed) so the thread keeps its shape."""

    __tablename__ = "messages"

    conversation_id: Mapped[uuid.UUID] = owned_by("communication.conversations.id")
    organisation_id: Mapped[uuid.UUID] = _uuid()
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    sender_id: Mapped[uuid.UUID] = _uuid()
    #: Plain text exactly as sent (clients render it as text, never as markup).
    body: Mapped[str] = mapped_column(Text, nullable=False)
    #: Document ids (content's), in the order given.
    attachments: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(UUID(as_uuid=True)), nullable=False, server_default=text("'{}'")
    )
    created_at: Mapped[datetime] = _ts(nullable=False)
    edited_at: Mapped[datetime | None] = _ts()
    deleted_at: Mapped[datetime | None] = _ts()
    #: The message of the same conversation this one answers (a quote-reply), if any.
    reply_to_id: Mapped[uuid.UUID | None] = _uuid(nullable=True)
    #: The thread this message was posted in: its root, a top-level message of the same
    #: conversation. Null for a message of the conversation's main timeline.
    thread_id: Mapped[uuid.UUID | None] = _uuid(nullable=True)
    #: On a thread's root: how many replies were posted in it, and when the last came
    #: (kept with each reply, under the conversation row's lock).
    thread_reply_count: Mapped[int] = mapped_column(
        Integer, nullable=False, server_default=text("0")
    )
    thread_last_reply_at: Mapped[datetime | None] = _ts()
    #: Pinned to the conversation (by a participant), and when; None: not pinned.
    pinned_at: Mapped[datetime | None] = _ts()
    pinned_by: Mapped[uuid.UUID | None] = _uuid(nullable=True)

    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        #: A conversation's pinned messages, latest pin first.
        Index(
            "ix_messages_pinned",
            "conversation_id",
            "pinned_at",
            postgresql_where=text("pinned_at IS NOT NULL"),
        ),
        #: A thread's replies in order (``GET …/messages?threadId=``).
        Index(
            "ix_messages_thread",
            "thread_id",
            "seq",
            postgresql_where=text("thread_id IS NOT NULL"),
        ),
        #: The main timeline: top-level messages only.
        Index(
            "ix_messages_timeline",
            "conversation_id",
            "seq",
            postgresql_where=text("thread_id IS NULL"),
        ),
        #: Message search (``GET /conversations/search``): the words of every body, in the
        #: configuration the query uses (services.conversation_queries.SEARCH_CONFIG).
        Index(
            "ix_messages_body_search",
            text("to_tsvector('communication.hub_messages'::regconfig, body)"),
            postgresql_using="gin",
        ),
    )


class MessageReaction(Base):
    """One person's reaction to a message: a short name (``thumbsup``, ``+1``) the
    frontend draws as an emoji, once per person, message and name."""

    __tablename__ = "message_reactions"

    message_id: Mapped[uuid.UUID] = owned_by("communication.messages.id")
    user_id: Mapped[uuid.UUID] = _uuid()
    organisation_id: Mapped[uuid.UUID] = _uuid()
    name: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = _ts(nullable=False)

    __table_args__ = (
        PrimaryKeyConstraint("message_id", "user_id", "name", name="pk_message_reactions"),
        Index("ix_message_reactions_user", "user_id"),
    )


# --------------------------------------------------------------------------- webhooks


class WebhookEndpoint(IdMixin, Base):
    """An organisation's outbound webhook endpoint. Secrets are sealed (AES-GCM under
    ``HUB_SECRET_KEY``, bound to the endpoint id); during a rotation the previous secret
    signs too until ``previous_secret_expires_at``."""

    __tablename__ = "webhook_endpoints"

    organisation_id: Mapped[uuid.UUID] = _uuid()
    url: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("''"))
    event_types: Mapped[list[str]] = _json("[]")
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    #: Why the hub disabled it ("gone": the receiver answered 410; "failing": no success
    #: for five days); None when enabled, or disabled by a person.
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    previous_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_expires_at: Mapped[datetime | None] = _ts()
    #: Custom headers added to every delivery: their names in clear (listed), the names
    #: and values sealed as one JSON object (values may be credentials), bound to the
    #: endpoint id; None when there are none.
    header_names: Mapped[list[str]] = _json("[]")
    headers_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: The first failure since the last success (None: the last attempt succeeded).
    failing_since: Mapped[datetime | None] = _ts()
    created_at: Mapped[datetime] = _ts(nullable=False)
    created_by: Mapped[uuid.UUID | None] = _uuid(nullable=True)
    updated_at: Mapped[datetime] = _ts(nullable=False)

    __table_args__ = (Index("ix_webhook_endpoints_org", "organisation_id", "id"),)


class WebhookDelivery(IdMixin, Base):
    """One message to one endpoint (its ``webhook-id`` is derived from the id), with the
    outcome of its latest attempt. ``next_attempt_at`` is when a pending delivery is due;
    while an attempt runs it is pushed a lease ahead, so a crashed worker's delivery comes
    round again."""

    __tablename__ = "webhook_deliveries"

    endpoint_id: Mapped[uuid.UUID] = _uuid()
    organisation_id: Mapped[uuid.UUID] = _uuid()
    #: The integration event it carries (None for a ping).
    event_id: Mapped[uuid.UUID | None] = _uuid(nullable=True)
    event_type: Mapped[str] = mapped_column(Text, nullable=False)
    #: The exact body sent (``{type, timestamp, data}``), as sent on every attempt.
    body: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    next_attempt_at: Mapped[datetime | None] = _ts()
    last_attempt_at: Mapped[datetime | None] = _ts()
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _ts(nullable=False)
    updated_at: Mapped[datetime] = _ts(nullable=False)

    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status"),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )
