"""What every context needs to erase one person (GDPR Article 17), free of any context.

Identity publishes ``identity.user_erased`` with the person's id, address and a fresh
random *pseudonym* (a UUID no account has); each context's handler removes the rows that
are the person's own and, where a record must stay for others (a message in a thread, a
vote that decided a task, an audit entry), puts the pseudonym in the person's place. The
pseudonym is random per erasure, so nothing links it back to the person once identity's
row is gone; it still tells "these records were by the same (erased) person".

:class:`ErasedPerson` builds the SQL pieces the handlers share: a condition "this column
mentions the person" and an expression rewriting a ``jsonb`` value with the person's id
replaced by the pseudonym and the address by :data:`ERASED_EMAIL`. :func:`forget_published_events`
deletes the context's published outbox rows that mention the person (the outbox keeps
published rows; their payloads name the actor).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Text,
    TextClause,
    and_,
    cast,
    delete,
    func,
    or_,
    text,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB

from hub.kernel.db import UnitOfWork

#: What replaces an erased person's e-mail address in kept text.
ERASED_EMAIL = "erased-user"


@dataclass(frozen=True)
class ErasedPerson:
    user_id: uuid.UUID
    email: str
    pseudonym: uuid.UUID

    @property
    def needles(self) -> tuple[str, ...]:
        """The strings that identify the person in text: id and address (lower case)."""
        return (str(self.user_id), self.email.lower())

    def mentioned_in(self, column: Any) -> ColumnElement[bool]:
        """``column`` (any type, read as text) contains the person's id or address."""
        as_text = func.lower(cast(column, Text))
        return or_(*(func.strpos(as_text, needle) > 0 for needle in self.needles))

    def scrubbed_json(self, column: Any) -> ColumnElement[Any]:
        """``column`` (jsonb) with the id replaced by the pseudonym and the address by
        :data:`ERASED_EMAIL` (matched case-insensitively), still jsonb."""
        as_text = cast(column, Text)
        swapped = func.replace(as_text, str(self.user_id), str(self.pseudonym))
        scrubbed = func.regexp_replace(swapped, re.escape(self.email), ERASED_EMAIL, "gi")
        return type_coerce(cast(scrubbed, JSONB), JSONB)

    @property
    def scrub_params(self) -> dict[str, Any]:
        """The parameters of :func:`scrub_statement`."""
        return {
            "erased_id": str(self.user_id),
            "erased_email": self.email.lower(),
            "erased_pattern": re.escape(self.email),
            "erased_pseudonym": str(self.pseudonym),
            "erased_replacement": ERASED_EMAIL,
        }

    def scrub_text(self, value: str) -> str:
        """The same replacement for a Python string."""
        value = value.replace(str(self.user_id), str(self.pseudonym))
        return re.sub(re.escape(self.email), ERASED_EMAIL, value, flags=re.IGNORECASE)


def scrub_statement(table: str, column: str, *, json: bool = True) -> TextClause:
    """``UPDATE table SET column = <column scrubbed>`` where it mentions the person, for a
    ``jsonb`` column (``json=False``: a ``text`` one), run with
    :attr:`ErasedPerson.scrub_params`. ``table`` and ``column`` are the caller's
    constants, never input."""
    scrubbed = (
        f"regexp_replace(replace({column}::text, :erased_id, :erased_pseudonym),"
        " :erased_pattern, :erased_replacement, 'gi')"
    )
    if json:
        scrubbed = f"CAST({scrubbed} AS jsonb)"
    return text(
        f"UPDATE {table} SET {column} = {scrubbed}"  # noqa: S608
        f" WHERE strpos(lower({column}::text), :erased_id) > 0"
        f" OR strpos(lower({column}::text), :erased_email) > 0"
    )


async def forget_published_events(
    uow: UnitOfWork, person: ErasedPerson, *, event_id: uuid.UUID | None = None
) -> int:
    """Delete the published rows of ``uow``'s outbox that mention the person (and the row
    of ``event_id``, the erasure event being handled, published or not: it reached its
    subscribers, this handler among them). Rows not published yet stay: they still have
    to reach their subscribers."""
    outbox = uow.outbox
    published = and_(outbox.c.published_at.is_not(None), person.mentioned_in(outbox.c.payload))
    condition = published if event_id is None else or_(published, outbox.c.event_id == event_id)
    result = await uow.session.execute(delete(outbox).where(condition))
    return int(getattr(result, "rowcount", 0) or 0)
