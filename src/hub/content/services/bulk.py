"""``POST /documents/bulk``: one change to up to 500 documents, all or nothing.

One transaction: lock the named documents' rows (in id order, so overlapping bulk edits
queue instead of deadlocking), judge each with the rule and the check its
single-document operation uses (``services.access``, ``check_editable``,
``check_trashable``, ``check_restorable``), refuse the whole request naming every refused
document (``domain.bulk``) or apply the change to all, publish the event each
single-document operation would have published for each document that changed (through
the unit of work's outbox), commit. A document the change leaves as it was publishes
nothing and is not counted in ``updated``.

Organisation-wide inputs (the tags to remove, the document type, the custom field's
value, the share's member or role) are checked once, after the documents, by the same
rules as a single edit (``MetadataRules``, ``resolve_tags``, ``SharingService.check``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.content.api import DocumentRestored, DocumentTrashed, DocumentUpdated
from hub.content.domain.access import Action
from hub.content.domain.bulk import Refusal, each_once, refused
from hub.content.domain.documents import MAX_TAGS, parse_tags
from hub.content.models import Document, DocumentShare, DocumentTag
from hub.content.repositories import documents
from hub.content.services.access import DocumentAccess, Opened, document_not_found
from hub.content.services.doclinks import link_keys
from hub.content.services.documents import check_editable
from hub.content.services.search_index import SearchIndex
from hub.content.services.sharing import Share, SharingService, shared_event
from hub.content.services.tagging import resolve_tags
from hub.content.services.taxonomy import MetadataRules
from hub.content.services.trash import check_restorable, check_trashable
from hub.content.services.views import document_views
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import AppError, Invalid
from hub.kernel.problems import field_invalid
from hub.kernel.security import Principal
from hub.kernel.store import Store

d = cast(Table, Document.__table__)
dt = DocumentTag.__table__
s = DocumentShare.__table__

#: Rows per multi-row INSERT (two parameters each).
INSERT_SLICE = 5000
#: A document's own check beyond the action's permission (raises its refusal).
Check = Callable[[Opened], None]
#: Applies the change to the accepted documents; answers the ids it changed.
Change = Callable[[AsyncSession, UnitOfWork, list[Opened]], Awaitable[list[uuid.UUID]]]


@dataclass(frozen=True)
class BulkResult:
    #: How many documents changed.
    updated: int
    #: Every named document as it now is, in request order (views, as ``GET`` shows them).
    items: list[dict[str, Any]]


def too_many_tags() -> AppError:
    return AppError(
        f"A document has at most {MAX_TAGS} tags.", code="too_many_tags", status_code=422
    )


async def _named_in_operation(check: Awaitable[Any], fields: dict[str, str]) -> Any:
    """Run a single-document check whose 422 names its own body's fields (``shares[0]``,
    ``documentTypeId``) and name the bulk body's instead (``operation``…)."""
    try:
        return await check
    except Invalid as error:
        for item in error.errors or []:
            for old, new in fields.items():
                if item.field == old or item.field.startswith(old + "."):
                    item.field = new + item.field[len(old) :]
        raise


def _no_check(opened: Opened) -> None:
    """Trash (already there: nothing to do) and share need only the action's right."""


class BulkService:
    def __init__(
        self,
        store: Store,
        access: DocumentAccess,
        metadata: MetadataRules,
        sharing: SharingService,
        clock: Clock,
    ) -> None:
        self.store = store
        self.access = access
        self.metadata = metadata
        self.sharing = sharing
        self.clock = clock

    # ------------------------------------------------------------------ the frame

    async def _run(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        document_ids: Sequence[uuid.UUID],
        action: Action,
        check: Check,
        change: Change,
    ) -> BulkResult:
        each_once(document_ids)
        caller = await self.access.caller(principal, organisation_id)  # non-member: 404
        async with self.store.uow() as uow:
            session = uow.session
            rows = await documents.lock_in_organisation(session, organisation_id, document_ids)
            judged = await self.access.judge_locked(session, rows, caller)
            accepted: list[Opened] = []
            refusals: list[Refusal] = []
            for document_id in document_ids:
                opened = judged.get(document_id)
                try:
                    if opened is None:  # absent, another organisation's, or unreadable
                        raise document_not_found()
                    opened.require(action)
                    check(opened)
                except AppError as error:
                    refusals.append(Refusal.of(document_id, error))
                    continue
                accepted.append(opened)
            if refusals:
                raise refused(refusals, document_ids)
            changed = await change(session, uow, accepted)
            if changed:
                # tags, type and field values are searchable from this commit on
                await SearchIndex.refresh(uow, changed)
                await uow.commit()
        rows = await documents.by_ids(self.store, document_ids)
        by_id = {row.id: row for row in rows}
        # (one deleted for good since the commit is simply no longer shown)
        shown = [by_id[i] for i in document_ids if i in by_id]
        items = await document_views(self.store, shown, caller)
        return BulkResult(updated=len(changed), items=items)

    def _updated(self, uow: UnitOfWork, opened: Opened, field: str) -> None:
        """``PATCH``'s event, naming the one field the bulk edit changed."""
        uow.publish(
            DocumentUpdated(
                document_id=opened.id,
                organisation_id=opened.row.organisation_id,
                changed=[field],
            )
        )

    async def _touch(self, session: AsyncSession, ids: list[uuid.UUID], **values: Any) -> None:
        if ids:
            await session.execute(
                update(Document).where(d.c.id.in_(ids)).values(updated_at=self.clock(), **values)
            )

    # ------------------------------------------------------------------ tags

    async def add_tags(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        document_ids: Sequence[uuid.UUID],
        tags: list[str],
    ) -> BulkResult:
        """Add the tags (ids, or names: unknown names become tags) to every document."""
        refs = parse_tags(tags, field="operation.tags")

        async def change(
            session: AsyncSession, uow: UnitOfWork, accepted: list[Opened]
        ) -> list[uuid.UUID]:
            wanted = await resolve_tags(session, organisation_id, refs, field="operation.tags")
            current = await documents.tag_ids_in(session, [o.id for o in accepted])
            over = [o.id for o in accepted if len(current[o.id] | set(wanted)) > MAX_TAGS]
            if over:
                raise refused([Refusal.of(i, too_many_tags()) for i in over], document_ids)
            pairs = [
                {"document_id": o.id, "tag_id": t}
                for o in accepted
                for t in wanted
                if t not in current[o.id]
            ]
            changed = list(dict.fromkeys(p["document_id"] for p in pairs))
            # up to 500 documents by 50 tags: in slices, under asyncpg's 32767 parameters
            for start in range(0, len(pairs), INSERT_SLICE):
                await session.execute(
                    insert(DocumentTag)
                    .values(pairs[start : start + INSERT_SLICE])
                    .on_conflict_do_nothing()
                )
            await self._touch(session, changed)
            for opened in accepted:
                if opened.id in changed:
                    self._updated(uow, opened, "tags")
            return changed

        return await self._run(
            principal, organisation_id, document_ids, Action.EDIT, check_editable, change
        )

    async def remove_tags(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        document_ids: Sequence[uuid.UUID],
        tags: list[str],
    ) -> BulkResult:
        """Take the tags (ids or names of existing tags: 422 otherwise) off every document."""
        refs = parse_tags(tags, field="operation.tags")

        async def change(
            session: AsyncSession, uow: UnitOfWork, accepted: list[Opened]
        ) -> list[uuid.UUID]:
            unwanted = set(
                await resolve_tags(
                    session, organisation_id, refs, field="operation.tags", create=False
                )
            )
            current = await documents.tag_ids_in(session, [o.id for o in accepted])
            changed = [o.id for o in accepted if current[o.id] & unwanted]
            if changed:
                await session.execute(
                    delete(DocumentTag).where(
                        dt.c.document_id.in_(changed), dt.c.tag_id.in_(list(unwanted))
                    )
                )
            await self._touch(session, changed)
            for opened in accepted:
                if opened.id in changed:
                    self._updated(uow, opened, "tags")
            return changed

        return await self._run(
            principal, organisation_id, document_ids, Action.EDIT, check_editable, change
        )

    # ------------------------------------------------------------------ type, fields

    async def set_document_type(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        document_ids: Sequence[uuid.UUID],
        document_type_id: uuid.UUID | None,
    ) -> BulkResult:
        """Every document gets this type of the organisation (None: no type)."""

        async def change(
            session: AsyncSession, uow: UnitOfWork, accepted: list[Opened]
        ) -> list[uuid.UUID]:
            await _named_in_operation(
                self.metadata.document_type(session, organisation_id, document_type_id),
                {"documentTypeId": "operation.documentTypeId"},
            )
            changed = [o.id for o in accepted if o.row.document_type_id != document_type_id]
            await self._touch(session, changed, document_type_id=document_type_id)
            for opened in accepted:
                if opened.id in changed:
                    self._updated(uow, opened, "documentTypeId")
            return changed

        return await self._run(
            principal, organisation_id, document_ids, Action.EDIT, check_editable, change
        )

    async def set_custom_field(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        document_ids: Sequence[uuid.UUID],
        key: str,
        value: Any,
    ) -> BulkResult:
        """One custom field of every document set (``None``: removed); the document's
        other fields stay. The value is checked once, as ``PATCH`` checks it."""

        async def change(
            session: AsyncSession, uow: UnitOfWork, accepted: list[Opened]
        ) -> list[uuid.UUID]:
            if key in await link_keys(session, organisation_id):
                # A link changes the linked document too (both directions, under locks
                # taken in id order with it): one document at a time, through PATCH.
                raise field_invalid(
                    "operation.key",
                    f"{key} is a document link: set it per document (PATCH /documents/{{id}}).",
                )
            cleaned = await self.metadata.custom_fields(session, organisation_id, {key: value})
            new: dict[uuid.UUID, dict[str, Any]] = {}
            for opened in accepted:
                fields = {k: v for k, v in opened.row.custom_fields.items() if k != key}
                fields.update(cleaned)
                if fields != opened.row.custom_fields:
                    new[opened.id] = fields
            if new:
                now = self.clock()
                await session.execute(  # Core, not the ORM entity: one executemany
                    update(d)
                    .where(d.c.id == bindparam("doc_id"))
                    .values(custom_fields=bindparam("fields"), updated_at=now),
                    [{"doc_id": i, "fields": f} for i, f in new.items()],
                )
            for opened in accepted:
                if opened.id in new:
                    self._updated(uow, opened, "customFields")
            return list(new)

        return await self._run(
            principal, organisation_id, document_ids, Action.EDIT, check_editable, change
        )

    # ------------------------------------------------------------------ trash

    async def trash(
        self, principal: Principal, organisation_id: uuid.UUID, document_ids: Sequence[uuid.UUID]
    ) -> BulkResult:
        """Into the trash (409 ``legal_hold`` for a held one; already there: unchanged)."""

        async def change(
            session: AsyncSession, uow: UnitOfWork, accepted: list[Opened]
        ) -> list[uuid.UUID]:
            due = [o for o in accepted if o.row.trashed_at is None]
            now = self.clock()
            if due:
                await session.execute(
                    update(Document)
                    .where(d.c.id.in_([o.id for o in due]))
                    .values(trashed_at=now, trashed_by=due[0].caller.user_id, updated_at=now)
                )
            for opened in due:
                uow.publish(
                    DocumentTrashed(
                        document_id=opened.id, organisation_id=opened.row.organisation_id
                    )
                )
            return [o.id for o in due]

        def check(opened: Opened) -> None:
            check_trashable(opened.row)

        return await self._run(
            principal, organisation_id, document_ids, Action.DELETE, check, change
        )

    async def restore(
        self, principal: Principal, organisation_id: uuid.UUID, document_ids: Sequence[uuid.UUID]
    ) -> BulkResult:
        """Out of the trash (409 ``document_not_trashed`` for one that is not in it)."""

        async def change(
            session: AsyncSession, uow: UnitOfWork, accepted: list[Opened]
        ) -> list[uuid.UUID]:
            ids = [o.id for o in accepted]
            await self._touch(session, ids, trashed_at=None, trashed_by=None)
            for opened in accepted:
                uow.publish(
                    DocumentRestored(
                        document_id=opened.id, organisation_id=opened.row.organisation_id
                    )
                )
            return ids

        def check(opened: Opened) -> None:
            check_restorable(opened.row)

        return await self._run(
            principal, organisation_id, document_ids, Action.DELETE, check, change
        )

    # ------------------------------------------------------------------ share

    async def share(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        document_ids: Sequence[uuid.UUID],
        share: Share,
    ) -> BulkResult:
        """Grant one user or role ``view`` or ``edit`` on every document: that subject's
        share is set to ``access`` (replacing a share it had), the restriction and the
        other shares stay."""
        if share.user_id is not None:
            subject: tuple[str, uuid.UUID | None] = ("user", share.user_id)
        else:
            subject = ("role", share.role_id)

        async def change(
            session: AsyncSession, uow: UnitOfWork, accepted: list[Opened]
        ) -> list[uuid.UUID]:
            await _named_in_operation(
                self.sharing.check(organisation_id, [share]), {"shares[0]": "operation"}
            )
            kind, subject_id = subject
            assert subject_id is not None  # check() wants exactly one of user and role
            key = (kind, subject_id)
            current = await documents.shares_in(session, [o.id for o in accepted])
            due = [o for o in accepted if current[o.id].get(key) != share.access]
            if due:
                statement = insert(DocumentShare).values(
                    [
                        {
                            "document_id": o.id,
                            "subject_kind": kind,
                            "subject_id": subject_id,
                            "access": share.access,
                        }
                        for o in due
                    ]
                )
                await session.execute(
                    statement.on_conflict_do_update(
                        index_elements=[s.c.document_id, s.c.subject_kind, s.c.subject_id],
                        set_={"access": statement.excluded.access},
                    )
                )
            await self._touch(session, [o.id for o in due])
            for opened in due:
                subjects = {**current[opened.id], key: share.access}
                uow.publish(
                    shared_event(
                        opened.id, opened.row.organisation_id, opened.row.restricted, subjects
                    )
                )
            return [o.id for o in due]

        return await self._run(
            principal, organisation_id, document_ids, Action.SHARE, _no_check, change
        )
