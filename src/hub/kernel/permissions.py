"""The permission catalogue: each context contributes its permissions from its bootstrap.

Identity stores roles as sets of these keys; ``GET /api/v1/permissions`` lists them.
Keys are ``<context>.<resource>.<action>`` so they sort and group by context.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import msgspec

_KEY_RE = re.compile(r"^[a-z]+(\.[a-z_]+)+$")


class Permission(msgspec.Struct, frozen=True, rename="camel"):
    key: str
    description: str
    context: str


class PermissionRegistry:
    def __init__(self) -> None:
        self._items: dict[str, Permission] = {}

    def register(self, context: str, permissions: Iterable[tuple[str, str]]) -> None:
        for key, description in permissions:
            if not _KEY_RE.match(key) or not key.startswith(context + "."):
                raise ValueError(
                    f"permission {key!r} must look like '{context}.<resource>.<action>'"
                )
            if key in self._items:
                raise ValueError(f"permission {key!r} registered twice")
            self._items[key] = Permission(key=key, description=description, context=context)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[Permission]:
        return iter(sorted(self._items.values(), key=lambda p: p.key))

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> frozenset[str]:
        return frozenset(self._items)
