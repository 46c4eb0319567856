"""Pseudonymising audit entries that name an erased person, free of I/O.

An entry names the person when its actor is them, its entity is their account, or its
summary mentions their id or address. Such an entry keeps its place, time, action and
what it says about others; the person's id becomes the erasure's pseudonym (a random UUID
no account has), their address :data:`~hub.kernel.erasure.ERASED_EMAIL`, and the fields
that describe them rather than the fact (display name, IP address, user agent, and the
client address of a request they made) are dropped. The chain is then re-hashed from the
first changed entry and re-signed (``services.audit_erasure``, docs/personal-data.md).
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from typing import Any

import msgspec

from hub.content.domain.audit import Entry, head_message
from hub.identity.api import UserErased
from hub.kernel.erasure import ErasedPerson

#: Summary fields that describe a person rather than what happened: dropped from an
#: entry that names the erased person.
PERSONAL_FIELDS = frozenset({"displayName", "ip", "userAgent"})

_encoder = msgspec.json.Encoder()


def names(entry: Entry, person: ErasedPerson) -> bool:
    if entry.actor_id == person.user_id or entry.entity_id == str(person.user_id):
        return True
    text = _encoder.encode(entry.summary).decode().lower()
    return any(needle in text for needle in person.needles)


def _scrub(value: Any, person: ErasedPerson) -> Any:
    if isinstance(value, str):
        return person.scrub_text(value)
    if isinstance(value, dict):
        return {
            person.scrub_text(k): _scrub(v, person)
            for k, v in value.items()
            if k not in PERSONAL_FIELDS
        }
    if isinstance(value, list):
        return [_scrub(v, person) for v in value]
    return value


def pseudonymise(entry: Entry, person: ErasedPerson) -> Entry:
    """The entry with the person replaced (unchanged when it does not name them)."""
    if not names(entry, person):
        return entry
    by_person = entry.actor_id == person.user_id
    return dataclasses.replace(
        entry,
        actor_id=person.pseudonym if by_person else entry.actor_id,
        entity_id=(person.scrub_text(entry.entity_id) if entry.entity_id is not None else None),
        summary=_scrub(entry.summary, person),
        client_address=None if by_person else entry.client_address,
    )


def rewrite_message(
    chain_id: uuid.UUID, first_seq: int, last_seq: int, before: str, after: str, at: datetime
) -> bytes:
    """What a rewrite record signs: its chain's new head (as a checkpoint would, kind
    ``rewrite``), plus where the rewrite started and the head hash it replaced."""
    return head_message("rewrite", chain_id, last_seq, after, at) + _encoder.encode(
        {"first": first_seq, "before": before}
    )


def erased_by(event_type: str, payload: dict[str, Any]) -> ErasedPerson | None:
    """The person an ``identity.user_erased`` event erases (its own entry is recorded
    already pseudonymised: it may arrive after the chains were rewritten)."""
    if event_type != UserErased.event_type:
        return None
    try:
        return ErasedPerson(
            user_id=uuid.UUID(str(payload["userId"])),
            email=str(payload["email"]),
            pseudonym=uuid.UUID(str(payload["pseudonym"])),
        )
    except (KeyError, ValueError):
        return None


def scrub_summary(summary: dict[str, Any], person: ErasedPerson) -> dict[str, Any]:
    scrubbed: dict[str, Any] = _scrub(summary, person)
    return scrubbed
