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
from dataclasses import dataclass

from sqlalchemy import update

from hub.content.api import DocumentUpdated
from hub.content.domain.matching import Matching, matched
from hub.content.models import Document
from hub.content.repositories import extraction, taxonomy
from hub.content.services.search_index import SearchIndex
from hub.content.services.tagging import add_tags
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.store import Store

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


@dataclass(frozen=True)
class Retagged:
    looked_at: int
    changed: int


class Retagging:
    """``hub documents retag`` (Paperless-ngx's ``document_retagger``): the matching
    rules applied to documents already there — after rules were added or changed — each
    in its own transaction, the document row locked, adding only, as at arrival."""

    BATCH = 200

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store, self.clock = store, clock

    async def retag(self, organisation_id: uuid.UUID | None, *, limit: int) -> Retagged:
        looked = changed = 0
        after: uuid.UUID | None = None
        while looked < limit:
            size = min(self.BATCH, limit - looked)
            rows = await self.store.all(
                extraction.retaggable_statement(organisation_id, after, size)
            )
            if not rows:
                break
            for row in rows:
                async with self.store.uow() as uow:
                    text = await uow.session.scalar(extraction.current_text_statement(row.id))
                    if text and await apply_matching(
                        uow, self.clock, row.id, row.organisation_id, text
                    ):
                        changed += 1
                    await uow.commit()
            looked += len(rows)
            after = rows[-1].id
        return Retagged(looked_at=looked, changed=changed)
