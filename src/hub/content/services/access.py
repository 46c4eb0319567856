"""Who is calling, and what they may do to one document: the tenancy rule (kernel) for the
organisation, then the document rule (``domain.access``) for the document.

A document outside the caller's organisations and one inside that it may not read give
the same 404, so an id reveals nothing; a readable document whose action is refused is a
403 naming the permission.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from hub.content.api import DocumentRead
from hub.content.domain.access import (
    WRITE,
    Action,
    Caller,
    Facts,
    ShareAccess,
    caller_of,
    capabilities,
)
from hub.content.repositories import documents
from hub.identity.api import IdentityApi, Membership
from hub.kernel.problems import not_found
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.kernel.tenancy import Member, Tenancy, permission_denied


def document_not_found() -> Exception:
    return not_found("document")


def as_caller(member: Member) -> Caller:
    """The tenancy rule's membership (identity's :class:`Membership`) as a caller."""
    if not isinstance(member, Membership):
        raise TypeError(f"tenancy returned {type(member).__name__}, not identity's Membership")
    return caller_of(member)


@dataclass(frozen=True)
class Opened:
    """A document the caller may read, and everything it may do to it."""

    row: Row[Any]
    caller: Caller
    may: frozenset[Action]

    @property
    def id(self) -> uuid.UUID:
        document_id: uuid.UUID = self.row.id
        return document_id

    def require(self, action: Action) -> None:
        if action not in self.may:
            raise permission_denied(action.value)

    @property
    def audit_reads(self) -> bool:
        """Whether the document's type audits every read (rows loaded by
        ``documents.by_id`` say; others never do)."""
        return bool(self.row._mapping.get("audit_reads", False))


class DocumentAccess:
    def __init__(self, store: Store, tenancy: Tenancy) -> None:
        self.store = store
        self.tenancy = tenancy

    async def caller(self, principal: Principal, organisation_id: uuid.UUID) -> Caller:
        return as_caller(await self.tenancy.authorise(principal, organisation_id, None))

    async def open(
        self, principal: Principal, document_id: uuid.UUID, action: Action = Action.READ
    ) -> Opened:
        """The document if the caller may read it (404 otherwise) and take ``action``
        (403 otherwise)."""
        row = await documents.by_id(self.store, document_id)
        if row is None:
            raise document_not_found()
        member = await self.tenancy.membership(principal, row.organisation_id)
        if member is None:
            raise document_not_found()
        opened = await self.judge(row, as_caller(member))
        opened.require(action)
        return opened

    async def read(
        self,
        principal: Principal,
        document_id: uuid.UUID,
        what: str,
        *,
        version: int | None = None,
    ) -> Opened:
        """:meth:`open` for reading, and the read recorded (:meth:`audit`)."""
        opened = await self.open(principal, document_id)
        await self.audit(opened, what, version=version)
        return opened

    async def audit(self, opened: Opened, what: str, *, version: int | None = None) -> None:
        """Publish ``content.document.read`` when the document's type audits reads
        (``auditReads``), committed before the answer leaves; nothing otherwise."""
        if opened.audit_reads:
            await self.record_read(opened.id, opened.row.organisation_id, what, version=version)

    async def record_read(
        self,
        document_id: uuid.UUID,
        organisation_id: uuid.UUID,
        what: str,
        *,
        version: int | None = None,
    ) -> None:
        """Publish ``content.document.read`` (the caller decided the read is audited)."""
        async with self.store.uow() as uow:
            uow.publish(
                DocumentRead(
                    document_id=document_id,
                    organisation_id=organisation_id,
                    what=what,
                    version=version,
                )
            )
            await uow.commit()

    async def judge(self, row: Row[Any], caller: Caller) -> Opened:
        share = None
        if _needs_share(row, caller):
            share = await documents.share_for(self.store, row.id, caller)
        opened = decide(row, caller, share)
        if opened is None:
            raise document_not_found()
        return opened

    async def judge_locked(
        self, session: AsyncSession, rows: Sequence[Row[Any]], caller: Caller
    ) -> dict[uuid.UUID, Opened | None]:
        """:meth:`judge` of many documents inside the caller's transaction (their rows
        locked by it): each document's :class:`Opened`, or None where the caller may not
        read it. One query for the shares, whatever the number of documents."""
        shares = await documents.shares_reaching(
            session, [r.id for r in rows if _needs_share(r, caller)], caller
        )
        return {r.id: decide(r, caller, shares.get(r.id)) for r in rows}


def _needs_share(row: Row[Any], caller: Caller) -> bool:
    """Admins and owners are decided without looking at the shares."""
    return not caller.is_admin and row.owner_id != caller.user_id


def decide(row: Row[Any], caller: Caller, share: ShareAccess | None) -> Opened | None:
    """The document rule for one loaded document: what the caller may do, or None when it
    may not even read it."""
    facts = Facts(owner_id=row.owner_id, restricted=row.restricted, share=share)
    may = capabilities(caller, facts)
    return Opened(row=row, caller=caller, may=may) if may else None


async def writing_owner(
    identity: IdentityApi, organisation_id: uuid.UUID, owner_id: uuid.UUID | None
) -> Caller | None:
    """Whom a mail account's or a consumption folder's documents belong to: its owner as
    the member they are now, if they still may add documents (None otherwise: they left,
    were erased, or lost ``content.documents.write``)."""
    if owner_id is None:
        return None
    member = await identity.membership(organisation_id, owner_id, api_key_id=None)
    caller = caller_of(member) if member is not None else None
    return caller if caller is not None and WRITE in caller.granted else None
