"""Tables of the identity context, all in the ``identity`` PostgreSQL schema."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from hub.kernel.outbox import inbox_table, outbox_table
from hub.kernel.schema import context_metadata


class Base(DeclarativeBase):
    metadata = context_metadata("identity")


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
