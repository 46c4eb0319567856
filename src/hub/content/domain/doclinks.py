"""Document links kept in both directions: the pure decision behind every write of a
document's ``document`` custom fields.

A ``document`` field holds a list of document ids. The link is symmetric: when document
A's field ``f`` lists B, B's field ``f`` lists A. So a write of A's fields is also a
write of every document A gains or drops, and :func:`plan_links` decides both sides at
once from what the service loaded under row locks (A's current fields, each document
named, which of them the writer may read). It refuses, with a 422 naming
``customFields.<key>``:

* a link to A itself;
* an id that is not a document of A's organisation, or one the writer may not read —
  the same message for both, so the answer never tells whether an unreadable
  document exists;
* a *new* link to a document in the trash (it takes no edit, and the reverse side is
  one); links made before it was trashed stay, so restoring it brings them back;
* more than :data:`MAX_LINKS` links on either side.

Links the writer may not read are invisible to it (the service filters them out of
every view), so the writer cannot mean to drop them: they are kept whatever it sends.
A value stored in the field's first form (one id as a string) reads as a list of one;
an id naming no document any more (dropped before links were kept both ways) is let go.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.content.domain.taxonomy import MAX_LINKS
from hub.kernel.problems import field_invalid


def as_links(value: Any) -> list[str]:
    """A stored value of a ``document`` field as a list of ids (one id: the first form)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def linked_ids(fields: Mapping[str, Any], keys: Iterable[str]) -> set[str]:
    """Every document id named by the ``document`` fields ``keys`` of ``fields``."""
    return {link for key in keys for link in as_links(fields.get(key))}


@dataclass(frozen=True)
class Target:
    """A document named by a link, as loaded (and locked) by the service."""

    organisation_id: uuid.UUID
    trashed: bool
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class LinkPlan:
    #: The written document's custom fields to store.
    fields: dict[str, Any]
    #: The other documents whose fields change (the reverse sides), by id.
    others: dict[str, dict[str, Any]] = field(default_factory=dict)


def _refuse(key: str, message: str) -> Exception:
    return field_invalid(f"customFields.{key}", f"{key}: {message}.")


def _with(links: list[str], source: str, key: str, owner: str) -> list[str]:
    if source in links:
        return links
    if len(links) >= MAX_LINKS:
        raise _refuse(key, f"document {owner} already links {MAX_LINKS} documents")
    return [*links, source]


def plan_links(
    *,
    source: str,
    organisation_id: uuid.UUID,
    keys: frozenset[str],
    current: Mapping[str, Any],
    wanted: Mapping[str, Any],
    targets: Mapping[str, Target],
    readable: frozenset[str] | None,
) -> LinkPlan:
    """Both sides of writing ``wanted`` as document ``source``'s custom fields.

    ``keys``: the organisation's ``document`` fields; ``current``: the document's fields
    now (empty for a new document); ``wanted``: the checked fields the writer sent (link
    values already lists of ids); ``targets``: every document named on either side, as
    locked; ``readable``: which of them the writer may read (None: a system actor,
    which reads everything of the organisation)."""
    fields = dict(wanted)
    others: dict[str, dict[str, Any]] = {}

    def other(link: str) -> dict[str, Any]:
        return others.setdefault(link, dict(targets[link].fields))

    def alive(link: str) -> bool:
        target = targets.get(link)
        return target is not None and target.organisation_id == organisation_id

    for key in sorted(keys):
        before = [link for link in as_links(current.get(key)) if link != source and alive(link)]
        given = as_links(wanted.get(key))
        for link in given:
            if link == source:
                raise _refuse(key, "a document cannot link to itself")
            if not alive(link) or (readable is not None and link not in readable):
                raise _refuse(key, f"no document {link} here")
            if targets[link].trashed and link not in before:
                raise _refuse(key, f"document {link} is in the trash")
        hidden = [
            link
            for link in before
            if readable is not None and link not in readable and link not in given
        ]
        after = given + hidden
        if len(after) > MAX_LINKS:
            raise _refuse(key, f"at most {MAX_LINKS} documents")
        if after:
            fields[key] = after
        else:
            fields.pop(key, None)
        for link in after:
            if link not in before:
                mirror = other(link)
                mirror[key] = _with(as_links(mirror.get(key)), source, key, link)
        for link in before:
            if link not in after:
                mirror = other(link)
                kept = [x for x in as_links(mirror.get(key)) if x != source]
                if kept:
                    mirror[key] = kept
                else:
                    mirror.pop(key, None)
    changed = {
        link: values for link, values in others.items() if values != dict(targets[link].fields)
    }
    return LinkPlan(fields=fields, others=changed)


def unlink_all(
    *, source: str, keys: frozenset[str], targets: Mapping[str, Target]
) -> dict[str, dict[str, Any]]:
    """The fields of every document that still names ``source`` (being deleted for good)
    once ``source`` is removed from them; only those that change."""
    out: dict[str, dict[str, Any]] = {}
    for link, target in targets.items():
        if link == source:
            continue
        values = dict(target.fields)
        for key in keys:
            if key in values:
                kept = [x for x in as_links(values[key]) if x != source]
                if kept:
                    values[key] = kept
                else:
                    values.pop(key)
        if values != dict(target.fields):
            out[link] = values
    return out
