"""File names and media types: what an upload is called, what it really is, whether it
is accepted, and how it may be shown.

The media type is sniffed from the first bytes, never taken from the client's declared
``Content-Type`` (which any client sets to anything). Sniffing recognises the formats the
default allow-list names by their signatures, HTML/XML/SVG by their opening markup, and
otherwise tells text from binary; the file name's extension only refines *text* (CSV,
Markdown, JSON), so a name can never turn bytes into a type they do not have.
"""

from __future__ import annotations

import mimetypes
import unicodedata
from collections.abc import Iterable

#: How many leading bytes :func:`sniff_media_type` looks at.
SNIFF_BYTES = 4096
MAX_FILE_NAME_CHARS = 255
FALLBACK_FILE_NAME = "file"

#: Types a browser may run script in: never served inline, always with a sandbox CSP.
_SCRIPT_CAPABLE = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "application/xml",
        "text/xml",
        "text/javascript",
        "application/javascript",
        "application/pdf+xml",
    }
)
#: Types a browser renders without running anything the file brings: allowed inline.
_INLINE_SAFE = frozenset(
    {
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "text/plain",
        "text/csv",
        "text/markdown",
    }
)

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),
)
#: OOXML and ODF are zip archives; their extension says which (the bytes agree: zip).
_ZIP_BASED = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
}
_OLE_BASED = {
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".ppt": "application/vnd.ms-powerpoint",
}
_MARKUP = (
    (b"<!doctype html", "text/html"),
    (b"<html", "text/html"),
    (b"<head", "text/html"),
    (b"<body", "text/html"),
    (b"<script", "text/html"),
    (b"<iframe", "text/html"),
    (b"<svg", "image/svg+xml"),
    (b"<?xml", "application/xml"),
)
_TEXT_BY_EXTENSION = {
    ".csv": "text/csv",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".json": "application/json",
    ".txt": "text/plain",
    ".html": "text/html",
    ".htm": "text/html",
    ".svg": "image/svg+xml",
    ".xml": "application/xml",
}


def sanitise_file_name(raw: str) -> str:
    """A name safe to store and to send back: the last path segment only, NFC, no
    control or format characters, no leading dots or trailing dots/spaces, at most
    255 characters (the extension kept); ``file`` when nothing is left."""
    name = unicodedata.normalize("NFC", raw)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(" " if c in "\t\n\r" else c for c in name)
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = " ".join(name.split())
    name = name.lstrip(". ").rstrip(". ")
    if len(name) > MAX_FILE_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = stem[: MAX_FILE_NAME_CHARS - len(ext) - 1] + "." + ext
        else:
            name = name[:MAX_FILE_NAME_CHARS]
    return name or FALLBACK_FILE_NAME


def _extension(file_name: str) -> str:
    dot = file_name.rfind(".")
    return file_name[dot:].lower() if dot > 0 else ""


def _looks_textual(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut by the end of the sniffed window is still text
        if exc.start < len(head) - 3:
            return False
    return True


def sniff_media_type(head: bytes, file_name: str = "") -> str:
    """The media type of a file from its first bytes (:data:`SNIFF_BYTES` suffice)."""
    extension = _extension(file_name)
    for signature, media_type in _SIGNATURES:
        if head.startswith(signature):
            if media_type == "application/zip":
                return _ZIP_BASED.get(extension, media_type)
            if media_type == "application/x-ole-storage":
                return _OLE_BASED.get(extension, "application/octet-stream")
            return media_type
    if head[:12].startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if not head or not _looks_textual(head):
        return "application/octet-stream"
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    for opening, media_type in _MARKUP:
        if start.startswith(opening):
            if media_type == "application/xml" and b"<svg" in start:
                return "image/svg+xml"
            if media_type == "application/xml" and b"<html" in start:
                return "application/xhtml+xml"
            return media_type
    by_name = _TEXT_BY_EXTENSION.get(extension)
    if by_name is not None:
        return by_name
    guessed, _ = mimetypes.guess_type("x" + extension) if extension else (None, None)
    if guessed is not None and guessed.startswith("text/") and guessed not in _SCRIPT_CAPABLE:
        return guessed
    return "text/plain"


def is_allowed(media_type: str, allowed: Iterable[str]) -> bool:
    """Whether ``media_type`` matches one of ``allowed`` (``type/subtype``, ``type/*``,
    ``*/*``)."""
    kind = media_type.split("/", 1)[0]
    return any(p in (media_type, f"{kind}/*", "*/*") for p in allowed)


def can_carry_script(media_type: str) -> bool:
    """HTML, SVG, XML and the like: a browser could run what they contain."""
    return media_type in _SCRIPT_CAPABLE or media_type.endswith("+xml")


def may_show_inline(media_type: str) -> bool:
    """Whether a browser may render the file in place (anything else is downloaded)."""
    return media_type in _INLINE_SAFE and not can_carry_script(media_type)
