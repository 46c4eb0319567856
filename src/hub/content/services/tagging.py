"""Tags of a document, by id or by name, inside the caller's transaction.

Names not yet known to the organisation become tags (full tag management comes later);
ids must be the organisation's own tags.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.content.domain.documents import TagRefs, tag_key
from hub.content.models import DocumentTag, Tag
from hub.kernel.problems import field_invalid
from hub.kernel.schema import new_id

t = Tag.__table__
dt = DocumentTag.__table__


async def resolve_tags(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    refs: TagRefs,
    *,
    field: str = "tags",
    create: bool = True,
) -> list[uuid.UUID]:
    """The tags' ids. Ids must be the organisation's tags; names are found
    case-insensitively and, with ``create``, made when unknown (else 422 naming them)."""
    ids = list(refs.ids)
    if ids:
        found = set(
            (
                await session.execute(
                    select(t.c.id).where(t.c.organisation_id == organisation_id, t.c.id.in_(ids))
                )
            ).scalars()
        )
        unknown = [str(i) for i in ids if i not in found]
        if unknown:
            raise field_invalid(field, "No such tag: " + ", ".join(unknown))
    if refs.names:
        keys = {tag_key(n): n for n in refs.names}
        if not create:
            found_rows = await session.execute(
                select(t.c.name_key, t.c.id).where(
                    t.c.organisation_id == organisation_id, t.c.name_key.in_(list(keys))
                )
            )
            existing = {row.name_key: row.id for row in found_rows}
            missing = [n for k, n in keys.items() if k not in existing]
            if missing:
                raise field_invalid(field, "No such tag: " + ", ".join(missing))
            ids.extend(existing[k] for k in keys)
            return list(dict.fromkeys(ids))
        await session.execute(
            insert(Tag)
            .values(
                [
                    {"id": new_id(), "organisation_id": organisation_id, "name": n, "name_key": k}
                    for k, n in keys.items()
                ]
            )
            .on_conflict_do_nothing(index_elements=[t.c.organisation_id, t.c.name_key])
        )
        named = (
            await session.execute(
                select(t.c.id).where(
                    t.c.organisation_id == organisation_id, t.c.name_key.in_(list(keys))
                )
            )
        ).scalars()
        ids.extend(named)
    return list(dict.fromkeys(ids))


async def set_tags(session: AsyncSession, document_id: uuid.UUID, tag_ids: list[uuid.UUID]) -> None:
    await session.execute(delete(DocumentTag).where(dt.c.document_id == document_id))
    if tag_ids:
        await session.execute(
            insert(DocumentTag).values([{"document_id": document_id, "tag_id": i} for i in tag_ids])
        )


async def add_tags(session: AsyncSession, document_id: uuid.UUID, tag_ids: list[uuid.UUID]) -> bool:
    """Add tags to a document's (those it has stay); whether any was new to it."""
    if not tag_ids:
        return False
    added = await session.execute(
        insert(DocumentTag)
        .values([{"document_id": document_id, "tag_id": t} for t in tag_ids])
        .on_conflict_do_nothing()
        .returning(dt.c.tag_id)
    )
    return added.first() is not None
