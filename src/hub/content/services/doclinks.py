"""Document links kept in both directions (``document`` custom fields): the locking,
loading and writing around the pure decision in ``domain.doclinks``.

Every write of a document's custom fields goes through :meth:`DocumentLinks.write`, in
the writer's transaction: it locks the document and every document named on either side
of its links — all in one statement, in id order, so two writers linking A to B and B to
A at once queue instead of deadlocking — then decides, then writes the other sides. The
reverse side is the system's consequence of the writer's edit: it needs the writer to
*read* the other document, not to edit it (one cannot link to what one cannot see), and
its ``content.document.updated`` event names the document whose edit caused it
(``linkedFrom``). Readers who may not read A never see A's id on B: every view filters
link values by the viewer's read permission (:func:`visible_links`).

Deleting a document for good removes it from every document linking it
(:meth:`DocumentLinks.detach`); the trash keeps links so a restore brings them back.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.content.api import DocumentUpdated
from hub.content.domain.access import Caller
from hub.content.domain.doclinks import (
    Target,
    as_links,
    linked_ids,
    plan_links,
    unlink_all,
)
from hub.content.domain.taxonomy import FieldType
from hub.content.models import Document
from hub.content.repositories import taxonomy as taxonomy_repo
from hub.content.repositories.documents import readable
from hub.content.services.search_index import SearchIndex
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import Conflict
from hub.kernel.store import Store

d = Document.__table__
f = taxonomy_repo.fields

#: Times a write re-reads and re-locks when the document's links changed between its
#: first read and its lock (another writer committed in between); then 409.
_ATTEMPTS = 5


def _trashed() -> Conflict:
    return Conflict("The document is in the trash; restore it first.", code="document_trashed")


class _Moved(Exception):
    """The document gained a link after it was read: lock again, with that one too."""


@dataclass(frozen=True)
class Written:
    #: The document's custom fields as they were, under the lock (empty when new).
    current: dict[str, Any]
    #: Its custom fields to store.
    fields: dict[str, Any]
    #: The other documents whose fields changed as a consequence (ids, ascending).
    touched: list[uuid.UUID] = field(default_factory=list)


async def link_keys(session: AsyncSession, organisation_id: uuid.UUID) -> frozenset[str]:
    """Keys of the organisation's ``document`` fields."""
    rows = await session.execute(
        select(f.c.key).where(
            f.c.organisation_id == organisation_id, f.c.type == FieldType.DOCUMENT.value
        )
    )
    return frozenset(rows.scalars())


def _uuids(ids: set[str]) -> list[uuid.UUID]:
    out = []
    for raw in ids:
        try:
            out.append(uuid.UUID(raw))
        except ValueError:  # a stored value is always an id; ignore anything else
            continue
    return sorted(out)


async def _lock(session: AsyncSession, ids: set[str]) -> dict[str, Target]:
    """Lock the documents ``ids`` (those that exist) in id order, the one order every
    writer takes, and read them."""
    if not ids:
        return {}
    rows = await session.execute(
        select(d.c.id, d.c.organisation_id, d.c.trashed_at, d.c.custom_fields)
        .where(d.c.id.in_(_uuids(ids)))
        .order_by(d.c.id)
        .with_for_update()
    )
    return {
        str(r.id): Target(
            organisation_id=r.organisation_id,
            trashed=r.trashed_at is not None,
            fields=r.custom_fields,
        )
        for r in rows
    }


async def _readable(session: AsyncSession, reader: Caller, ids: set[str]) -> frozenset[str]:
    if not ids:
        return frozenset()
    rows = await session.execute(select(d.c.id).where(d.c.id.in_(_uuids(ids)), readable(reader)))
    return frozenset(str(i) for i in rows.scalars())


class DocumentLinks:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def write(
        self,
        session: AsyncSession,
        *,
        source: uuid.UUID,
        organisation_id: uuid.UUID,
        fields: dict[str, Any],
        reader: Caller | None,
        new: bool = False,
    ) -> Written:
        """Lock ``source`` and the documents its links name (before and after), decide
        both sides, write the other sides. ``fields``: the checked custom fields the
        writer sent; ``reader``: the writer (None: a system actor, no read filter);
        ``new``: ``source`` is being created (nothing to read or lock of it)."""
        keys = await link_keys(session, organisation_id)
        if not keys:
            current = {} if new else await self._lock_alone(session, source)
            return Written(current=current, fields=fields)
        me = str(source)
        wanted = linked_ids(fields, keys)
        for _ in range(_ATTEMPTS):
            try:
                async with session.begin_nested():  # rolled back (locks released) on _Moved
                    return await self._write(
                        session, me, organisation_id, keys, fields, wanted, reader, new
                    )
            except _Moved:
                continue
        raise Conflict(
            "The document's links changed while saving; try again.", code="concurrent_update"
        )

    async def _lock_alone(self, session: AsyncSession, source: uuid.UUID) -> dict[str, Any]:
        row = (
            await session.execute(
                select(d.c.custom_fields, d.c.trashed_at).where(d.c.id == source).with_for_update()
            )
        ).first()
        if row is None:
            return {}
        if row.trashed_at is not None:  # trashed since it was opened
            raise _trashed()
        return dict(row.custom_fields)

    async def _write(
        self,
        session: AsyncSession,
        me: str,
        organisation_id: uuid.UUID,
        keys: frozenset[str],
        fields: dict[str, Any],
        wanted: set[str],
        reader: Caller | None,
        new: bool,
    ) -> Written:
        seen: set[str] = set()
        if not new:
            peek = await session.scalar(select(d.c.custom_fields).where(d.c.id == uuid.UUID(me)))
            seen = linked_ids(peek or {}, keys) | {me}
        targets = await _lock(session, wanted | seen)
        current: dict[str, Any] = {}
        if not new and me in targets:
            current = dict(targets[me].fields)
            if linked_ids(current, keys) - (wanted | seen):
                raise _Moved
            if targets[me].trashed:  # trashed since it was opened
                raise _trashed()
        named = wanted | linked_ids(current, keys)
        plan = plan_links(
            source=me,
            organisation_id=organisation_id,
            keys=keys,
            current=current,
            wanted=fields,
            targets=targets,
            readable=None if reader is None else await _readable(session, reader, named - {me}),
        )
        touched = await self._store(session, plan.others)
        return Written(current=current, fields=plan.fields, touched=touched)

    async def _store(
        self, session: AsyncSession, others: dict[str, dict[str, Any]]
    ) -> list[uuid.UUID]:
        now = self.clock()
        touched = sorted(uuid.UUID(i) for i in others)
        for other in touched:
            await session.execute(
                update(Document)
                .where(d.c.id == other)
                .values(custom_fields=others[str(other)], updated_at=now)
            )
        return touched

    async def detach(
        self, session: AsyncSession, source: uuid.UUID, organisation_id: uuid.UUID
    ) -> list[uuid.UUID]:
        """Before ``source`` is deleted for good: lock it and the documents linking it (in
        id order) and remove it from their fields. Returns those that changed."""
        keys = await link_keys(session, organisation_id)
        if not keys:
            return []
        me = str(source)
        for _ in range(_ATTEMPTS):
            try:
                async with session.begin_nested():
                    peek = await session.scalar(select(d.c.custom_fields).where(d.c.id == source))
                    seen = linked_ids(peek or {}, keys) | {me}
                    targets = await _lock(session, seen)
                    if me in targets and linked_ids(targets[me].fields, keys) - seen:
                        raise _Moved
                    others = unlink_all(source=me, keys=keys, targets=targets)
                    return await self._store(session, others)
            except _Moved:
                continue
        raise Conflict(
            "The document's links changed while deleting it; try again.",
            code="concurrent_update",
        )


async def publish_reverse(
    uow: UnitOfWork,
    touched: Sequence[uuid.UUID],
    *,
    organisation_id: uuid.UUID,
    source: uuid.UUID,
    via: str,
    actor_id: uuid.UUID | None = None,
) -> None:
    """``content.document.updated`` for each document whose links changed because of
    ``source`` (``linkedFrom``): an audit trail shows why B changed though nobody edited B.
    Their search rows (field values) are rewritten in the same transaction."""
    await SearchIndex.refresh(uow, touched)
    for other in touched:
        uow.publish(
            DocumentUpdated(
                document_id=other,
                organisation_id=organisation_id,
                changed=["customFields"],
                via=via,
                actor_id=actor_id,
                linked_from=source,
            )
        )


async def visible_links(
    store: Store, viewer: Caller, views: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``views`` with every ``document`` field narrowed to the documents ``viewer`` may
    read (a field left with none is dropped): a link never reveals a document's id to
    someone who could not open it."""
    valued = [v for v in views if v["custom_fields"]]
    if not valued:
        return views
    definitions = await store.all(
        select(f.c.key).where(
            f.c.organisation_id == viewer.organisation_id, f.c.type == FieldType.DOCUMENT.value
        )
    )
    keys = frozenset(r.key for r in definitions)
    named = {link for v in valued for link in linked_ids(v["custom_fields"], keys)}
    if not named:
        return views
    rows = await store.all(select(d.c.id).where(d.c.id.in_(_uuids(named)), readable(viewer)))
    seen = {str(r.id) for r in rows}
    for view in valued:
        fields = dict(view["custom_fields"])
        for key in keys & fields.keys():
            links = [link for link in as_links(fields[key]) if link in seen]
            if links:
                fields[key] = links
            else:
                del fields[key]
        view["custom_fields"] = fields
    return views
