"""Keyset cursors over UUIDv7 ids, the one ordering identity's lists use."""

from __future__ import annotations

import uuid

from hub.kernel.errors import FieldError, Invalid
from hub.kernel.pagination import decode_cursor


def after_id(cursor: str) -> uuid.UUID:
    """The id a cursor made by ``page_of(..., lambda v: (str(v.id),))`` points after."""
    (last,) = decode_cursor(cursor, 1)
    try:
        return uuid.UUID(str(last))
    except ValueError:
        raise Invalid(
            "The cursor is not valid; start again without one.",
            code="invalid_cursor",
            status_code=400,
            errors=[FieldError(field="cursor", message="malformed cursor", source="query")],
        ) from None
