"""Metadata an organisation defines: tags (nested, coloured), document types and typed
custom fields. Pure rules: names, colours, depth, and each field type's values.

A custom field's value is checked against its definition's type and stored normalised
(a monetary amount as a decimal string, a date as ``YYYY-MM-DD``, document links as a
list of ids). ``member`` and ``document`` values are UUIDs here; whether they name a
member or a document of the organisation is the service's question (it needs the
database).
"""

from __future__ import annotations

import enum
import math
import re
import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from hub.content.domain.documents import clean_text
from hub.kernel.problems import field_invalid, sized

MAX_TAG_DEPTH = 5
MAX_NAME = 64
MAX_DESCRIPTION = 500
MAX_OPTIONS = 100
MAX_STRING = 255
MAX_TEXT = 10_000
MAX_URL = 2048
#: Most documents one ``document`` field of one document may link to.
MAX_LINKS = 50
INT64 = 2**63
FIELD_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class FieldType(enum.StrEnum):
    STRING = "string"
    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    MONETARY = "monetary"
    DATE = "date"
    BOOLEAN = "boolean"
    URL = "url"
    SELECT = "select"
    MEMBER = "member"
    DOCUMENT = "document"


def clean_name(raw: str, *, field: str = "name") -> str:
    return sized(clean_text(raw), field=field, most=MAX_NAME)


def clean_description(raw: str) -> str:
    text = raw.strip()
    if len(text) > MAX_DESCRIPTION:
        raise field_invalid("description", f"At most {MAX_DESCRIPTION} characters.")
    return text


def clean_colour(raw: str | None) -> str | None:
    """``#rrggbb`` (stored lower-case) or None for no colour."""
    if raw is None:
        return None
    if not _COLOUR.match(raw):
        raise field_invalid("colour", "A colour is #rrggbb.")
    return raw.lower()


def check_depth(parent_depth: int, subtree_height: int = 1) -> None:
    """A tag under a parent at ``parent_depth`` (0: no parent), carrying a subtree
    ``subtree_height`` levels tall (1: the tag alone), ends at most MAX_TAG_DEPTH deep."""
    if parent_depth + subtree_height > MAX_TAG_DEPTH:
        raise field_invalid("parentId", f"Tags nest at most {MAX_TAG_DEPTH} levels deep.")


def clean_key(raw: str) -> str:
    if not FIELD_KEY.match(raw):
        raise field_invalid(
            "key", "A key starts with a letter; letters, digits, _ . - (64 at most)."
        )
    return raw


def clean_options(field_type: FieldType, options: list[str] | None) -> list[str]:
    """The choices of a select field (at least one, unique); other types take none."""
    if field_type is not FieldType.SELECT:
        if options:
            raise field_invalid("options", "Only a select field has options.")
        return []
    cleaned = list(dict.fromkeys(clean_text(o) for o in options or []))
    if not cleaned or "" in cleaned or len(cleaned) > MAX_OPTIONS:
        raise field_invalid("options", f"A select field has 1 to {MAX_OPTIONS} non-blank options.")
    if any(len(o) > MAX_STRING for o in cleaned):
        raise field_invalid("options", f"An option has at most {MAX_STRING} characters.")
    return cleaned


def _uuid(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a UUID")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError("must be a UUID") from None


def _links(value: Any) -> list[str]:
    """A ``document`` field's value: a list of document ids, duplicates folded, order
    kept. A single id (the field's first form) is still taken, as a list of one."""
    if isinstance(value, str):
        return [_uuid(value)]
    if not isinstance(value, list):
        raise ValueError("must be a list of document ids")
    try:
        links = list(dict.fromkeys(_uuid(item) for item in value))
    except ValueError:
        raise ValueError("must be a list of document ids") from None
    if len(links) > MAX_LINKS:
        raise ValueError(f"at most {MAX_LINKS} documents")
    return links


def _string(value: Any, limit: int) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if len(value) > limit:
        raise ValueError(f"at most {limit} characters")
    return value


def _monetary(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) != {"amount", "currency"}:
        raise ValueError('must be {"amount": "12.50", "currency": "EUR"}')
    raw, currency = value["amount"], value["currency"]
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise ValueError("amount must be a decimal number")
    try:
        amount = Decimal(str(raw))
    except InvalidOperation:
        raise ValueError("amount must be a decimal number") from None
    if not amount.is_finite() or abs(amount) >= Decimal(10) ** 15:
        raise ValueError("amount must be a finite number below 10^15")
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise ValueError("currency must be an ISO 4217 code such as EUR")
    return {"amount": str(amount), "currency": currency}


def _date(value: Any) -> str:
    if not isinstance(value, str) or not _DATE.match(value):
        raise ValueError("must be a date YYYY-MM-DD")
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError("must be a date YYYY-MM-DD") from None


def _url(value: Any) -> str:
    text = _string(value, MAX_URL)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http(s) URL")
    return text


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -INT64 <= value < INT64:
        raise ValueError("must be a 64-bit integer")
    return value


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def field_value(field_type: FieldType, options: list[str], value: Any) -> Any:
    """``value`` normalised for a field of ``field_type``; ValueError says what is wrong."""
    match field_type:
        case FieldType.STRING:
            return _string(value, MAX_STRING)
        case FieldType.TEXT:
            return _string(value, MAX_TEXT)
        case FieldType.INTEGER:
            return _integer(value)
        case FieldType.NUMBER:
            return _number(value)
        case FieldType.MONETARY:
            return _monetary(value)
        case FieldType.DATE:
            return _date(value)
        case FieldType.BOOLEAN:
            return _boolean(value)
        case FieldType.URL:
            return _url(value)
        case FieldType.SELECT:
            if value not in options:
                raise ValueError("must be one of the field's options")
            return value
        case FieldType.MEMBER:
            return _uuid(value)
        case FieldType.DOCUMENT:
            return _links(value)


class Definition:
    """What validation reads of a custom-field definition."""

    __slots__ = ("key", "options", "type")

    def __init__(self, key: str, field_type: str, options: list[str]) -> None:
        self.key = key
        self.type = FieldType(field_type)
        self.options = options


def check_values(
    values: dict[str, Any], definitions: dict[str, Definition], *, field: str = "customFields"
) -> dict[str, Any]:
    """A document's custom fields checked against the organisation's definitions: an
    unknown key or a value of the wrong type is a 422 naming the key; None (and, for
    document links, an empty list) drops a key."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        definition = definitions.get(key)
        if definition is None:
            raise field_invalid(f"{field}.{key}", f"No custom field {key!r} is defined.")
        if value is None:
            continue
        try:
            cleaned = field_value(definition.type, definition.options, value)
        except ValueError as exc:
            raise field_invalid(f"{field}.{key}", f"{key}: {exc}.") from None
        if cleaned != []:
            out[key] = cleaned
    return out
