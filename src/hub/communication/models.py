"""Tables of the communication context, all in the ``communication`` PostgreSQL schema.

* ``templates``: organisations' template versions (the platform's live in code); the
  highest version of a key is the current one, older rows are its history.
* ``organisation_settings`` / ``user_settings``: default channels per category and
  locale of an organisation; a user's overrides, locale, time zone and quiet hours.
* ``notifications``: one per send, with its resolved recipients (fan-out reads them in
  batches).
* ``inbox_items``: the in-app inbox, one row per notification and recipient. The unread
  count is ``COUNT(*)`` over the partial index ``ix_inbox_unread`` (rows neither read nor
  archived), so it is exact by construction: no counter to drift.
* ``deliveries``: the log, one row per notification, recipient and channel.
* ``share_notices``: who was already told a document was shared with them (a sharing
  event lists every share, not only the new ones).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub.kernel.outbox import inbox_table, outbox_table
from hub.kernel.schema import IdMixin, context_metadata, utcnow


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

    __table_args__ = (
        CheckConstraint("priority IN ('normal', 'critical')", name="priority"),
        Index("ix_notifications_org", "organisation_id", "id"),
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
    user_id: Mapped[uuid.UUID] = _uuid()
    channel: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    #: "inbox", "smtp" or "mailbox" (the development mailbox); None until tried.
    provider: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    #: Why it was skipped or deferred, or that a critical notice overrode a preference.
    reason: Mapped[str | None] = mapped_column(Text)
    deliver_after: Mapped[datetime | None] = _ts()
    created_at: Mapped[datetime] = _ts(nullable=False)
    updated_at: Mapped[datetime] = _ts(nullable=False)
    sent_at: Mapped[datetime | None] = _ts()

    __table_args__ = (
        UniqueConstraint("notification_id", "user_id", "channel"),
        CheckConstraint(
            "status IN ('queued', 'sent', 'failed', 'skipped', 'deferred')", name="status"
        ),
        Index("ix_deliveries_org", "organisation_id", "id"),
        Index(
            "ix_deliveries_deferred",
            "deliver_after",
            postgresql_where=text("status = 'deferred'"),
        ),
    )


class ShareNotice(Base):
    __tablename__ = "share_notices"

    document_id: Mapped[uuid.UUID] = _uuid()
    user_id: Mapped[uuid.UUID] = _uuid()

    __table_args__ = (PrimaryKeyConstraint("document_id", "user_id", name="pk_share_notices"),)
