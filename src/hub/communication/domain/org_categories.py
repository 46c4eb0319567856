"""Notification categories an organisation defines for itself, beside the platform's
(``domain.categories``): a key its templates, notify actions and members' preferences
name exactly like ``documents`` or ``workflow.tasks``, a display name, a description,
default channels and whether members may turn it off.

Keys are lower-case words joined by hyphens (``consultation-alerts``); the platform's
keys are taken (``security`` is the platform's everywhere), so a key never means two
things in one organisation. Two organisations may both define ``appointment-reminders``:
a member's preference for that key applies in both (preferences are per user, the same
in every organisation).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hub.communication.domain.categories import CATEGORIES, SENDABLE_CHANNELS, Category
from hub.kernel.problems import field_invalid

#: An organisation's category key.
KEY_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
MAX_KEY = 48
MAX_NAME = 100
MAX_DESCRIPTION = 500
#: Categories one organisation may define.
MAX_CATEGORIES = 100
ORGANISATION = "organisation"
_KEY = re.compile(KEY_PATTERN)


@dataclass(frozen=True)
class CategoryDraft:
    key: str
    name: str
    description: str = ""
    defaults: dict[str, bool] = field(default_factory=dict)
    mandatory: bool = False


def check_key(key: str, name: str = "key") -> str:
    if not _KEY.match(key) or len(key) > MAX_KEY:
        raise field_invalid(
            name, f"lower-case words joined by hyphens, at most {MAX_KEY} characters"
        )
    if key in CATEGORIES:
        raise field_invalid(name, f"{key!r} is a platform category", code="category_reserved")
    return key


def check_draft(draft: CategoryDraft) -> CategoryDraft:
    """The draft with its name and description trimmed; 422 naming the field otherwise."""
    check_key(draft.key)
    name = " ".join(draft.name.split())
    if not name or len(name) > MAX_NAME:
        raise field_invalid("name", f"1 to {MAX_NAME} characters")
    description = draft.description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise field_invalid("description", f"at most {MAX_DESCRIPTION} characters")
    for channel in draft.defaults:
        if channel not in SENDABLE_CHANNELS:
            raise field_invalid(
                f"defaults.{channel}",
                f"unknown channel; one of: {', '.join(SENDABLE_CHANNELS)}",
            )
    return CategoryDraft(
        key=draft.key,
        name=name,
        description=description,
        defaults={c: bool(on) for c, on in draft.defaults.items()},
        mandatory=draft.mandatory,
    )


def as_category(row: Any) -> Category:
    """A stored row (``communication.organisation_categories``) as a category."""
    return Category(
        key=row.key,
        description=row.description,
        defaults=dict(row.defaults),
        declared_by=ORGANISATION,
        name=row.name,
        mandatory=row.mandatory,
    )


def known_with(own: Iterable[Category]) -> dict[str, Category]:
    """The platform's categories and an organisation's own (the platform's win a clash,
    which :func:`check_key` prevents anyway)."""
    return {**{c.key: c for c in own}, **CATEGORIES}
