"""An organisation's consumption folder (``content.consume.manage``): whether the scan
(``services.consume_scan``) reads it, what its files become, and what came of them.

The folder itself is ``HUB_CONTENT_CONSUME_DIR/<organisation id>/``, made when the
settings are first saved; the operator decides where the root is (a share a scanner
writes to), so an organisation can only switch its own folder on and off, never point
the hub at another path.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Row

from hub.content.domain.consume import OWN, PROCESSING
from hub.content.domain.documents import TagRefs
from hub.content.repositories import consume
from hub.content.services.tagging import resolve_tags
from hub.content.services.taxonomy import MetadataRules
from hub.identity.api import Membership
from hub.kernel.clock import Clock
from hub.kernel.errors import Conflict
from hub.kernel.pagination import Page
from hub.kernel.store import Store

#: The job that scans one organisation's folder (``tasks.consume_folder``).
CONSUME_FOLDER = "content.consume_folder"


def unavailable() -> Conflict:
    return Conflict(
        "This hub has no consumption folder: the operator sets HUB_CONTENT_CONSUME_DIR.",
        code="consume_folder_unavailable",
    )


class ConsumeFolders:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        metadata: MetadataRules,
        queue_job: Callable[..., uuid.UUID],
        root: Path | None,
    ) -> None:
        self.store, self.clock, self.metadata = store, clock, metadata
        self.queue_job, self.root = queue_job, root

    def path(self, organisation_id: uuid.UUID) -> Path | None:
        return self.root / str(organisation_id) if self.root is not None else None

    async def settings(self, member: Membership) -> Row[Any] | None:
        return await consume.folder(self.store, member.organisation_id)

    async def save(self, member: Membership, fields: dict[str, Any]) -> Row[Any] | None:
        """Set the folder up (the caller becomes its owner: the documents are theirs) and
        make it on disk, with the hub's own ``.hub/processing`` inside."""
        folder = self.path(member.organisation_id)
        if folder is None:
            raise unavailable()
        org = member.organisation_id
        now = self.clock()
        async with self.store.uow() as uow:
            refs = TagRefs(tuple(fields["tag_ids"]), ())
            await resolve_tags(uow.session, org, refs, field="tagIds")
            await self.metadata.document_type(uow.session, org, fields["document_type_id"])
            values = {**fields, "owner_id": member.user_id, "updated_at": now, "created_at": now}
            await consume.save(uow.session, org, {**values, "last_error": None})
            await asyncio.to_thread((folder / OWN / PROCESSING).mkdir, parents=True, exist_ok=True)
            await uow.commit()
        return await self.settings(member)

    async def remove(self, member: Membership) -> None:
        """Stop reading the folder (it and the files in it stay where they are)."""
        async with self.store.uow() as uow:
            await uow.session.execute(
                consume.folders.delete().where(
                    consume.folders.c.organisation_id == member.organisation_id
                )
            )
            await uow.commit()

    async def queue_scan(self, member: Membership) -> None:
        """``POST …/consume-folder/scan``: read the folder now."""
        if self.root is None:
            raise unavailable()
        async with self.store.uow() as uow:
            self.queue_job(uow, CONSUME_FOLDER, str(member.organisation_id))
            await uow.commit()

    async def files(self, member: Membership, *, limit: int, cursor: str | None) -> Page[Row[Any]]:
        """The files taken from the folder, the latest first."""
        return await consume.files_page(
            self.store, member.organisation_id, limit=limit, cursor=cursor
        )
