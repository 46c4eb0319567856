"""Table building blocks: one ``MetaData`` per context, bound to the context's own schema.

Each context owns a PostgreSQL schema named after it, so its tables, outbox, inbox and
alembic version table travel together if the context is ever split out.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, MetaData, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column
from uuid_utils.compat import uuid7

CONTEXT_SCHEMAS: tuple[str, ...] = ("identity", "content", "communication", "workflow")
#: Schemas admitted by :func:`register_context_schema` (contexts outside ``hub``).
_REGISTERED: list[str] = []
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def register_context_schema(schema: str) -> None:
    """Admit the schema of a context defined outside ``hub`` (the test suite's example
    context, a plug-in), called by that context's ``models`` before
    :func:`context_metadata`. The kernel refuses any other name, so a typo never creates a
    stray schema, and it formats schema names into SQL (relay, retention), hence the
    plain-identifier rule."""
    if not _IDENTIFIER.match(schema):
        raise ValueError(f"context schema {schema!r} must be a lower-case identifier")
    if schema not in context_schemas():
        _REGISTERED.append(schema)


def context_schemas() -> tuple[str, ...]:
    """Every schema a context may own: the four contexts' and the registered ones."""
    return (*CONTEXT_SCHEMAS, *_REGISTERED)


def require_context_schema(schema: str) -> str:
    """``schema`` itself, once known to be a context's (anything else raises)."""
    if schema not in context_schemas():
        raise ValueError(f"unknown context schema {schema!r}")
    return schema


def context_metadata(schema: str) -> MetaData:
    """The ``MetaData`` of one context: every table lands in ``schema``."""
    return MetaData(schema=require_context_schema(schema), naming_convention=NAMING_CONVENTION)


def new_id() -> uuid.UUID:
    """UUIDv7: time-ordered, so primary-key indexes stay append-mostly and ids sort by age."""
    return uuid7()


def utcnow() -> datetime:
    return datetime.now(UTC)


def timestamp(*, nullable: bool = True) -> Any:
    """A ``timestamptz`` column (every time a context stores is zone-aware, UTC)."""
    return mapped_column(DateTime(timezone=True), nullable=nullable)


def owned_by(target: str, **column: Any) -> Any:
    """A required UUID reference to a row of the same context that deletes with it
    (``"identity.users.id"``); never across contexts, which store the other side's id.
    ``column`` adds ``mapped_column`` options (``index=True``, ``primary_key=True``)."""
    return mapped_column(
        UUID(as_uuid=True), ForeignKey(target, ondelete="CASCADE"), nullable=False, **column
    )


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True),
        nullable=False,
        default=utcnow,
        onupdate=utcnow,
        server_default=func.now(),
    )
