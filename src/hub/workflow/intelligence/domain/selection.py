"""Which documents train the classifier, and why the others do not (pure).

A document counts when its current version's text is extracted and it carries a label a
person gave it: tags, a document type and values of select custom fields set in content
by people (uploads and edits),
adjusted by insight feedback (an accepted suggestion adds its label, a rejected one
removes it). Left out, with the reason named: ``text_not_extracted`` (no ready text yet),
``labels_not_confirmed`` (labels last set by a workflow or an AI and not answered by a
person since) and ``no_labels`` (no tag and no type). Left-out documents with text still shape the
vocabulary and dense vectors (no labels are read from them).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from hub.content.api import CorpusDocument
from hub.workflow.intelligence.domain.examples import Example

TEXT_NOT_EXTRACTED = "text_not_extracted"
NO_LABELS = "no_labels"
#: Labels last set by a workflow or an AI through ContentApi, not changed or confirmed by
#: a person since (any answer to a suggestion confirms them).
NOT_CONFIRMED = "labels_not_confirmed"
#: Left-out document ids kept per reason (the counts are exact).
SAMPLE = 20


@dataclass(frozen=True)
class Answer:
    document_id: uuid.UUID
    kind: str  # "tag" or "documentType"
    label: str  # tag name or type id
    accepted: bool


@dataclass
class Selection:
    ids: list[uuid.UUID] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)
    unlabelled: list[str] = field(default_factory=list)
    unlabelled_ids: list[uuid.UUID] = field(default_factory=list)
    skipped: dict[str, list[uuid.UUID]] = field(default_factory=dict)

    def report(self) -> dict[str, object]:
        return {
            reason: {"count": len(ids), "sample": [str(i) for i in ids[:SAMPLE]]}
            for reason, ids in sorted(self.skipped.items())
        }


def select(
    documents: Sequence[CorpusDocument],
    answers: Iterable[Answer],
    machine: Mapping[uuid.UUID, str] | None = None,
) -> Selection:
    by_doc: dict[uuid.UUID, list[Answer]] = {}
    for a in answers:
        by_doc.setdefault(a.document_id, []).append(a)
    out = Selection()
    for doc in documents:
        if not doc.text:
            out.skipped.setdefault(TEXT_NOT_EXTRACTED, []).append(doc.id)
            continue
        if machine and doc.id in machine and doc.id not in by_doc:
            out.skipped.setdefault(NOT_CONFIRMED, []).append(doc.id)
            out.unlabelled.append(doc.text)
            out.unlabelled_ids.append(doc.id)
            continue
        tags = set(doc.tags)
        kind = str(doc.document_type_id) if doc.document_type_id else None
        for a in by_doc.get(doc.id, ()):
            if a.kind == "tag":
                (tags.add if a.accepted else tags.discard)(a.label)
            elif a.accepted:
                kind = a.label
            elif kind == a.label:
                kind = None
        fields = tuple(sorted(doc.select_fields.items()))
        if not tags and kind is None and not fields:
            out.skipped.setdefault(NO_LABELS, []).append(doc.id)
            out.unlabelled.append(doc.text)
            out.unlabelled_ids.append(doc.id)
            continue
        out.ids.append(doc.id)
        out.examples.append(Example(doc.text, tuple(sorted(tags)), kind, fields))
    return out
