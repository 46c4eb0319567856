"""Tables of the example context, in its own ``example`` schema."""

import uuid

from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub.kernel.outbox import inbox_table, outbox_table
from hub.kernel.schema import IdMixin, context_metadata, register_context_schema

register_context_schema("example")  # the kernel knows hub's four schemas, not this one


class Base(DeclarativeBase):
    metadata = context_metadata("example")


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)


class Note(IdMixin, Base):
    __tablename__ = "notes"

    organisation_id: Mapped[uuid.UUID] = mapped_column(index=True)
    author_id: Mapped[uuid.UUID]
    body: Mapped[str]
    words: Mapped[int | None]  # counted by the job
    announced: Mapped[int] = mapped_column(default=0)  # handler runs (the inbox keeps it 1)
