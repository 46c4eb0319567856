"""Custom-field filters of the document list: ``field=<key>:<op>:<value>``.

One query parameter per condition, all of them applying (AND): ``field=amount:gte:100``,
``field=due:lt:2027-01-01``, ``field=status:eq:open``. Every field type takes ``eq``; the
ordered types (integer, number, monetary — by amount, whatever the currency — and date)
also take ``lt``, ``lte``, ``gt`` and ``gte``. ``eq`` on a ``document`` (link) field finds
the documents linking to that one. The value is parsed here, once, into what the stored
value is compared with; a value the field could never hold is a 422 naming ``field``
rather than an empty page, so a typo is not mistaken for "no such documents".
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from hub.content.domain.taxonomy import FieldType, field_value
from hub.kernel.problems import field_invalid

#: What the query parameter must look like (the document states it; a mismatch is a 400).
FIELD_FILTER_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]{0,63}:(eq|lt|lte|gt|gte):[^\x00-\x1f\x7f]{1,255}$"
MAX_FIELD_FILTERS = 10
_FIELD_FILTER = re.compile(FIELD_FILTER_PATTERN)
ORDERED = frozenset({FieldType.INTEGER, FieldType.NUMBER, FieldType.MONETARY, FieldType.DATE})


@dataclass(frozen=True)
class FieldFilter:
    key: str
    op: str
    raw: str


@dataclass(frozen=True)
class FieldCondition:
    """A filter with its field's type and the operand, ready for SQL."""

    key: str
    type: FieldType
    op: str
    operand: Any


def parse_field_filters(raw: list[str]) -> list[FieldFilter]:
    """The ``field`` query values, each ``key:op:value`` (the value may hold colons): a
    value off the documented pattern, or more than :data:`MAX_FIELD_FILTERS`, is a 400
    (the document states both)."""
    if len(raw) > MAX_FIELD_FILTERS:
        raise field_invalid(
            "field", f"At most {MAX_FIELD_FILTERS} conditions.", source="query", status_code=400
        )
    out = []
    for value in raw:
        if not _FIELD_FILTER.fullmatch(value):
            raise field_invalid(
                "field",
                "Use key:op:value, op one of eq, lt, lte, gt, gte.",
                source="query",
                status_code=400,
            )
        out.append(split_filter(value))
    return out


def split_filter(value: str) -> FieldFilter:
    """A condition already matched against :data:`FIELD_FILTER_PATTERN`, split (the value
    may hold colons)."""
    key, op, operand = value.split(":", 2)
    return FieldFilter(key, op, operand)


def condition(filter_: FieldFilter, field_type: FieldType, options: list[str]) -> FieldCondition:
    """The filter against its field's definition; ValueError says what is wrong."""
    if filter_.op != "eq" and field_type not in ORDERED:
        raise ValueError(f"{filter_.key} is a {field_type.value} field: only eq applies")
    return FieldCondition(
        filter_.key, field_type, filter_.op, _operand(field_type, options, filter_.raw)
    )


def _operand(field_type: FieldType, options: list[str], raw: str) -> Any:
    match field_type:
        case FieldType.INTEGER:
            try:
                return field_value(field_type, options, int(raw, 10))
            except ValueError:
                raise ValueError("must be a 64-bit integer") from None
        case FieldType.NUMBER:
            try:
                number = float(raw)
            except ValueError:
                raise ValueError("must be a number") from None
            if not math.isfinite(number):
                raise ValueError("must be a finite number")
            return number
        case FieldType.MONETARY:
            try:
                amount = Decimal(raw)
            except InvalidOperation:
                raise ValueError("must be an amount such as 12.50") from None
            if not amount.is_finite():
                raise ValueError("must be an amount such as 12.50")
            return amount
        case FieldType.BOOLEAN:
            if raw not in ("true", "false"):
                raise ValueError("must be true or false")
            return raw == "true"
        case FieldType.DOCUMENT:
            try:
                return str(uuid.UUID(raw))
            except ValueError:
                raise ValueError("must be a document id") from None
        case _:
            return field_value(field_type, options, raw)
