"""Consumption folders and the files taken from them: the reads and writes of
``services.consume_folders`` and ``services.consume_scan``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.content.models import ConsumedFile, ConsumeFolder
from hub.kernel.pagination import Page
from hub.kernel.store import Store

folders = cast(Table, ConsumeFolder.__table__)
files = cast(Table, ConsumedFile.__table__)


async def folder(store: Store, organisation_id: uuid.UUID) -> Row[Any] | None:
    return await store.first(select(folders).where(folders.c.organisation_id == organisation_id))


async def enabled(store: Store) -> list[Row[Any]]:
    """The organisations whose folder is read."""
    f = folders
    return await store.all(
        select(f.c.organisation_id).where(f.c.enabled.is_(True)).order_by(f.c.organisation_id)
    )


async def save(session: AsyncSession, organisation_id: uuid.UUID, values: dict[str, Any]) -> None:
    """Create or replace the organisation's folder settings."""
    statement = insert(folders).values(organisation_id=organisation_id, **values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[folders.c.organisation_id],
            set_={k: statement.excluded[k] for k in values if k != "created_at"},
        )
    )


async def scanned(
    session: AsyncSession, organisation_id: uuid.UUID, at: datetime, error: str | None
) -> None:
    await session.execute(
        update(folders)
        .where(folders.c.organisation_id == organisation_id)
        .values(last_scanned_at=at, last_error=error)
    )


async def files_page(
    store: Store, organisation_id: uuid.UUID, *, limit: int, cursor: str | None
) -> Page[Row[Any]]:
    """Files taken from the organisation's folder, the latest claimed first (claim ids
    are UUIDv7: their order is the claims')."""
    query = select(files).where(files.c.organisation_id == organisation_id)
    return await store.page(query, files.c.id, limit=limit, cursor=cursor, newest_first=True)


async def claims(
    store: Store, organisation_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, Row[Any]]:
    """The records of files found in the hub's ``processing`` folder."""
    if not ids:
        return {}
    rows = await store.all(
        select(files).where(files.c.organisation_id == organisation_id, files.c.id.in_(ids))
    )
    return {row.id: row for row in rows}


async def settle(
    session: AsyncSession,
    claim_id: uuid.UUID,
    status: str,
    at: datetime,
    *,
    document_id: uuid.UUID | None = None,
    error: str | None = None,
) -> None:
    await session.execute(
        update(files)
        .where(files.c.id == claim_id)
        .values(status=status, settled_at=at, document_id=document_id, error=error)
    )


async def forget(session: AsyncSession, claim_id: uuid.UUID) -> None:
    await session.execute(delete(files).where(files.c.id == claim_id))


async def forget_stale(
    session: AsyncSession, organisation_id: uuid.UUID, before: datetime, held: list[uuid.UUID]
) -> None:
    """Claims older than ``before`` still ``processing`` whose file is not held (the
    worker died before it renamed the file, which stayed where it was)."""
    c = files
    query = delete(c).where(
        c.c.organisation_id == organisation_id,
        c.c.status == "processing",
        c.c.claimed_at <= before,
    )
    if held:
        query = query.where(c.c.id.not_in(held))
    await session.execute(query)


async def prune(session: AsyncSession, before: datetime) -> None:
    """Records of files settled before ``before`` (the files are gone or failed long
    since); claims still in progress are kept whatever their age."""
    await session.execute(
        delete(files).where(files.c.status != "processing", files.c.settled_at < before)
    )
