"""What an uploaded file is and what it may be called: its media type sniffed from its bytes
(never taken from the client's Content-Type or the name alone), checked against an
allow-list, and a file name safe to store and to offer again on download."""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterable

import puremagic

#: How much of a file :func:`sniff_media_type` wants to see: enough for every signature
#: below and for a fair verdict on "is this text".
SNIFF_BYTES = 8192

_OOXML = "application/vnd.openxmlformats-officedocument"
_ODF = "application/vnd.oasis.opendocument"

#: Uploads accepted when HUB_CONTENT_ALLOWED_MEDIA_TYPES is unset: documents and images a
#: browser never runs. HTML, SVG and XML are left out on purpose: served from the hub's
#: origin they could carry script.
DEFAULT_ALLOWED_MEDIA_TYPES: tuple[str, ...] = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/tiff",
    "text/plain",
    "text/csv",
    "text/markdown",
    f"{_OOXML}.wordprocessingml.document",
    f"{_OOXML}.spreadsheetml.sheet",
    f"{_OOXML}.presentationml.presentation",
    f"{_ODF}.text",
    f"{_ODF}.spreadsheet",
    f"{_ODF}.presentation",
    "application/msword",
    "application/vnd.ms-excel",
    "message/rfc822",
)

#: Zip containers told apart by their extension (their first entries are alike).
_OOXML_BY_EXTENSION = {
    "docx": f"{_OOXML}.wordprocessingml.document",
    "xlsx": f"{_OOXML}.spreadsheetml.sheet",
    "pptx": f"{_OOXML}.presentationml.presentation",
}
#: OLE2 compound files (the pre-2007 Office formats) likewise.
_OLE_BY_EXTENSION = {
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
}
_OLE_SIGNATURE = bytes.fromhex("d0cf11e0a1b11ae1")
_ZIP_SIGNATURE = b"PK\x03\x04"
_TEXT_BY_EXTENSION = {
    "txt": "text/plain",
    "text": "text/plain",
    "csv": "text/csv",
    "md": "text/markdown",
    "markdown": "text/markdown",
}
#: Markup is refused by default, so it must not pass for plain text.
_MARKUP_BY_EXTENSION = {
    "html": "text/html",
    "htm": "text/html",
    "xhtml": "application/xhtml+xml",
    "svg": "image/svg+xml",
    "xml": "application/xml",
}
#: The tags a browser's sniffer takes for HTML (WHATWG MIME Sniffing, "identifying a
#: resource with an unknown MIME type").
_HTML_OPENINGS = (
    b"<!doctype html",
    b"<html",
    b"<head",
    b"<script",
    b"<iframe",
    b"<h1",
    b"<div",
    b"<font",
    b"<table",
    b"<a",
    b"<style",
    b"<title",
    b"<b",
    b"<body",
    b"<br",
    b"<p",
)
_TAG_ENDS = (b" ", b">", b"\t", b"\n", b"\r", b"\f", b"/")
#: Text may hold tabs, line ends and form feeds; any other C0 control (NUL above all)
#: means binary.
_TEXT_CONTROLS = frozenset(b"\t\n\r\f")
_NON_TEXT = bytes(c for c in range(32) if c not in _TEXT_CONTROLS) + b"\x7f"

#: Code points dropped from names: controls, format characters (bidi overrides that make
#: ``evil\u202excod.exe`` read as ``evilexe.docx``, zero-width ones), separators.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_MAX_NAME_BYTES = 255
#: Longest suffix kept as the extension when a long name is cut.
_MAX_EXTENSION_BYTES = 16


def sanitise_file_name(raw: str) -> str:
    """The name to store and to offer on download: its last path part (``/`` and ``\\``
    both separate), without control, format or bidi characters, without leading or
    trailing dots and spaces, at most 255 bytes of UTF-8 with its extension kept, and
    ``"file"`` when nothing is left."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        " " if unicodedata.category(c) == "Zs" or c in "\t\r\n" else c
        for c in name
        if c in "\t\r\n" or unicodedata.category(c) not in _DROPPED_CATEGORIES
    )
    name = re.sub(" {2,}", " ", name)  # a CR LF (or a run of spaces) becomes one space
    name = re.sub(r" +\.", ".", name)  # no space left before the extension
    name = name.strip(". ")
    if len(name.encode()) > _MAX_NAME_BYTES:
        stem, dot, extension = name.rpartition(".")
        if not dot or not stem or len(extension.encode()) + 1 > _MAX_EXTENSION_BYTES:
            stem, extension = name, ""
        suffix = f".{extension}" if extension else ""
        room = _MAX_NAME_BYTES - len(suffix.encode())
        # Cut on a character boundary (a partial UTF-8 sequence is dropped).
        stem = stem.encode()[:room].decode(errors="ignore").rstrip(". ")
        name = f"{stem}{suffix}" if stem else suffix.lstrip(".")
    return name or "file"


def _extension(file_name: str) -> str:
    stem, dot, extension = file_name.rpartition(".")
    return extension.lower() if dot and stem else ""


def _looks_like_text(head: bytes) -> bool:
    """UTF-8 (a sequence cut at the end of ``head`` allowed) without NUL or other
    controls."""
    if any(c in _NON_TEXT for c in head):
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _markup_type(head: bytes) -> str | None:
    """HTML, SVG or XML by content (what a browser would render as markup)."""
    start = head.removeprefix(codecs.BOM_UTF8).lstrip(b" \t\r\n\f")[:1024].lower()
    if start.startswith(b"<svg") or (start.startswith(b"<?xml") and b"<svg" in start):
        return "image/svg+xml"
    if start.startswith(b"<?xml"):
        return "application/xml"
    if start.startswith(b"<!--"):
        return "text/html"
    for opening in _HTML_OPENINGS:
        # A tag name ends at a space or ">" ("<b" must not match "<base64 data>").
        if start.startswith(opening) and start[len(opening) : len(opening) + 1] in _TAG_ENDS:
            return "text/html"
    return None


def _text_type(head: bytes, extension: str) -> str:
    """A name may only make text *more* restricted: a markup extension makes it markup,
    and markup by content stays markup whatever the name (an HTML page called notes.txt,
    a README.md opening with ``<div>``: served as attachments, never rendered)."""
    if extension in _MARKUP_BY_EXTENSION:
        return _MARKUP_BY_EXTENSION[extension]
    markup = _markup_type(head)
    if markup is not None:
        return markup
    return _TEXT_BY_EXTENSION.get(extension, "text/plain")


#: A header field's name (RFC 5322 3.6.8: printable ASCII but the colon) and its colon.
_HEADER_FIELD = re.compile(rb"^[\x21-\x39\x3b-\x7e]{1,76}:")
#: Fields one of which every mail carries besides From (RFC 5322 3.6 asks for Date).
_MAIL_FIELDS = frozenset({b"date", b"subject", b"message-id"})


def _looks_like_mail(head: bytes) -> bool:
    """An Internet message (``.eml``): its opening lines, up to the blank line that ends
    the header (or the last whole line of ``head``), are header fields or their folded
    continuations, as UTF-8 text (RFC 6532), with a From and a Date, Subject or
    Message-ID among them. The body after the header may be any bytes (8-bit mail)."""
    section = re.split(rb"\r?\n\r?\n", head, maxsplit=1)[0]
    lines = section.splitlines()
    if len(section) == len(head) and len(lines) > 1 and not head.endswith(b"\n"):
        lines = lines[:-1]  # cut inside a line by the sniffing window
    if not lines or not _HEADER_FIELD.match(lines[0]) or not _looks_like_text(section):
        return False
    names = set()
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            continue
        field = _HEADER_FIELD.match(line)
        if field is None:
            return False
        names.add(field.group()[:-1].lower())
    return b"from" in names and bool(names & _MAIL_FIELDS)


def _zip_type(head: bytes, extension: str) -> str:
    # Local file header: name length at 26, extra length at 28, stored size at 18, then
    # the name at 30, the extra field and the data.
    name_length = int.from_bytes(head[26:28], "little")
    extra_length = int.from_bytes(head[28:30], "little")
    size = int.from_bytes(head[18:22], "little")
    if head[30 : 30 + name_length] == b"mimetype" and size <= 100:
        start = 30 + name_length + extra_length
        declared = head[start : start + size]
        if declared.startswith(f"{_ODF}.".encode()) and declared.isascii():
            return declared.decode()
    return _OOXML_BY_EXTENSION.get(extension, "application/zip")


#: The shortest signature that identifies binary bytes (BMP's "BM" is two).
_MIN_SIGNATURE_BYTES = 2


def _library_type(head: bytes, file_name: str) -> str:
    """Any other format, by puremagic's signatures (the name breaks ties between formats
    sharing a signature)."""
    try:
        # Signatures only: given a file name, puremagic also offers the name's own type,
        # and a name must never make unknown bytes into an allowed type.
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        return "application/octet-stream"
    extension = _extension(file_name)
    # A one-byte signature ("{" for JSON) says nothing about bytes that are not text:
    # one random file in 256 would match it.
    matches = [m for m in matches if len(m.byte_match) >= _MIN_SIGNATURE_BYTES]
    matches = sorted(matches, key=lambda m: str(m.extension).lower() != extension)  # ties
    for match in matches:  # best first
        media_type = str(match.mime_type).lower()
        # Text was judged above (these bytes are not UTF-8 text); the library's guess of
        # "text" from a name or a UTF-16/32 byte order mark must not override that.
        # Mail likewise (its signature is "From:" on any bytes that follow).
        if media_type and not media_type.startswith(("text/", "message/")):
            return media_type
    return "application/octet-stream"


def sniff_media_type(head: bytes, file_name: str) -> str:
    """The media type of a file from its first bytes (:data:`SNIFF_BYTES` of them, or the
    whole file if shorter) and its (sanitised) name.

    Formats that share a container are told apart by the name: a zip is a .docx/.xlsx/
    .pptx by extension (an ODF file names its type inside), an OLE2 file a .doc/.xls/.ppt;
    a .eml whose opening lines are a mail's header is ``message/rfc822``;
    text (UTF-8 without NUL) is text/csv or text/markdown by extension, HTML/SVG/XML by
    extension or content, else text/plain. Anything unknown is
    ``application/octet-stream``. The name alone never makes binary bytes into an allowed
    type.
    """
    extension = _extension(file_name)
    if head.startswith(_ZIP_SIGNATURE):
        return _zip_type(head, extension)
    if head.startswith(_OLE_SIGNATURE):
        return _OLE_BY_EXTENSION.get(extension, "application/x-ole-storage")
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if extension == "eml" and _looks_like_mail(head):
        return "message/rfc822"
    if _looks_like_text(head):
        return _text_type(head, extension)
    return _library_type(head, file_name)


def is_allowed(media_type: str, allowed: Iterable[str]) -> bool:
    """Whether ``media_type`` (parameters such as ``; charset=`` ignored) matches one of
    ``allowed``: ``type/subtype``, ``type/*`` or ``*/*``, case-insensitively."""
    essence = media_type.split(";", 1)[0].strip().lower()
    kind = essence.split("/", 1)[0]
    patterns = {a.strip().lower() for a in allowed}
    return bool(patterns & {essence, f"{kind}/*", "*/*"})


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


def can_carry_script(media_type: str) -> bool:
    """HTML, SVG, XML and the like: a browser could run what they contain."""
    return media_type in _SCRIPT_CAPABLE or media_type.endswith("+xml")


def may_show_inline(media_type: str) -> bool:
    """Whether a browser may render the file in place (anything else is downloaded)."""
    return media_type in _INLINE_SAFE and not can_carry_script(media_type)
