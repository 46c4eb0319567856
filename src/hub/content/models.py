"""Tables of the content context, all in the ``content`` PostgreSQL schema."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from hub.kernel.outbox import inbox_table, outbox_table
from hub.kernel.schema import context_metadata


class Base(DeclarativeBase):
    metadata = context_metadata("content")


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
