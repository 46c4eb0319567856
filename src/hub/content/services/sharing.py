"""Who may reach a document besides its organisation's roles: the restriction flag and
the explicit shares (``GET``/``PUT /documents/{id}/permissions``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert

from hub.content.api import DocumentShared
from hub.content.domain.access import Action, ShareAccess
from hub.content.models import Document, DocumentShare
from hub.content.repositories import documents
from hub.content.services.access import DocumentAccess
from hub.identity.api import IdentityApi
from hub.kernel.clock import Clock
from hub.kernel.problems import field_invalid
from hub.kernel.security import Principal
from hub.kernel.store import Store

d = Document.__table__
s = DocumentShare.__table__

MAX_SHARES = 200


@dataclass(frozen=True)
class Share:
    user_id: uuid.UUID | None
    role_id: uuid.UUID | None
    access: str


def permissions_view(restricted: bool, rows: list[Any]) -> dict[str, Any]:
    return {
        "restricted": restricted,
        "shares": [
            Share(
                user_id=r.subject_id if r.subject_kind == "user" else None,
                role_id=r.subject_id if r.subject_kind == "role" else None,
                access=r.access,
            )
            for r in rows
        ],
    }


def shared_event(
    document_id: uuid.UUID,
    organisation_id: uuid.UUID,
    restricted: bool,
    subjects: Iterable[tuple[str, uuid.UUID]],
) -> DocumentShared:
    """``content.document.shared``: the restriction and every subject now shared with."""
    keys = list(subjects)
    return DocumentShared(
        document_id=document_id,
        organisation_id=organisation_id,
        restricted=restricted,
        user_ids=[i for k, i in keys if k == "user"],
        role_ids=[i for k, i in keys if k == "role"],
    )


class SharingService:
    def __init__(
        self, store: Store, access: DocumentAccess, identity: IdentityApi, clock: Clock
    ) -> None:
        self.store = store
        self.access = access
        self.identity = identity
        self.clock = clock

    async def get(self, principal: Principal, document_id: uuid.UUID) -> dict[str, Any]:
        """Any reader may see who else may."""
        opened = await self.access.read(principal, document_id, "permissions")
        return permissions_view(
            opened.row.restricted, await documents.shares_of(self.store, opened.id)
        )

    async def check(self, organisation_id: uuid.UUID, shares: list[Share]) -> None:
        """422 unless each share names exactly one member or role of the organisation
        (``PUT /permissions`` and bulk ``share`` alike)."""
        if len(shares) > MAX_SHARES:
            raise field_invalid("shares", f"At most {MAX_SHARES} shares.")
        roles = {r.id for r in await self.identity.roles_of(organisation_id)}
        for index, share in enumerate(shares):
            where = f"shares[{index}]"
            if (share.user_id is None) == (share.role_id is None):
                raise field_invalid(where, "Name exactly one of userId and roleId.")
            if share.access not in {a.value for a in ShareAccess}:
                raise field_invalid(f"{where}.access", "view or edit")
            if share.role_id is not None and share.role_id not in roles:
                raise field_invalid(f"{where}.roleId", "No such role in the organisation.")
            if share.user_id is not None:
                member = await self.identity.membership(
                    organisation_id, share.user_id, api_key_id=None
                )
                if member is None:
                    raise field_invalid(f"{where}.userId", "Not a member of the organisation.")

    async def put(
        self,
        principal: Principal,
        document_id: uuid.UUID,
        *,
        restricted: bool,
        shares: list[Share],
    ) -> dict[str, Any]:
        """Replace the restriction and the shares (publishes ``content.document.shared``)."""
        opened = await self.access.open(principal, document_id, Action.SHARE)
        organisation_id: uuid.UUID = opened.row.organisation_id
        await self.check(organisation_id, shares)
        wanted: dict[tuple[str, uuid.UUID], str] = {}
        for share in shares:
            if share.user_id is not None:
                key = ("user", share.user_id)
            else:
                assert share.role_id is not None
                key = ("role", share.role_id)
            # the same subject twice: the stronger access wins
            if wanted.get(key) != ShareAccess.EDIT.value:
                wanted[key] = share.access
        async with self.store.uow() as uow:
            session = uow.session
            await session.execute(
                update(Document)
                .where(d.c.id == opened.id)
                .values(restricted=restricted, updated_at=self.clock())
            )
            await session.execute(delete(DocumentShare).where(s.c.document_id == opened.id))
            if wanted:
                await session.execute(
                    insert(DocumentShare).values(
                        [
                            {
                                "document_id": opened.id,
                                "subject_kind": kind,
                                "subject_id": subject,
                                "access": access,
                            }
                            for (kind, subject), access in wanted.items()
                        ]
                    )
                )
            uow.publish(shared_event(opened.id, organisation_id, restricted, wanted))
            await uow.commit()
        return permissions_view(restricted, await documents.shares_of(self.store, opened.id))

    async def change(
        self,
        row: Any,
        *,
        restricted: bool | None,
        grant: list[Share],
        revoke: list[Share],
    ) -> None:
        """Change the restriction and some shares of ``row`` without a caller's rights
        (a workflow through ``ContentApi.change_access``); other shares stay."""
        await self.check(row.organisation_id, grant)
        for index, share in enumerate(revoke):
            if (share.user_id is None) == (share.role_id is None):
                raise field_invalid(f"revoke[{index}]", "Name exactly one of userId and roleId.")
        async with self.store.uow() as uow:
            session = uow.session
            current = (
                await session.execute(
                    select(d.c.restricted).where(d.c.id == row.id).with_for_update()
                )
            ).scalar_one()
            now_restricted = current if restricted is None else restricted
            await session.execute(
                update(Document)
                .where(d.c.id == row.id)
                .values(restricted=now_restricted, updated_at=self.clock())
            )
            for share in revoke:
                kind, subject = _subject(share)
                await session.execute(
                    delete(DocumentShare).where(
                        s.c.document_id == row.id,
                        s.c.subject_kind == kind,
                        s.c.subject_id == subject,
                    )
                )
            for share in grant:
                kind, subject = _subject(share)
                statement = insert(DocumentShare).values(
                    document_id=row.id, subject_kind=kind, subject_id=subject, access=share.access
                )
                await session.execute(
                    statement.on_conflict_do_update(
                        constraint="pk_document_shares", set_={"access": share.access}
                    )
                )
            subjects = (
                await session.execute(
                    select(s.c.subject_kind, s.c.subject_id).where(s.c.document_id == row.id)
                )
            ).all()
            uow.publish(
                shared_event(
                    row.id,
                    row.organisation_id,
                    now_restricted,
                    [(r.subject_kind, r.subject_id) for r in subjects],
                )
            )
            await uow.commit()


def _subject(share: Share) -> tuple[str, uuid.UUID]:
    if share.user_id is not None:
        return "user", share.user_id
    assert share.role_id is not None
    return "role", share.role_id
