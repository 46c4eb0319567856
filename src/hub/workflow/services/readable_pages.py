"""Pages of rows about documents, newest first, holding only those the reader may read.

Instances and incidents both name a subject document the caller may not be allowed to
read, and a row about such a document must not appear (not even as a count). Filtering
after a ``LIMIT`` would make pages short at random, so the rows are read in batches,
each checked with one ``ContentApi.readable_among`` query, until the page is full; a page
is short only at the end of the list, or once ``MAX_SCANNED`` rows were passed over
(``nextCursor`` then resumes the scan where it stopped).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from hub.kernel.pagination import Page, after_uuid, encode_cursor

#: Rows one list request passes over at most looking for ones the caller may read.
MAX_SCANNED = 2000

#: ``(before, batch)`` → up to ``batch + 1`` rows with ``id`` (descending) and ``document_id``.
Fetch = Callable[[uuid.UUID | None, int], Awaitable[Sequence[Any]]]
#: The documents among these the caller may read.
Readable = Callable[[list[uuid.UUID]], Awaitable[set[uuid.UUID]]]


async def readable_page(
    fetch: Fetch,
    readable: Readable,
    convert: Callable[[Any], Awaitable[Any]] | None = None,
    *,
    limit: int,
    cursor: str | None,
) -> Page[Any]:
    """The page; each row as ``convert`` makes it (as it is without one)."""
    before = after_uuid(cursor) if cursor is not None else None
    items: list[Any] = []
    next_cursor: str | None = None
    scanned, batch = 0, max(limit, 50)
    while True:
        rows = list(await fetch(before, batch))
        has_more = len(rows) > batch
        rows = rows[:batch]
        allowed = await readable(list({r.document_id for r in rows if r.document_id is not None}))
        for row in rows:
            if row.document_id is not None and row.document_id not in allowed:
                continue
            if len(items) == limit:
                has_more = True
                break
            items.append(row if convert is None else await convert(row))
            before = row.id
        else:
            if rows:
                before = rows[-1].id
        scanned += len(rows)
        if len(items) == limit or not has_more or scanned >= MAX_SCANNED:
            if has_more and before is not None:
                next_cursor = encode_cursor(str(before))
            break
    return Page(items=items, limit=limit, next_cursor=next_cursor)
