"""Transactional outbox and inbox tables, one pair in every context's schema.

An event is written to the publisher's ``outbox`` in the same transaction as the state
change it describes, so a rollback publishes nothing and a commit always publishes. A
consumer records each handled event id in its own ``inbox`` inside the handler's
transaction, so a redelivered event has no second effect.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import cache

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
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.kernel.schema import require_context_schema

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


@cache
def _tables_of(schema: str) -> tuple[Table, Table]:
    metadata = MetaData(schema=require_context_schema(schema))
    return outbox_table(metadata), inbox_table(metadata)


def outbox_of(schema: str) -> Table:
    """The outbox of a context addressed by schema name.

    The relay, the mail job and the CLI work on every context without importing any:
    every schema holds the same two tables, so the kernel can describe them itself.
    """
    return _tables_of(schema)[0]


def inbox_of(schema: str) -> Table:
    return _tables_of(schema)[1]


async def claim_inbox(
    session: AsyncSession, inbox: Table, event_id: uuid.UUID, handler: str, event_type: str
) -> bool:
    """Record ``(event_id, handler)`` as processed; False when it already was.

    Runs inside the handler's transaction: the row commits with the effect or not at all.
    A concurrent redelivery blocks on the primary key until the first attempt ends, then
    sees the row (first attempt committed) or claims it (first attempt rolled back).
    """
    stmt = (
        pg_insert(inbox)
        .values(event_id=event_id, handler=handler, event_type=event_type)
        .on_conflict_do_nothing(index_elements=["event_id", "handler"])
        .returning(inbox.c.event_id)
    )
    return (await session.execute(stmt)).first() is not None


async def claim_inbox_many(
    session: AsyncSession,
    inbox: Table,
    handler: str,
    events: Sequence[tuple[uuid.UUID, str]],
) -> set[uuid.UUID]:
    """:func:`claim_inbox` for several events in one statement; returns the ids claimed."""
    if not events:
        return set()
    stmt = (
        pg_insert(inbox)
        .values(
            [
                {"event_id": event_id, "handler": handler, "event_type": event_type}
                for event_id, event_type in dict(events).items()
            ]
        )
        .on_conflict_do_nothing(index_elements=["event_id", "handler"])
        .returning(inbox.c.event_id)
    )
    return {row[0] for row in (await session.execute(stmt)).all()}
