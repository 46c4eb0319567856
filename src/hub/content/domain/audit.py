"""The audit trail's rules, free of I/O: what an entry says, how it is hashed and signed.

Every integration event of every context becomes one entry of one *chain*: its
organisation's, or the platform chain (:data:`PLATFORM_CHAIN`) for events that concern
no organisation. Each entry's hash is SHA-256 over the previous entry's hash and the
entry's canonical encoding (:func:`canonical`: JSON with sorted keys, UTC timestamps at
microsecond precision, so the same row always hashes the same), which makes any edit,
removal or insertion visible to a recomputation. A rewrite of a whole chain from inside
the database is made visible by *checkpoints*: chain heads signed with a key derived from
``HUB_SECRET_KEY`` (:class:`CheckpointSigner`), which the database never sees.

Summaries keep what changed without secrets: payload fields whose names speak of tokens,
hashes, passwords, secrets, keys or codes are dropped (ids such as ``apiKeyId`` are kept),
strings and lists are cut short.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import msgspec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

#: The chain of events that concern no organisation (sign-ups, logins, platform admin).
PLATFORM_CHAIN = uuid.UUID(int=0)
#: What the first entry of a chain links to.
GENESIS_HASH = "0" * 64
#: Actor types an entry may name.
ACTOR_TYPES = ("user", "api_key", "system", "workflow", "ai", "anonymous")

#: Field names that may hold a secret: never copied into a summary.
_SECRET_NAME = re.compile(
    r"(token|hash|password|passw|secret|key|credential|signature|salt|otp|code|cookie|"
    r"private|sealed|cipher|nonce|authorization)",
    re.IGNORECASE,
)
#: ...unless the name is an identifier (``apiKeyId``, ``sessionIds``).
_ID_NAME = re.compile(r"Ids?$")
MAX_STRING = 256
MAX_ITEMS = 50
MAX_DEPTH = 4

_encoder = msgspec.json.Encoder(order="sorted")


def chain_of(organisation_id: uuid.UUID | None) -> uuid.UUID:
    return organisation_id if organisation_id is not None else PLATFORM_CHAIN


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name)) and not _ID_NAME.search(name)


def summarise(payload: Mapping[str, Any], depth: int = 0) -> dict[str, Any]:
    """What changed, as the event told it, without secret-looking fields."""
    out: dict[str, Any] = {}
    for name, value in payload.items():
        if is_secret_name(name):
            continue
        out[name] = _clip(value, depth + 1)
    return out


def _clip(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return value[:MAX_STRING]
    if isinstance(value, bool | int | float) or value is None:
        return value
    if depth >= MAX_DEPTH:
        return None
    if isinstance(value, Mapping):
        return summarise(value, depth)
    if isinstance(value, list | tuple):
        return [_clip(v, depth + 1) for v in value[:MAX_ITEMS]]
    return str(value)[:MAX_STRING]


def _snake(camel: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", camel).lower()


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)


def entity_of(
    event_type: str, payload: Mapping[str, Any], organisation_id: uuid.UUID | None
) -> tuple[str | None, str | None]:
    """The thing an event is about, from its name and payload alone.

    ``content.document.uploaded`` names its entity (``document``, id in ``documentId``,
    or ``id`` for taxonomy events); ``identity.api_key_created`` starts with it
    (``apiKeyId``); otherwise the first ``…Id`` field of the payload, and the organisation
    itself for organisation events.
    """
    parts = event_type.split(".")
    ids = {k: v for k, v in payload.items() if k.endswith("Id") and isinstance(v, str)}
    if len(parts) >= 3:
        entity = parts[1]
        value = payload.get(_camel(entity) + "Id") or payload.get("id")
        if isinstance(value, str):
            return entity, value
    name = parts[-1]
    for key, value in ids.items():
        stem = _snake(key[:-2])
        if name.startswith(stem + "_"):
            return stem, value
    if name.startswith("organisation_") and organisation_id is not None:
        return "organisation", str(organisation_id)
    for key, value in ids.items():
        return _snake(key[:-2]), value
    return None, None


def timestamp(value: datetime) -> str:
    """One spelling of an instant: UTC, microseconds, ``Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Entry:
    """One audit entry as hashed (and as stored, plus its hashes)."""

    id: uuid.UUID
    chain_id: uuid.UUID
    seq: int
    occurred_at: datetime
    recorded_at: datetime
    organisation_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    actor_type: str
    action: str
    entity_type: str | None
    entity_id: str | None
    summary: dict[str, Any]
    correlation_id: str | None
    request_id: str | None
    client_address: str | None
    event_id: uuid.UUID | None
    source: str | None


def _opt(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


def canonical(entry: Entry) -> bytes:
    """The deterministic bytes an entry's hash covers (sorted keys, no whitespace)."""
    return _encoder.encode(
        {
            "id": str(entry.id),
            "chain": str(entry.chain_id),
            "seq": entry.seq,
            "occurredAt": timestamp(entry.occurred_at),
            "recordedAt": timestamp(entry.recorded_at),
            "organisationId": _opt(entry.organisation_id),
            "actorId": _opt(entry.actor_id),
            "actorType": entry.actor_type,
            "action": entry.action,
            "entityType": entry.entity_type,
            "entityId": entry.entity_id,
            "summary": entry.summary,
            "correlationId": entry.correlation_id,
            "requestId": entry.request_id,
            "clientAddress": entry.client_address,
            "eventId": _opt(entry.event_id),
            "source": entry.source,
        }
    )


def entry_hash(previous: str, entry: Entry) -> str:
    return hashlib.sha256(previous.encode() + b"\n" + canonical(entry)).hexdigest()


# --------------------------------------------------------------------------- signing

_SIGNING_SALT = b"hub.content.audit"
_SIGNING_INFO = b"audit-checkpoint-v1"


def _derive(secret: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=_SIGNING_SALT, info=_SIGNING_INFO
    ).derive(secret.encode())


def head_message(kind: str, chain_id: uuid.UUID, seq: int, last_hash: str, at: datetime) -> bytes:
    """What a checkpoint (``kind="checkpoint"``) or retention anchor (``"anchor"``) signs."""
    return _encoder.encode(
        {"kind": kind, "chain": str(chain_id), "seq": seq, "hash": last_hash, "at": timestamp(at)}
    )


class CheckpointSigner:
    """HMAC-SHA256 under a key derived (HKDF) from ``HUB_SECRET_KEY``; the previous keys
    of ``HUB_SECRET_KEY_PREVIOUS`` still verify, so a key rotation keeps old checkpoints
    checkable. The key lives only in the process, never in the database."""

    def __init__(self, secrets: Sequence[str]) -> None:
        if not secrets:
            raise ValueError("a signer needs a key")
        self._keys = tuple(_derive(s) for s in dict.fromkeys(secrets))

    def sign(self, message: bytes) -> str:
        return hmac.new(self._keys[0], message, hashlib.sha256).hexdigest()

    def verify(self, message: bytes, signature: str) -> bool:
        return any(
            hmac.compare_digest(hmac.new(k, message, hashlib.sha256).hexdigest(), signature)
            for k in self._keys
        )


# --------------------------------------------------------------------------- partitions


def month_start(day: date | datetime) -> date:
    return date(day.year, day.month, 1)


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"audit_entries_{month.year:04d}_{month.month:02d}"


def month_of_partition(name: str) -> date | None:
    match = re.fullmatch(r"audit_entries_(\d{4})_(\d{2})", name)
    return date(int(match[1]), int(match[2]), 1) if match else None
