"""Saved views: a member's named document query (Paperless-ngx's saved views).

A view keeps the filters ``GET /documents`` takes, checked once when it is saved, and is
run with the reader's own permissions: sharing a view shares a question, never the
answers (a member sees through it only the documents they could list anyway). A view
names tags, types and fields by id or key; one deleted later makes its condition match
nothing rather than vanish, so a view never widens behind its owner's back.

``createdWithinDays`` is relative (Paperless's "added within the last 7 days"): it is
turned into a date each time the view runs, on the clock the service is given.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hub.kernel.problems import field_invalid

#: Views one member may keep in one organisation (their own, shared or not).
MAX_VIEWS_PER_MEMBER = 100
MAX_IDS = 10
MAX_WITHIN_DAYS = 3650
SORTS = ("created", "updated", "title")


def _ids(values: Any) -> tuple[uuid.UUID, ...]:
    """Ids in the order given, each once."""
    return tuple(dict.fromkeys(uuid.UUID(str(v)) for v in values or ()))


def _when(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


@dataclass(frozen=True)
class ViewFilters:
    tags: tuple[uuid.UUID, ...] = ()
    tag_trees: tuple[uuid.UUID, ...] = ()
    document_type_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    #: Documents created at most this many days before the view runs.
    created_within_days: int | None = None
    #: ``key:op:value`` conditions, as the list's ``field=`` parameter takes them.
    fields: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if (
            self.created_from is not None
            and self.created_to is not None
            and self.created_from > self.created_to
        ):
            raise field_invalid("filters.createdTo", "Must not be before createdFrom.")
        for name, ids in (("filters.tags", self.tags), ("filters.tagTrees", self.tag_trees)):
            if len(ids) > MAX_IDS:
                raise field_invalid(name, f"At most {MAX_IDS} tags.")

    def created_since(self, now: datetime) -> datetime | None:
        """The lower creation bound when run at ``now``: the later of ``created_from``
        and ``created_within_days`` before now."""
        bounds = [b for b in (self.created_from, self._window_start(now)) if b is not None]
        return max(bounds) if bounds else None

    def _window_start(self, now: datetime) -> datetime | None:
        if self.created_within_days is None:
            return None
        return now - timedelta(days=self.created_within_days)

    def to_json(self) -> dict[str, Any]:
        return {
            "tags": [str(t) for t in self.tags],
            "tag_trees": [str(t) for t in self.tag_trees],
            "document_type_id": _str(self.document_type_id),
            "owner_id": _str(self.owner_id),
            "created_from": _str(self.created_from),
            "created_to": _str(self.created_to),
            "created_within_days": self.created_within_days,
            "fields": list(self.fields),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ViewFilters:
        """What :meth:`to_json` stored (it was checked when saved)."""
        return cls(
            tags=_ids(data.get("tags")),
            tag_trees=_ids(data.get("tag_trees")),
            document_type_id=_id(data.get("document_type_id")),
            owner_id=_id(data.get("owner_id")),
            created_from=_when(data.get("created_from")),
            created_to=_when(data.get("created_to")),
            created_within_days=data.get("created_within_days"),
            fields=tuple(data.get("fields") or ()),
        )


def _id(value: Any) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(str(value))


def _str(value: uuid.UUID | datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, datetime) else str(value)


def make_filters(
    *,
    tags: Any = (),
    tag_trees: Any = (),
    document_type_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    created_within_days: int | None = None,
    fields: Any = (),
) -> ViewFilters:
    """Filters from a request's parsed body: ids folded, the checks of
    :class:`ViewFilters` applied (422 naming ``filters.<field>``)."""
    return ViewFilters(
        tags=_ids(tags),
        tag_trees=_ids(tag_trees),
        document_type_id=document_type_id,
        owner_id=owner_id,
        created_from=created_from,
        created_to=created_to,
        created_within_days=created_within_days,
        fields=tuple(dict.fromkeys(fields or ())),
    )


@dataclass(frozen=True)
class Editor:
    """Who is changing a view, as the rule below needs them."""

    user_id: uuid.UUID
    #: May curate what the organisation shares (``content.taxonomy.manage``).
    curator: bool


def may_see(view_owner: uuid.UUID | None, shared: bool, reader: uuid.UUID) -> bool:
    return shared or view_owner == reader


def may_change(view_owner: uuid.UUID | None, shared: bool, editor: Editor) -> bool:
    """The owner changes their view; a shared one also its organisation's curators
    (whoever made it may have left)."""
    return view_owner == editor.user_id or (shared and editor.curator)
