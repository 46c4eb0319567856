"""HTTP bodies of the audit trail (``/audit``), camelCase on the wire (API.md fixes the
names of the list items and of ``ok``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from hub.kernel.structs import Schema


class AuditEntryOut(Schema):
    id: uuid.UUID
    occurred_at: datetime
    #: None on the platform chain.
    organisation_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    #: "user", "api_key", "system", "workflow", "ai" or "anonymous" (a share link).
    actor_type: str
    #: The event type, e.g. ``content.document.downloaded``.
    action: str
    entity_type: str | None
    entity_id: str | None
    correlation_id: str | None
    request_id: str | None
    client_address: str | None
    #: What changed, without secrets (no tokens, hashes, passwords, keys).
    summary: dict[str, Any]
    #: Position in its chain (1, 2, …) and the chained SHA-256.
    seq: int
    recorded_at: datetime
    hash: str


class AuditVerificationOut(Schema, omit_defaults=True):
    ok: bool
    #: Entries checked (up to the first broken one).
    entries: int
    #: Signed checkpoints of the chain.
    checkpoints: int
    #: Set when ``ok`` is false and an entry can be named.
    first_broken_entry_id: uuid.UUID | None = None
    #: Set when ``ok`` is false: ``entry_altered``, ``entry_missing``, ``link_broken``,
    #: ``entries_missing_at_end``, ``checkpoint_mismatch``, ``checkpoint_signature_invalid``,
    #: ``anchor_invalid`` or ``chain_missing``.
    reason: str | None = None


class AuditCheckpointOut(Schema):
    id: uuid.UUID
    #: The organisation's id, or the nil UUID for the platform chain.
    chain_id: uuid.UUID
    seq: int
    hash: str
    signed_at: datetime
