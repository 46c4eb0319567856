"""Saved views: the ones a member sees (their own and the organisation's shared ones)."""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import Row, Table, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.content.models import SavedView
from hub.kernel.pagination import after_uuid
from hub.kernel.store import Store

views = cast(Table, SavedView.__table__)


async def page(
    store: Store,
    organisation_id: uuid.UUID,
    reader: uuid.UUID,
    *,
    size: int,
    cursor: str | None,
) -> list[Row[Any]]:
    """``size + 1`` views the reader sees, oldest first."""
    stmt = (
        select(views)
        .where(
            views.c.organisation_id == organisation_id,
            or_(views.c.shared, views.c.owner_id == reader),
        )
        .order_by(views.c.id)
        .limit(size + 1)
    )
    if cursor:
        stmt = stmt.where(views.c.id > after_uuid(cursor))
    return list(await store.all(stmt))


async def one(store: Store, organisation_id: uuid.UUID, view_id: uuid.UUID) -> Row[Any] | None:
    return await store.first(
        select(views).where(views.c.organisation_id == organisation_id, views.c.id == view_id)
    )


async def locked(
    session: AsyncSession, organisation_id: uuid.UUID, view_id: uuid.UUID
) -> Row[Any] | None:
    """The view, locked for a change in this transaction."""
    found = await session.execute(
        select(views)
        .where(views.c.organisation_id == organisation_id, views.c.id == view_id)
        .with_for_update()
    )
    return found.first()


async def count_owned(session: AsyncSession, organisation_id: uuid.UUID, owner: uuid.UUID) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(views)
            .where(views.c.organisation_id == organisation_id, views.c.owner_id == owner)
        )
        or 0
    )
