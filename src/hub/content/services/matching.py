"""Tags and document types earned by a new document's text (Paperless-ngx's matching;
the rules are in ``domain.matching``).

Applied once, when the text of a document's first version is extracted, in the very
transaction that stores the text (``TextExtraction._settle``): the text and what it
earned commit together, and a redelivered extraction job finds the version settled and
does nothing. Matching only adds: each matched tag is added to the document's, and the
first matched type (by name) is set when the document has none, so what the uploader
or a rule set already is never overwritten. The change is published as
``content.document.updated`` with ``via: matching`` (intelligence counts such labels as
a machine's, not a person's).
"""

from __future__ import annotations

import uuid

from sqlalchemy import update

from hub.content.api import DocumentUpdated
from hub.content.domain.matching import Matching, matched
from hub.content.models import Document
from hub.content.repositories import taxonomy
from hub.content.services.search_index import SearchIndex
from hub.content.services.tagging import add_tags
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork

VIA = "matching"
_d = Document.__table__


async def apply_matching(
    uow: UnitOfWork, clock: Clock, document_id: uuid.UUID, organisation_id: uuid.UUID, text: str
) -> list[str]:
    """Add what the text earns to the (locked) document; the wire names that changed."""
    session = uow.session
    found: dict[str, list[uuid.UUID]] = {}
    for kind, table in (("tags", taxonomy.tags), ("type", taxonomy.types)):
        rows = await taxonomy.matching_rules(session, table, organisation_id)
        rules = [
            (r.id, Matching(r.match_algorithm, r.match_pattern, r.match_case_sensitive))
            for r in rows
        ]
        found[kind] = matched(rules, text) if rules else []
    changed: list[str] = []
    if await add_tags(session, document_id, found["tags"]):
        changed.append("tags")
    if found["type"]:
        typed = await session.execute(
            update(Document)
            .where(_d.c.id == document_id, _d.c.document_type_id.is_(None))
            .values(document_type_id=found["type"][0])
            .returning(_d.c.id)
        )
        if typed.first() is not None:
            changed.append("documentTypeId")
    await announce(uow, clock, document_id, organisation_id, changed, VIA)
    return changed


async def announce(
    uow: UnitOfWork,
    clock: Clock,
    document_id: uuid.UUID,
    organisation_id: uuid.UUID,
    changed: list[str],
    via: str,
) -> None:
    """What a machine added to a new document: its ``updated_at``, its search entry and
    one ``content.document.updated`` naming the fields (nothing when nothing changed)."""
    if not changed:
        return
    await uow.session.execute(
        update(Document).where(_d.c.id == document_id).values(updated_at=clock())
    )
    await SearchIndex.refresh(uow, [document_id])
    uow.publish(
        DocumentUpdated(
            document_id=document_id,
            organisation_id=organisation_id,
            changed=changed,
            via=via,
        )
    )
