"""Problem factories every context raises the same way (one wording, one code per case)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from hub.kernel.errors import AppError, FieldError, Invalid, NotFound

E = TypeVar("E", bound=AppError)


def refusal(kind: type[E], detail: str, *, code: str | None = None) -> Callable[[], E]:
    """A refusal declared once, where its wording and code are decided:
    ``invalid_code = refusal(Unauthorized, "The code is wrong.", code="invalid_code")``,
    raised as ``raise invalid_code()``. Each call makes a new exception, because a raised
    exception keeps the traceback of where it was raised."""

    def make() -> E:
        return kind(detail, code=code)

    make.__name__ = make.__qualname__ = code or kind.__name__
    return make


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


def sized(value: str, *, field: str, most: int) -> str:
    """``value`` (already in its stored form), or 422 naming ``field`` when it is empty or
    longer than ``most`` characters: the one rule every name and title follows."""
    if not value or len(value) > most:
        raise field_invalid(field, f"Use 1 to {most} characters.")
    return value
