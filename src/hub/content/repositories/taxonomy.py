"""Reads of an organisation's tags, document types and custom-field definitions."""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import Row, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.content.models import CustomField, DocumentType, Tag
from hub.kernel.pagination import after_uuid
from hub.kernel.store import Store

tags = cast(Table, Tag.__table__)
types = cast(Table, DocumentType.__table__)
fields = cast(Table, CustomField.__table__)


async def page(
    store: Store, table: Table, organisation_id: uuid.UUID, *, size: int, cursor: str | None
) -> list[Row[Any]]:
    """One keyset page (by id) of an organisation's rows of ``table``, ``size + 1`` long."""
    stmt = (
        select(table).where(table.c.organisation_id == organisation_id).order_by(table.c.id)
    ).limit(size + 1)
    if cursor:
        stmt = stmt.where(table.c.id > after_uuid(cursor))
    return list(await store.all(stmt))


async def one(
    store: Store, table: Table, organisation_id: uuid.UUID, row_id: uuid.UUID
) -> Row[Any] | None:
    return await store.first(
        select(table).where(table.c.organisation_id == organisation_id, table.c.id == row_id)
    )


async def ancestors(session: AsyncSession, tag_id: uuid.UUID) -> list[uuid.UUID]:
    """The tag and every tag enclosing it, nearest first."""
    out: list[uuid.UUID] = []
    current: uuid.UUID | None = tag_id
    while current is not None and len(out) <= 6:
        out.append(current)
        current = await session.scalar(select(tags.c.parent_id).where(tags.c.id == current))
    return out


async def height_of(session: AsyncSession, tag_id: uuid.UUID) -> int:
    """Levels of the subtree under (and including) a tag."""
    level, frontier = 1, [tag_id]
    while level <= 6:
        frontier = list(
            (
                await session.execute(select(tags.c.id).where(tags.c.parent_id.in_(frontier)))
            ).scalars()
        )
        if not frontier:
            return level
        level += 1
    return level


async def has_children(session: AsyncSession, tag_id: uuid.UUID) -> bool:
    return (
        await session.execute(select(tags.c.id).where(tags.c.parent_id == tag_id).limit(1))
    ).first() is not None


def _definitions(organisation_id: uuid.UUID) -> Any:
    return select(fields.c.key, fields.c.type, fields.c.options).where(
        fields.c.organisation_id == organisation_id
    )


async def definitions(session: AsyncSession, organisation_id: uuid.UUID) -> list[Any]:
    return list(await session.execute(_definitions(organisation_id)))


async def read_definitions(store: Store, organisation_id: uuid.UUID) -> list[Any]:
    """The same, outside a transaction (a list's filters)."""
    return await store.all(_definitions(organisation_id))


async def type_exists(
    session: AsyncSession, organisation_id: uuid.UUID, type_id: uuid.UUID
) -> bool:
    return (
        await session.execute(
            select(types.c.id).where(
                types.c.organisation_id == organisation_id, types.c.id == type_id
            )
        )
    ).first() is not None


async def matching_rules(
    session: AsyncSession, table: Table, organisation_id: uuid.UUID
) -> list[Row[Any]]:
    """The organisation's tags or types (``table``) with a matching rule, by name."""
    return list(
        (
            await session.execute(
                select(table.c.id, table.c.match_algorithm, table.c.match_pattern)
                .add_columns(table.c.match_case_sensitive)
                .where(
                    table.c.organisation_id == organisation_id,
                    table.c.match_algorithm != "none",
                )
                .order_by(table.c.name_key, table.c.id)
            )
        ).all()
    )


async def live_tags(
    store: Store, organisation_id: uuid.UUID, tag_ids: list[uuid.UUID]
) -> list[uuid.UUID]:
    """Those of ``tag_ids`` the organisation still has (a mail rule's or a consumption
    folder's tags, one deleted since left out), in their order."""
    if not tag_ids:
        return []
    rows = await store.all(
        select(tags.c.id).where(tags.c.organisation_id == organisation_id, tags.c.id.in_(tag_ids))
    )
    found = {row.id for row in rows}
    return [t for t in tag_ids if t in found]


async def live_type(
    store: Store, organisation_id: uuid.UUID, type_id: uuid.UUID | None
) -> uuid.UUID | None:
    """``type_id`` if the organisation still has that type (a mail rule's or a
    consumption folder's, deleted since: None)."""
    if type_id is None:
        return None
    found: uuid.UUID | None = await store.scalar(
        select(types.c.id).where(types.c.organisation_id == organisation_id, types.c.id == type_id)
    )
    return found
