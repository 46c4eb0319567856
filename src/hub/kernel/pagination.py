"""Cursor pagination: a page of items plus the opaque cursor that fetches the next one.

Cursors are keyset positions (e.g. the last UUIDv7 id seen), so a page costs an index
range scan however deep the client scrolls, and rows inserted meanwhile are neither
skipped nor repeated. They are opaque (base64url JSON) so the keys can change.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Any, Generic, TypeVar

import msgspec

from hub.kernel.problems import invalid_cursor
from hub.kernel.structs import Schema

T = TypeVar("T")
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
#: What every cursor looks like on the wire (unpadded base64url), stated in the document.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"
MAX_CURSOR_LENGTH = 512


class Page(Schema, Generic[T]):
    items: list[T]
    limit: int
    next_cursor: str | None = None


def encode_cursor(*keys: Any) -> str:
    raw = msgspec.json.encode(list(keys))
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    """Decode a cursor made by :func:`encode_cursor`; a forged or stale one is a 422."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = msgspec.json.decode(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError, msgspec.DecodeError):
        values = None
    if not isinstance(values, list) or len(values) != arity:
        raise invalid_cursor()
    return values


def after_uuid(cursor: str) -> uuid.UUID:
    """The id a cursor made by ``page_of(..., lambda v: (str(v.id),))`` points after (the
    keyset every list ordered by a UUIDv7 id uses)."""
    (last,) = decode_cursor(cursor, 1)
    try:
        return uuid.UUID(str(last))
    except ValueError:
        raise invalid_cursor() from None


def after_time_and_id(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The ``(time, id)`` a cursor made by ``page_of(..., lambda v: (v.at.isoformat(),
    str(v.id)))`` points after (the keyset of every newest-first list); a time without
    its offset is as forged as any other bad cursor (422)."""
    at, last = decode_cursor(cursor, 2)
    try:
        when, row_id = datetime.fromisoformat(str(at)), uuid.UUID(str(last))
    except ValueError:
        raise invalid_cursor() from None
    if when.tzinfo is None:
        raise invalid_cursor()
    return when, row_id


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    return max(1, min(MAX_LIMIT, limit))


def page_of(rows: list[T], limit: int, cursor_of: Any) -> Page[T]:
    """Build a page from ``limit + 1`` fetched rows: the extra row only proves there is more."""
    has_more = len(rows) > limit
    items = rows[:limit]
    next_cursor = encode_cursor(*cursor_of(items[-1])) if has_more and items else None
    return Page(items=items, limit=limit, next_cursor=next_cursor)
