"""Document metadata rules: titles, tags, custom fields, list filters."""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Any

import msgspec

from hub.kernel.hygiene import CONTROL_MESSAGE, control_character_path
from hub.kernel.problems import field_invalid

MAX_TITLE = 300
MAX_TAG_NAME = 64
MAX_TAGS = 50
#: Tag subtrees one document list may filter by (``tagTree``).
MAX_TAG_TREES = 10
MAX_COMMENT = 2000
MAX_CUSTOM_FIELDS_BYTES = 16 * 1024
_FIELD_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")

#: A new document's extraction status (``domain.extraction`` holds the others).
EXTRACTION_PENDING = "pending"
#: The largest archive serial number (Paperless-ngx's bound: an unsigned 32-bit number).
MAX_ASN = 4_294_967_295
_ASN = re.compile(r"^[1-9][0-9]{0,9}$")


def parse_asn(raw: str, *, field: str = "archiveSerialNumber") -> int:
    """An archive serial number given as text (a multipart field): digits only, 1 to
    :data:`MAX_ASN`; 422 naming the field otherwise."""
    if not _ASN.match(raw) or int(raw) > MAX_ASN:
        raise field_invalid(field, f"A whole number from 1 to {MAX_ASN}.")
    return int(raw)


def clean_text(raw: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", raw).split())


def clean_title(raw: str, *, field: str = "title") -> str:
    title = "".join(c for c in clean_text(raw) if unicodedata.category(c)[0] != "C")
    if not title:
        raise field_invalid(field, "A title needs some text.")
    if len(title) > MAX_TITLE:
        raise field_invalid(field, f"At most {MAX_TITLE} characters.")
    return title


def clean_comment(raw: str | None) -> str | None:
    if raw is None:
        return None
    comment = raw.strip()
    if len(comment) > MAX_COMMENT:
        raise field_invalid("comment", f"At most {MAX_COMMENT} characters.")
    return comment or None


def tag_key(name: str) -> str:
    """What two tag names must differ in: ``Invoice`` and ``invoice`` are one tag."""
    return clean_text(name).casefold()


class TagRefs(msgspec.Struct, frozen=True):
    """Tags as a client named them: existing ids, and names (found or created)."""

    ids: tuple[uuid.UUID, ...]
    names: tuple[str, ...]


def parse_tags(values: list[str], *, field: str = "tags") -> TagRefs:
    """Each value is a tag id (UUID) or a tag name; blanks are ignored, duplicates folded."""
    ids: dict[uuid.UUID, None] = {}
    names: dict[str, str] = {}
    for raw in values:
        value = clean_text(raw)
        if not value:
            continue
        try:
            ids[uuid.UUID(value)] = None
            continue
        except ValueError:
            pass
        if len(value) > MAX_TAG_NAME:
            raise field_invalid(field, f"A tag name has at most {MAX_TAG_NAME} characters.")
        names.setdefault(tag_key(value), value)
    if len(ids) + len(names) > MAX_TAGS:
        raise field_invalid(field, f"At most {MAX_TAGS} tags.")
    return TagRefs(ids=tuple(ids), names=tuple(names.values()))


def check_custom_fields(value: Any, *, field: str = "customFields") -> dict[str, Any]:
    """A JSON object keyed by field key (letters, digits, ``_ . -``; 64 at most)."""
    if not isinstance(value, dict):
        raise field_invalid(field, "customFields must be a JSON object.")
    for key in value:
        if not isinstance(key, str) or not _FIELD_KEY.match(key):
            raise field_invalid(field, f"{key!r} is not a field key.")
    if len(msgspec.json.encode(value)) > MAX_CUSTOM_FIELDS_BYTES:
        raise field_invalid(field, f"customFields take at most {MAX_CUSTOM_FIELDS_BYTES} bytes.")
    return value


def parse_custom_fields(text: str, *, field: str = "customFields") -> dict[str, Any]:
    """``customFields`` of a multipart upload: a JSON object as text."""
    if not text.strip():
        return {}
    try:
        value = msgspec.json.decode(text.encode())
    except msgspec.DecodeError:
        raise field_invalid(field, "customFields must be a JSON object.") from None
    where = control_character_path(value)
    if where is not None:  # "\u0000" decodes to a NUL, which PostgreSQL refuses in jsonb
        name = f"{field}.{where}" if where else field
        raise field_invalid(name, CONTROL_MESSAGE, detail=f"{name} {CONTROL_MESSAGE}.")
    return check_custom_fields(value, field=field)


def parse_uuid(text: str, *, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        raise field_invalid(field, "not a UUID") from None


def split_list(text: str | None) -> tuple[str, ...]:
    """``"tags, types"`` -> ``("tags", "types")`` (a comma-separated query value)."""
    if not text:
        return ()
    return tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))


def tag_trees(raw: list[uuid.UUID] | None) -> tuple[uuid.UUID, ...]:
    """The ``tagTree`` query values: more than :data:`MAX_TAG_TREES` is a 400 (the
    document states the bound)."""
    trees = tuple(raw or ())
    if len(trees) > MAX_TAG_TREES:
        raise field_invalid(
            "tagTree", f"At most {MAX_TAG_TREES} tag trees.", source="query", status_code=400
        )
    return trees
