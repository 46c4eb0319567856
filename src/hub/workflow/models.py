"""Tables of the workflow context, all in the ``workflow`` PostgreSQL schema."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from hub.kernel.outbox import inbox_table, outbox_table
from hub.kernel.schema import context_metadata


class Base(DeclarativeBase):
    metadata = context_metadata("workflow")


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
