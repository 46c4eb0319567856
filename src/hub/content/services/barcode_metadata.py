"""What the barcodes of a new scan give its document (Paperless-ngx's ASN and tag
barcodes), applied once — with the text of its first version, in the transaction that
stores it (``TextExtraction._settle``), as matching is.

The archive serial number is set only when the document has none and no other document
of the organisation holds it (a sticker used twice gives its number to the first scan;
the second keeps none, and says so in the log). Tag barcodes add tags by name, made when
new, as an upload's names are. One ``content.document.updated`` with ``via: barcode``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from hub.content.domain.barcodes import asn_of, tags_of
from hub.content.domain.documents import TagRefs
from hub.content.models import Document
from hub.content.services.matching import announce
from hub.content.services.tagging import add_tags, resolve_tags
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork

log = structlog.get_logger("hub.content")
VIA = "barcode"
_d = Document.__table__


@dataclass(frozen=True)
class BarcodeRules:
    """``HUB_CONTENT_BARCODE_*``: pages read, and the prefixes that mean something."""

    pages: int
    asn_prefix: str
    tag_prefix: str


async def apply_barcodes(
    uow: UnitOfWork,
    clock: Clock,
    rules: BarcodeRules,
    document_id: uuid.UUID,
    organisation_id: uuid.UUID,
    values: list[str],
) -> list[str]:
    """Give the (locked) document what its barcodes (``values``, in page order) say; the
    wire names that changed."""
    session = uow.session
    changed: list[str] = []
    asn = asn_of(values, rules.asn_prefix)
    if asn is not None:
        taken = await session.scalar(
            select(_d.c.id).where(
                _d.c.organisation_id == organisation_id, _d.c.archive_serial_number == asn
            )
        )
        if taken is None:
            try:
                async with session.begin_nested():  # a concurrent writer took it first
                    set_asn = await session.execute(
                        update(Document)
                        .where(_d.c.id == document_id, _d.c.archive_serial_number.is_(None))
                        .values(archive_serial_number=asn)
                        .returning(_d.c.id)
                    )
                if set_asn.first() is not None:
                    changed.append("archiveSerialNumber")
            except IntegrityError:
                taken = document_id
        if taken is not None and taken != document_id:
            log.info("barcode_asn_taken", document_id=str(document_id), asn=asn, holder=str(taken))
    names = tags_of(values, rules.tag_prefix)
    if names:
        tag_ids = await resolve_tags(session, organisation_id, TagRefs((), names))
        if await add_tags(session, document_id, tag_ids):
            changed.append("tags")
    await announce(uow, clock, document_id, organisation_id, changed, VIA)
    return changed
