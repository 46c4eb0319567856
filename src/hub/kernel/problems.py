"""Problem factories every context raises the same way (one wording, one code per case)."""

from __future__ import annotations

from hub.kernel.errors import FieldError, Invalid, NotFound


def not_found(what: str) -> NotFound:
    """404 for a resource the caller cannot see (absent, or in another organisation)."""
    return NotFound(f"No such {what}.")


def field_invalid(
    field: str,
    message: str,
    *,
    source: str = "body",
    code: str = "validation_failed",
    status_code: int | None = None,
    detail: str | None = None,
) -> Invalid:
    """422 (or ``status_code``) naming one offending field."""
    return Invalid(
        detail or message,
        code=code,
        status_code=status_code,
        errors=[FieldError(field=field, message=message, source=source)],
    )


def invalid_cursor() -> Invalid:
    """422: the cursor has the documented shape (a 400 otherwise, before any handler runs)
    but is not one this server issued for this list."""
    return field_invalid(
        "cursor",
        "not a cursor of this list",
        source="query",
        code="invalid_cursor",
        detail="The cursor is not valid; start again without one.",
    )
