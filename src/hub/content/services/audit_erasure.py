"""Pseudonymising an erased person in the audit trail without breaking verification.

The entries stay where they are; those that name the person are rewritten
(``domain.audit_erasure.pseudonymise``), and since each entry's hash covers its fields and
its predecessor's hash, every chain that had such an entry is *re-hashed* from the first
changed entry to its head, in one transaction holding that chain's head lock (appends
wait). The checkpoints signed over the rewritten stretch are re-signed over the new
hashes, and a signed **rewrite record** (``content.audit_rewrites``: chain, first and last
position rewritten, head hash before and after, when, why) says that it happened: the
trail shows that history was pseudonymised, and only a process holding the signing key
(derived from ``HUB_SECRET_KEY``, never stored) can do it. ``/audit/verify`` then passes,
and an edit made afterwards, or a rewrite without the key, is still found as before.

The append-only trigger refuses every ``UPDATE`` unless the transaction set
``hub.audit_rewrite`` to ``erasure`` (``SET LOCAL``); ``DELETE`` and ``TRUNCATE`` stay
refused. A database user can set it too, as they could disable the trigger: what catches
a rewrite by someone without the key is the signatures, not the trigger.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import msgspec
from sqlalchemy import text

from hub.content.domain.audit import CheckpointSigner, entry_hash, head_message
from hub.content.domain.audit_erasure import pseudonymise, rewrite_message
from hub.content.services.audit import BATCH, entry_of
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.erasure import ErasedPerson
from hub.kernel.schema import new_id

_json = msgspec.json.Encoder()

#: Chains with an entry naming the person, and the first such position in each.
_AFFECTED = text(
    "SELECT chain_id, min(seq) AS first_seq FROM content.audit_entries"
    " WHERE actor_id = :user_id OR entity_id = :user_text"
    "    OR strpos(lower(summary::text), :user_text) > 0"
    "    OR strpos(lower(summary::text), :email) > 0"
    " GROUP BY chain_id ORDER BY chain_id"
)
_LOCK = text(
    "SELECT last_seq, last_hash FROM content.audit_chains WHERE chain_id = :chain FOR UPDATE"
)
_ENTRIES = text(
    "SELECT * FROM content.audit_entries WHERE chain_id = :chain AND seq >= :after"
    " AND seq <= :last ORDER BY seq LIMIT :limit"
)
_UPDATE = text(
    "UPDATE content.audit_entries SET actor_id = :actor_id, entity_id = :entity_id,"
    " summary = CAST(:summary AS jsonb), client_address = :client_address,"
    " prev_hash = :prev_hash, hash = :hash"
    " WHERE chain_id = :chain AND seq = :seq AND recorded_at = :recorded_at"
)
_CHECKPOINTS = text(
    "SELECT id, seq, signed_at FROM content.audit_checkpoints"
    " WHERE chain_id = :chain AND seq >= :first ORDER BY seq"
)
_RESIGN = text("UPDATE content.audit_checkpoints SET hash = :hash, signature = :sig WHERE id = :id")
_HEAD = text("UPDATE content.audit_chains SET last_hash = :hash WHERE chain_id = :chain")
_RECORD = text(
    "INSERT INTO content.audit_rewrites"
    " (id, chain_id, first_seq, last_seq, hash_before, hash_after, rewritten_at, reason,"
    "  signature)"
    " VALUES (:id, :chain, :first, :last, :before, :after, :at, :reason, :sig)"
)


@dataclass(eq=False)
class AuditPseudonymiser:
    signer: CheckpointSigner
    clock: Clock

    async def pseudonymise(self, uow: UnitOfWork, person: ErasedPerson) -> int:
        """Rewrite every entry naming the person in ``uow``; the number of entries changed."""
        session = uow.session
        await session.execute(text("SET LOCAL hub.audit_rewrite = 'erasure'"))
        needles = {"user_id": person.user_id, "user_text": str(person.user_id)}
        affected = (
            await session.execute(_AFFECTED, {**needles, "email": person.email.lower()})
        ).all()
        changed = 0
        for chain_id, first_seq in affected:
            changed += await self._rewrite_chain(uow, person, chain_id, first_seq)
        return changed

    async def _rewrite_chain(
        self, uow: UnitOfWork, person: ErasedPerson, chain_id: uuid.UUID, first_seq: int
    ) -> int:
        session = uow.session
        head = (await session.execute(_LOCK, {"chain": chain_id})).first()
        if head is None:
            return 0
        last_seq, hash_before = int(head.last_seq), str(head.last_hash)
        new_hashes: dict[int, str] = {}
        previous: str | None = None
        changed = 0
        after = first_seq
        while True:
            rows = (
                await session.execute(
                    _ENTRIES, {"chain": chain_id, "after": after, "last": last_seq, "limit": BATCH}
                )
            ).all()
            for row in rows:
                if previous is None:
                    previous = str(row.prev_hash)
                original = entry_of(row)
                entry = pseudonymise(original, person)
                digest = entry_hash(previous, entry)
                if entry is not original or digest != row.hash:
                    changed += entry is not original
                    await session.execute(
                        _UPDATE,
                        {
                            "actor_id": entry.actor_id,
                            "entity_id": entry.entity_id,
                            "summary": _json.encode(entry.summary).decode(),
                            "client_address": entry.client_address,
                            "prev_hash": previous,
                            "hash": digest,
                            "chain": chain_id,
                            "seq": row.seq,
                            "recorded_at": row.recorded_at,
                        },
                    )
                new_hashes[int(row.seq)] = digest
                previous = digest
            if len(rows) < BATCH:
                break
            after = int(rows[-1].seq) + 1
        if previous is None or previous == hash_before:
            return changed
        await session.execute(_HEAD, {"hash": previous, "chain": chain_id})
        for checkpoint in (
            await session.execute(_CHECKPOINTS, {"chain": chain_id, "first": first_seq})
        ).all():
            rehashed = new_hashes.get(int(checkpoint.seq))
            if rehashed is None:
                continue
            message = head_message(
                "checkpoint", chain_id, checkpoint.seq, rehashed, checkpoint.signed_at
            )
            await session.execute(
                _RESIGN, {"hash": rehashed, "sig": self.signer.sign(message), "id": checkpoint.id}
            )
        now = self.clock()
        await session.execute(
            _RECORD,
            {
                "id": new_id(),
                "chain": chain_id,
                "first": first_seq,
                "last": last_seq,
                "before": hash_before,
                "after": previous,
                "at": now,
                "reason": "erasure",
                "sig": self.signer.sign(
                    rewrite_message(chain_id, first_seq, last_seq, hash_before, previous, now)
                ),
            },
        )
        return changed
