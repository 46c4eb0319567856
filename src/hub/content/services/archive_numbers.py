"""Archive serial numbers (Paperless-ngx's ASN): the number written on a paper original so
it is found again on the shelf. Optional, unique in the organisation (trashed documents
keep theirs), set at upload or by ``PATCH``; never copied to a document made from
another (split, merge). Uniqueness is the partial unique index ``uq_documents_asn``: a
number checked free is refused again if a concurrent write took it first."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.content.models import Document
from hub.kernel.errors import Conflict
from hub.kernel.store import Store

T = TypeVar("T")
_UNIQUE = "uq_documents_asn"


def asn_taken(asn: int) -> Conflict:
    return Conflict(
        f"Another document of the organisation has the archive serial number {asn}.",
        code="asn_taken",
        extra={"archiveSerialNumber": asn},
    )


async def asn_free(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    asn: int,
    *,
    other_than: uuid.UUID | None = None,
) -> None:
    """409 ``asn_taken`` when another document of the organisation has ``asn``."""
    query = select(Document.id).where(
        Document.organisation_id == organisation_id, Document.archive_serial_number == asn
    )
    if other_than is not None:
        query = query.where(Document.id != other_than)
    if (await session.execute(query.limit(1))).first() is not None:
        raise asn_taken(asn)


async def unique_asn(write: Awaitable[T], asn: int | None) -> T:
    """``write`` (a flush or an UPDATE), with a concurrent write that took ``asn`` first
    answered as 409 ``asn_taken`` instead of a database error."""
    try:
        return await write
    except IntegrityError as exc:
        if asn is not None and _UNIQUE in str(exc.orig):
            raise asn_taken(asn) from None
        raise


async def next_asn(store: Store, organisation_id: uuid.UUID) -> int:
    """One more than the organisation's highest number (1 when it has none)."""
    highest = await store.scalar(
        select(func.max(Document.archive_serial_number)).where(
            Document.organisation_id == organisation_id
        )
    )
    return int(highest or 0) + 1
