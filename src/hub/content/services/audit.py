"""The audit trail: one append-only, hash-chained log of every context's events.

Fed by content's catch-all subscription (``audit_tasks.record_event``), in the same
transaction as the inbox row that makes the delivery exactly-once. Appends to one chain
are serialised by locking the chain's head row (``audit_chains``), so concurrent
deliveries still make one unbroken chain; each entry's ``recorded_at`` is never earlier
than its predecessor's, so monthly partitions hold chain *prefixes* and retention can drop
the oldest whole (recording where the kept chain starts, signed, as the chain's anchor).

Reading is for members holding ``content.audit.read`` (owners, admins and the built-in
auditor role); the platform chain is for platform administrators only.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import structlog
from sqlalchemy import Select, and_, insert, select, text, update

from hub.content.domain.access import ADMIN, AUDIT_READ
from hub.content.domain.audit import (
    GENESIS_HASH,
    PLATFORM_CHAIN,
    CheckpointSigner,
    Entry,
    chain_of,
    entity_of,
    entry_hash,
    head_message,
    month_of_partition,
    month_start,
    next_month,
    summarise,
)
from hub.content.domain.audit_erasure import erased_by, rewrite_message, scrub_summary
from hub.content.models import AuditChain, AuditCheckpoint, AuditEntry, AuditRewrite
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import Forbidden
from hub.kernel.events import EventEnvelope
from hub.kernel.pagination import Page, decode_cursor, page_of
from hub.kernel.problems import invalid_cursor
from hub.kernel.schema import new_id
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.kernel.tenancy import Tenancy

log = structlog.get_logger("hub.content.audit")

e = AuditEntry.__table__
ch = AuditChain.__table__
cp = AuditCheckpoint.__table__
rw = AuditRewrite.__table__
#: Entries read per round trip while verifying or exporting.
BATCH = 2000
#: Months of partitions kept ready ahead of the current one.
MONTHS_AHEAD = 2


@dataclass(frozen=True)
class AuditFilter:
    actor_id: uuid.UUID | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    action: str | None = None
    correlation_id: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


@dataclass(frozen=True)
class Verdict:
    """The answer of a verification: ``ok``, how many entries were checked, and the first
    broken entry with why (``reason``)."""

    ok: bool
    entries: int
    checkpoints: int
    first_broken_entry_id: uuid.UUID | None = None
    reason: str | None = None
    chain_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Checkpoint:
    id: uuid.UUID
    chain_id: uuid.UUID
    seq: int
    hash: str
    signed_at: datetime


def _platform_admin_required() -> Forbidden:
    return Forbidden(
        "The platform audit chain is for platform administrators only.",
        code="platform_admin_required",
    )


def entry_of(row: Any) -> Entry:
    return Entry(
        id=row.id,
        chain_id=row.chain_id,
        seq=row.seq,
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
        organisation_id=row.organisation_id,
        actor_id=row.actor_id,
        actor_type=row.actor_type,
        action=row.action,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        summary=row.summary,
        correlation_id=row.correlation_id,
        request_id=row.request_id,
        client_address=row.client_address,
        event_id=row.event_id,
        source=row.source,
    )


def actor_type_of(envelope: EventEnvelope) -> str:
    """The stamped actor type; else a person if someone acted, an anonymous caller if a
    request without one caused it (a share link), the system otherwise."""
    if envelope.actor_type:
        return envelope.actor_type[:32]
    if envelope.actor_id is not None:
        return "user"
    return "anonymous" if envelope.request_id else "system"


@dataclass
class AuditLog:
    store: Store
    tenancy: Tenancy
    clock: Clock
    signer: CheckpointSigner
    retention_days: int
    #: Months whose partition this process has seen exist (saves a round trip per append).
    _months: set[date] = field(default_factory=set)
    #: Heads this process holds locked, per open transaction: a run of events for one
    #: chain locks its head once, then appends from what it wrote itself.
    _held: weakref.WeakKeyDictionary[UnitOfWork, dict[uuid.UUID, tuple[int, str, datetime]]] = (
        field(default_factory=weakref.WeakKeyDictionary)
    )
    #: The driver connection under each open transaction (found once per transaction).
    _drivers: weakref.WeakKeyDictionary[UnitOfWork, Any] = field(
        default_factory=weakref.WeakKeyDictionary
    )

    # ------------------------------------------------------------------ access

    async def chain_for(
        self, principal: Principal, organisation_id: uuid.UUID | None, permission: str = AUDIT_READ
    ) -> uuid.UUID:
        """The chain the caller may read: its organisation's (404 outside, 403 without the
        permission) or, without an organisation, the platform chain (admins only)."""
        if organisation_id is None:
            if not principal.is_platform_admin:
                raise _platform_admin_required()
            return PLATFORM_CHAIN
        await self.tenancy.authorise(principal, organisation_id, permission)
        return organisation_id

    # ------------------------------------------------------------------ appending

    async def append(self, uow: UnitOfWork, envelope: EventEnvelope) -> Entry:
        """One event as the next entry of its organisation's chain (or the platform's)."""
        entity_type, entity_id = entity_of(
            envelope.event_type, envelope.payload, envelope.organisation_id
        )
        actor_id, summary = envelope.actor_id, summarise(envelope.payload)
        client_address = envelope.client_address
        erased = erased_by(envelope.event_type, envelope.payload)
        if erased is not None:
            summary = scrub_summary(summary, erased)
            entity_id = erased.scrub_text(entity_id) if entity_id is not None else None
            actor_id = erased.pseudonym if actor_id == erased.user_id else actor_id
            client_address = None
        return await self.record(
            uow,
            organisation_id=envelope.organisation_id,
            occurred_at=envelope.occurred_at,
            actor_id=actor_id,
            actor_type=actor_type_of(envelope),
            action=envelope.event_type,
            entity_type=entity_type,
            entity_id=entity_id,
            summary=summary,
            correlation_id=envelope.correlation_id,
            request_id=envelope.request_id,
            client_address=client_address,
            event_id=envelope.event_id,
            source=envelope.source,
        )

    async def record(
        self,
        uow: UnitOfWork,
        *,
        organisation_id: uuid.UUID | None,
        occurred_at: datetime,
        actor_id: uuid.UUID | None,
        actor_type: str,
        action: str,
        entity_type: str | None,
        entity_id: str | None,
        summary: dict[str, Any],
        correlation_id: str | None,
        request_id: str | None,
        client_address: str | None,
        event_id: uuid.UUID | None,
        source: str | None,
    ) -> Entry:
        chain_id = chain_of(organisation_id)
        held = self._held.get(uow)
        if held is None:
            held = self._held[uow] = {}
            self._drivers[uow] = await _driver(uow)
        driver = self._drivers[uow]
        head = held.get(chain_id)
        if head is None:
            head = await driver.fetchrow(_LOCK_HEAD, chain_id)
            if head is None:
                await driver.execute(_CREATE_HEAD, chain_id, GENESIS_HASH)
                head = await driver.fetchrow(_LOCK_HEAD, chain_id)
        last_seq, last_hash, last_recorded_at = head
        now = self.clock()
        recorded_at = max(now, last_recorded_at) if last_recorded_at else now
        month = month_start(recorded_at.astimezone(UTC))
        if month not in self._months:
            await driver.execute("SELECT content.audit_create_partition($1)", month)
            self._months.add(month)
        entry = Entry(
            id=new_id(),
            chain_id=chain_id,
            seq=last_seq + 1,
            occurred_at=occurred_at,
            recorded_at=recorded_at,
            organisation_id=organisation_id,
            actor_id=actor_id,
            actor_type=actor_type,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            summary=summary,
            correlation_id=correlation_id,
            request_id=request_id,
            client_address=client_address,
            event_id=event_id,
            source=source,
        )
        digest = entry_hash(last_hash, entry)
        values = [getattr(entry, k) for k in _ENTRY_COLUMNS]
        values[_ENTRY_COLUMNS.index("summary")] = _json.encode(summary).decode()
        await driver.execute(_APPEND, *values, last_hash, digest)
        held[chain_id] = (entry.seq, digest, recorded_at)
        return entry

    # ------------------------------------------------------------------ reading

    def _filtered(self, chain_id: uuid.UUID, f: AuditFilter) -> Select[Any]:
        conditions = [e.c.chain_id == chain_id]
        if f.actor_id is not None:
            conditions.append(e.c.actor_id == f.actor_id)
        if f.entity_type is not None:
            conditions.append(e.c.entity_type == f.entity_type)
        if f.entity_id is not None:
            conditions.append(e.c.entity_id == f.entity_id)
        if f.action is not None:
            conditions.append(e.c.action == f.action)
        if f.correlation_id is not None:
            conditions.append(e.c.correlation_id == f.correlation_id)
        if f.occurred_from is not None:
            conditions.append(e.c.occurred_at >= f.occurred_from)
        if f.occurred_to is not None:
            conditions.append(e.c.occurred_at < f.occurred_to)
        return select(e).where(and_(*conditions))

    async def entries(
        self,
        principal: Principal,
        organisation_id: uuid.UUID | None,
        f: AuditFilter,
        *,
        limit: int,
        cursor: str | None,
    ) -> Page[Any]:
        """Entries newest first (by position in the chain); the cursor is a position."""
        chain_id = await self.chain_for(principal, organisation_id)
        query = self._filtered(chain_id, f)
        if cursor is not None:
            query = query.where(e.c.seq < _seq_of(cursor))
        rows = await self.store.all(query.order_by(e.c.seq.desc()).limit(limit + 1))
        return page_of(rows, limit, lambda r: (r.seq,))

    async def export(
        self, principal: Principal, organisation_id: uuid.UUID | None, f: AuditFilter
    ) -> AsyncIterator[Any]:
        """Authorise now, then the matching entries oldest first, read in batches."""
        chain_id = await self.chain_for(principal, organisation_id)
        query = self._filtered(chain_id, f)

        async def rows() -> AsyncIterator[Any]:
            after = 0
            while True:
                batch = await self.store.all(
                    query.where(e.c.seq > after).order_by(e.c.seq).limit(BATCH)
                )
                for row in batch:
                    yield row
                if len(batch) < BATCH:
                    return
                after = batch[-1].seq

        return rows()

    # ------------------------------------------------------------------ verifying

    async def verify_for(self, principal: Principal, organisation_id: uuid.UUID | None) -> Verdict:
        return await self.verify(await self.chain_for(principal, organisation_id))

    async def chains(self) -> list[uuid.UUID]:
        return [r.chain_id for r in await self.store.all(select(ch.c.chain_id))]

    async def verify(self, chain_id: uuid.UUID) -> Verdict:
        """Recompute the chain from its anchor and check every signed checkpoint.

        Finds an edited entry (its hash no longer matches), a removed one (a gap in the
        positions, or a head the last entry does not reach) and a chain rewritten
        consistently from inside the database (a checkpoint's signature still holds but
        its position now hashes differently: the first entry after the last checkpoint
        that still matches is named).
        """
        # Checkpoints first, then the head, then entries up to that head: appends that
        # commit meanwhile only ever extend the chain beyond what is checked (a head read
        # first would be overtaken by a checkpoint signed since, entries read unbounded
        # would run past it — a live chain must not look broken).
        checkpoints = await self.store.all(
            select(cp).where(cp.c.chain_id == chain_id).order_by(cp.c.seq, cp.c.signed_at)
        )
        head = await self.store.first(select(ch).where(ch.c.chain_id == chain_id))
        count = 0

        def broken(reason: str, entry_id: uuid.UUID | None) -> Verdict:
            return Verdict(
                ok=False,
                entries=count,
                checkpoints=len(checkpoints),
                first_broken_entry_id=entry_id,
                reason=reason,
                chain_id=chain_id,
            )

        if head is None:
            if checkpoints:
                return broken("chain_missing", None)
            return Verdict(ok=True, entries=0, checkpoints=0, chain_id=chain_id)
        for c in checkpoints:
            message = head_message("checkpoint", chain_id, c.seq, c.hash, c.signed_at)
            if not self.signer.verify(message, c.signature):
                return broken("checkpoint_signature_invalid", None)
        for r in await self.store.all(select(rw).where(rw.c.chain_id == chain_id)):
            message = rewrite_message(
                chain_id, r.first_seq, r.last_seq, r.hash_before, r.hash_after, r.rewritten_at
            )
            if not self.signer.verify(message, r.signature):
                return broken("rewrite_signature_invalid", None)
        if head.anchor_seq == 0:
            if head.anchor_hash != GENESIS_HASH:
                return broken("anchor_invalid", None)
        else:
            message = head_message(
                "anchor", chain_id, head.anchor_seq, head.anchor_hash, head.anchor_at
            )
            if head.anchor_signature is None or not self.signer.verify(
                message, head.anchor_signature
            ):
                return broken("anchor_invalid", None)
        by_seq: dict[int, list[str]] = {}
        for c in checkpoints:
            if c.seq == head.anchor_seq and c.hash != head.anchor_hash:
                return broken("checkpoint_mismatch", None)
            if c.seq > head.anchor_seq:
                by_seq.setdefault(c.seq, []).append(c.hash)
        expected_seq, previous = head.anchor_seq + 1, head.anchor_hash
        #: The first entry after the last checkpoint that matched: where a consistent
        #: rewrite can have started.
        since_checkpoint: uuid.UUID | None = None
        last_id: uuid.UUID | None = None
        after = head.anchor_seq
        while True:
            batch = await self.store.all(
                select(e)
                .where(e.c.chain_id == chain_id, e.c.seq > after, e.c.seq <= head.last_seq)
                .order_by(e.c.seq)
                .limit(BATCH)
            )
            for row in batch:
                count += 1
                if row.seq != expected_seq:
                    return broken("entry_missing", row.id)
                if row.prev_hash != previous:
                    return broken("link_broken", row.id)
                if entry_hash(previous, entry_of(row)) != row.hash:
                    return broken("entry_altered", row.id)
                if since_checkpoint is None:
                    since_checkpoint = row.id
                for signed in by_seq.get(row.seq, ()):
                    if signed != row.hash:
                        return broken("checkpoint_mismatch", since_checkpoint)
                if row.seq in by_seq:
                    since_checkpoint = None
                previous, expected_seq, last_id = row.hash, row.seq + 1, row.id
            if len(batch) < BATCH:
                break
            after = batch[-1].seq
        if expected_seq - 1 != head.last_seq or previous != head.last_hash:
            return broken("entries_missing_at_end", last_id)
        if any(seq > head.last_seq for seq in by_seq):
            return broken("entries_missing_at_end", last_id)
        return Verdict(ok=True, entries=count, checkpoints=len(checkpoints), chain_id=chain_id)

    # ------------------------------------------------------------------ checkpoints

    async def checkpoint_for(
        self, principal: Principal, organisation_id: uuid.UUID | None
    ) -> Checkpoint:
        """On demand: organisation admins (``content.admin``), platform admins for the
        platform chain."""
        return await self.checkpoint(await self.chain_for(principal, organisation_id, ADMIN))

    async def checkpoint(self, chain_id: uuid.UUID) -> Checkpoint:
        """Sign the chain's head as it is now (an empty chain: its genesis)."""
        async with self.store.uow() as uow:
            head = (
                await uow.session.execute(
                    select(ch.c.last_seq, ch.c.last_hash).where(ch.c.chain_id == chain_id)
                )
            ).first()
            seq, last = (head.last_seq, head.last_hash) if head else (0, GENESIS_HASH)
            now = self.clock()
            made = Checkpoint(id=new_id(), chain_id=chain_id, seq=seq, hash=last, signed_at=now)
            await uow.session.execute(
                insert(AuditCheckpoint).values(
                    id=made.id,
                    chain_id=chain_id,
                    seq=seq,
                    hash=last,
                    signed_at=now,
                    signature=self.signer.sign(
                        head_message("checkpoint", chain_id, seq, last, now)
                    ),
                )
            )
            await uow.commit()
        return made

    async def checkpoint_all(self) -> int:
        """Sign the head of every chain that grew since its last checkpoint."""
        rows = await self.store.all(
            text(
                "SELECT h.chain_id FROM content.audit_chains h WHERE h.last_seq >"
                " COALESCE((SELECT max(c.seq) FROM content.audit_checkpoints c"
                " WHERE c.chain_id = h.chain_id), -1)"
            )
        )
        for row in rows:
            await self.checkpoint(row.chain_id)
        return len(rows)

    # ------------------------------------------------------------------ partitions

    async def partitions(self) -> list[str]:
        rows = await self.store.all(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                " WHERE i.inhparent = 'content.audit_entries'::regclass ORDER BY c.relname"
            )
        )
        return [r.relname for r in rows]

    async def ensure_partitions(self) -> list[str]:
        """This month's partition and the next ``MONTHS_AHEAD`` ones."""
        month = month_start(self.clock().astimezone(UTC))
        made: list[str] = []
        async with self.store.uow() as uow:
            for _ in range(MONTHS_AHEAD + 1):
                made.append(
                    (
                        await uow.session.execute(
                            text("SELECT content.audit_create_partition(:m)"), {"m": month}
                        )
                    ).scalar_one()
                )
                self._months.add(month)
                month = next_month(month)
            await uow.commit()
        return made

    async def apply_retention(self) -> list[str]:
        """Drop every month that ended more than ``retention_days`` ago, oldest first,
        after moving each chain's anchor to its last dropped entry (signed). 0 keeps all."""
        if self.retention_days == 0:
            return []
        cutoff = self.clock().astimezone(UTC) - timedelta(days=self.retention_days)
        dropped: list[str] = []
        for name in await self.partitions():
            month = month_of_partition(name)
            if month is None:
                continue
            end = next_month(month)
            if datetime(end.year, end.month, end.day, tzinfo=UTC) > cutoff:
                continue
            await self._drop(name)
            self._months.discard(month)
            dropped.append(name)
        return dropped

    async def _drop(self, name: str) -> None:
        now = self.clock()
        async with self.store.uow() as uow:
            session = uow.session
            lasts = (await session.execute(text(_LAST_OF_EACH_CHAIN.format(name=name)))).all()
            for last in sorted(lasts, key=lambda r: r.chain_id):
                head = (
                    await session.execute(
                        select(ch.c.anchor_seq)
                        .where(ch.c.chain_id == last.chain_id)
                        .with_for_update()
                    )
                ).one()
                if last.seq <= head.anchor_seq:
                    continue
                await session.execute(
                    update(AuditChain)
                    .where(ch.c.chain_id == last.chain_id)
                    .values(
                        anchor_seq=last.seq,
                        anchor_hash=last.hash,
                        anchor_at=now,
                        anchor_signature=self.signer.sign(
                            head_message("anchor", last.chain_id, last.seq, last.hash, now)
                        ),
                    )
                )
            await session.execute(text(f'DROP TABLE content_audit."{name}"'))
            await uow.commit()
        log.info("audit_partition_dropped", partition=name, chains=len(lasts))


#: Appends speak to the driver directly with prepared statements: two round trips per
#: entry (lock the head; insert the entry and move the head in one statement), and none of
#: the statement building that would otherwise cost more than the database does.
_LOCK_HEAD = (
    "SELECT last_seq, last_hash, last_recorded_at FROM content.audit_chains"
    " WHERE chain_id = $1 FOR UPDATE"
)
_CREATE_HEAD = (
    "INSERT INTO content.audit_chains (chain_id, last_seq, last_hash, anchor_seq, anchor_hash)"
    " VALUES ($1, 0, $2, 0, $2) ON CONFLICT (chain_id) DO NOTHING"
)


_APPEND_TEMPLATE = (
    "WITH appended AS (INSERT INTO content.audit_entries ({columns}) VALUES ({marks}))"
    " UPDATE content.audit_chains SET last_seq = ${seq}, last_hash = ${digest},"
    " last_recorded_at = ${recorded_at} WHERE chain_id = $2"
)


def _append_statement() -> str:
    columns = [*_ENTRY_COLUMNS, "prev_hash", "hash"]
    marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    seq, recorded_at, digest = (
        _ENTRY_COLUMNS.index("seq") + 1,
        _ENTRY_COLUMNS.index("recorded_at") + 1,
        len(columns),
    )
    return _APPEND_TEMPLATE.format(
        columns=", ".join(columns), marks=marks, seq=seq, recorded_at=recorded_at, digest=digest
    )


async def _driver(uow: UnitOfWork) -> Any:
    """The asyncpg connection under the unit of work's session (same transaction)."""
    connection = await uow.session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    if not driver.is_in_transaction():
        # SQLAlchemy's adapter opens its transaction lazily, on its first statement: run
        # one, or the head's row lock would end with the statement that took it.
        await uow.session.execute(text("SELECT 1"))
    return driver


_json = msgspec.json.Encoder()

#: The last entry of every chain in one partition (a name this module made, never input).
_LAST_OF_EACH_CHAIN = (
    'SELECT DISTINCT ON (chain_id) chain_id, seq, hash FROM content_audit."{name}"'
    " ORDER BY chain_id, seq DESC"
)

_ENTRY_COLUMNS: tuple[str, ...] = (
    "id",
    "chain_id",
    "seq",
    "occurred_at",
    "recorded_at",
    "organisation_id",
    "actor_id",
    "actor_type",
    "action",
    "entity_type",
    "entity_id",
    "summary",
    "correlation_id",
    "request_id",
    "client_address",
    "event_id",
    "source",
)
_APPEND = _append_statement()


def _seq_of(cursor: str) -> int:
    (seq,) = decode_cursor(cursor, 1)
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise invalid_cursor()
    return seq
