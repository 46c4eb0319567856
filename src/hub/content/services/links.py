"""Share links (download a document without an account) and notes on documents.

Making, listing and revoking links needs ``content.documents.share`` on the document;
using one needs only the token. A token is random, shown once in the link's URL, and kept
only as its SHA-256, found by hash lookup. Unknown, expired and revoked tokens, and links
of trashed documents, all answer the same 404. Every use publishes
``content.document.share_link_used`` (the link's id, never its token).

Notes are read and written by whoever may read the document; only a note's author may
delete it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import delete, insert, update

from hub.content.api import NoteAdded, ShareLinkCreated, ShareLinkRevoked, ShareLinkUsed
from hub.content.domain.access import Action
from hub.content.domain.bulk import each_once
from hub.content.domain.links import expires_at, new_token, share_url, token_hash, usable
from hub.content.models import Note, ShareLink
from hub.content.repositories import documents, links
from hub.content.repositories.blobs.base import BlobStore
from hub.content.services.access import DocumentAccess
from hub.content.services.downloads import Download
from hub.content.services.search_index import SearchIndex
from hub.content.services.uploads import document_trashed
from hub.kernel.clock import Clock
from hub.kernel.errors import Forbidden
from hub.kernel.pagination import Page, after_uuid, page_of
from hub.kernel.problems import field_invalid, not_found
from hub.kernel.security import Principal
from hub.kernel.store import Store

sl = ShareLink.__table__
n = Note.__table__


def link_not_found() -> Exception:
    return not_found("share link")


class ShareLinkService:
    def __init__(
        self, store: Store, access: DocumentAccess, files: BlobStore, clock: Clock, public_url: str
    ) -> None:
        self.store = store
        self.access = access
        self.files = files
        self.clock = clock
        self.public_url = public_url

    async def create(
        self,
        principal: Principal,
        document_id: uuid.UUID,
        *,
        expires_in_days: int | None,
        version: int | None,
    ) -> dict[str, Any]:
        """A new link and its URL (the only time the token is shown)."""
        opened = await self.access.open(principal, document_id, Action.SHARE)
        if opened.row.trashed_at is not None:
            raise document_trashed()
        if version is not None and await documents.version(self.store, opened.id, version) is None:
            raise field_invalid("version", f"The document has no version {version}.")
        token = new_token()
        now = self.clock()
        row = {
            "document_id": opened.id,
            "token_sha256": token_hash(token),
            "version": version,
            "created_by": opened.caller.user_id,
            "created_at": now,
            "expires_at": expires_at(now, expires_in_days),
        }
        async with self.store.uow() as uow:
            created = (await uow.session.execute(insert(ShareLink).values(row).returning(sl))).one()
            uow.publish(
                ShareLinkCreated(
                    document_id=opened.id,
                    organisation_id=opened.row.organisation_id,
                    link_id=created.id,
                    created_by=opened.caller.user_id,
                    version=version,
                    expires_at=created.expires_at,
                )
            )
            await uow.commit()
        return {**created._asdict(), "url": share_url(self.public_url, token)}

    async def list(
        self, principal: Principal, document_id: uuid.UUID, *, limit: int, cursor: str | None
    ) -> Page[Any]:
        opened = await self.access.open(principal, document_id, Action.SHARE)
        before = after_uuid(cursor) if cursor is not None else None
        rows = await links.links_of(self.store, opened.id, before=before, limit=limit)
        return page_of(rows, limit, lambda r: (str(r.id),))

    async def revoke(
        self, principal: Principal, document_id: uuid.UUID, link_id: uuid.UUID
    ) -> None:
        """Stop a link working (revoking a revoked link changes nothing)."""
        opened = await self.access.open(principal, document_id, Action.SHARE)
        async with self.store.uow() as uow:
            revoked = (
                await uow.session.execute(
                    update(ShareLink)
                    .where(
                        sl.c.id == link_id,
                        sl.c.document_id == opened.id,
                        sl.c.revoked_at.is_(None),
                    )
                    .values(revoked_at=self.clock())
                    .returning(sl.c.id)
                )
            ).first()
            if revoked is None:
                if await links.link(self.store, opened.id, link_id) is None:
                    raise link_not_found()
                return
            uow.publish(
                ShareLinkRevoked(
                    document_id=opened.id,
                    organisation_id=opened.row.organisation_id,
                    link_id=link_id,
                    revoked_by=opened.caller.user_id,
                )
            )
            await uow.commit()

    async def use(self, token: str) -> Download:
        """The file a token serves, with the use counted and published; 404 for anything
        that is not a working link."""
        found = await links.link_by_hash(self.store, token_hash(token))
        now = self.clock()
        if found is None or not usable(
            now=now,
            expires=found.expires_at,
            revoked=found.revoked_at,
            document_trashed=found.document_trashed_at,
        ):
            raise link_not_found()
        number = found.version if found.version is not None else found.current_version
        version = await documents.version(self.store, found.document_id, number)
        if version is None:
            raise link_not_found()
        async with self.store.uow() as uow:
            await uow.session.execute(
                update(ShareLink)
                .where(sl.c.id == found.id)
                .values(last_used_at=now, use_count=sl.c.use_count + 1)
            )
            uow.publish(
                ShareLinkUsed(
                    document_id=found.document_id,
                    organisation_id=found.organisation_id,
                    link_id=found.id,
                    version=number,
                )
            )
            await uow.commit()
        return Download(
            document_id=found.document_id,
            organisation_id=found.organisation_id,
            version=number,
            file_name=version.file_name,
            media_type=version.media_type,
            size=version.size,
            sha256=version.sha256,
        )

    def read(self, download: Download, start: int, end: int | None) -> AsyncIterator[bytes]:
        return self.files.read(download.sha256, start=start, end=end)


class NoteService:
    def __init__(self, store: Store, access: DocumentAccess, clock: Clock) -> None:
        self.store = store
        self.access = access
        self.clock = clock

    async def list(
        self, principal: Principal, document_id: uuid.UUID, *, limit: int, cursor: str | None
    ) -> Page[Any]:
        opened = await self.access.read(principal, document_id, "notes")
        after = after_uuid(cursor) if cursor is not None else None
        rows = await links.notes_of(self.store, opened.id, after=after, limit=limit)
        return page_of(rows, limit, lambda r: (str(r.id),))

    async def add(
        self,
        principal: Principal,
        document_id: uuid.UUID,
        body: str,
        mentions: Sequence[uuid.UUID] = (),
    ) -> Any:
        """A note by the caller; ``mentions`` go with its event (communication tells
        those of them who may read the document; the author is never told)."""
        opened = await self.access.open(principal, document_id)
        if not body.strip():
            raise field_invalid("text", "A note needs some text.")
        each_once(mentions, "mentions", "person")
        async with self.store.uow() as uow:
            created = (
                await uow.session.execute(
                    insert(Note)
                    .values(
                        document_id=opened.id,
                        author_id=opened.caller.user_id,
                        body=body,
                        created_at=self.clock(),
                    )
                    .returning(*links.NOTE)
                )
            ).one()
            await SearchIndex.refresh(uow, [opened.id])
            uow.publish(
                NoteAdded(
                    document_id=opened.id,
                    organisation_id=opened.row.organisation_id,
                    note_id=created.id,
                    author_id=opened.caller.user_id,
                    mentions=[m for m in mentions if m != opened.caller.user_id],
                )
            )
            await uow.commit()
        return created

    async def delete(
        self, principal: Principal, document_id: uuid.UUID, note_id: uuid.UUID
    ) -> None:
        """Only the author deletes a note (403 for other readers)."""
        opened = await self.access.open(principal, document_id)
        found = await links.note(self.store, opened.id, note_id)
        if found is None:
            raise not_found("note")
        if found.author_id != opened.caller.user_id:
            raise Forbidden("Only a note's author may delete it.", code="not_note_author")
        async with self.store.uow() as uow:
            await uow.session.execute(delete(Note).where(n.c.id == note_id))
            await SearchIndex.refresh(uow, [opened.id])
            await uow.commit()
