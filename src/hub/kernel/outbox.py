"""Transactional outbox and inbox tables, one pair in every context's schema.

An event is written to the publisher's ``outbox`` in the same transaction as the state
change it describes, so a rollback publishes nothing and a commit always publishes. A
consumer records each handled event id in its own ``inbox`` inside the handler's
transaction, so a redelivered event has no second effect.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

#: Channel the unit of work notifies (payload: schema name) when it commits outbox rows.
OUTBOX_CHANNEL = "hub_outbox"


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox",
        metadata,
        Column("position", BigInteger, Identity(always=True), primary_key=True),
        Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
        Column("event_type", Text, nullable=False),
        Column("aggregate_key", Text, nullable=False),
        Column("payload", JSONB, nullable=False),
        Column("correlation_id", Text),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text),
        Index(
            "ix_outbox_pending",
            "position",
            postgresql_where=text("published_at IS NULL"),
        ),
    )


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        "inbox",
        metadata,
        Column("event_id", UUID(as_uuid=True), nullable=False),
        Column("handler", Text, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("event_id", "handler", name="pk_inbox"),
    )
