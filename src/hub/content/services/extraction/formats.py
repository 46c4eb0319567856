"""Text out of each supported format. Runs only inside the extraction child process
(``worker``), under its memory and time bounds: nothing here is trusted to be fast or
small, so every container is measured before it is opened.

Parsers: pypdf (PDF text layer), openpyxl in read-only mode (XLSX; it parses through
defusedxml when that is installed, as it is here), defusedxml's ElementTree (DOCX, PPTX
and OpenDocument XML: no entity expansion, no external entities), selectolax (HTML, the
Lexbor HTML5 parser), the standard csv module.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree.ElementTree import Element

from defusedxml import ElementTree

from hub.content.domain.extraction import MAX_TEXT_CHARS, Bounds, html_text
from hub.content.domain.mail import attachment_parts, body_text, header_text, mail_message


class Refused(Exception):
    """The file is past a bound (a bomb, too many pages): retrying cannot help."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


def too_large(detail: str) -> Refused:
    return Refused("too_large", detail)


def decode(data: bytes) -> str:
    """Uploads are sniffed as text only when they are UTF-8; a BOM is dropped."""
    return data.decode("utf-8-sig", errors="replace")


def plain(path: Path) -> str:
    return decode(path.read_bytes())


def table(path: Path) -> str:
    """CSV: one line per row, cells separated by tabs."""
    csv.field_size_limit(MAX_TEXT_CHARS)
    rows = csv.reader(io.StringIO(plain(path), newline=""))
    return "\n".join("\t".join(cell.strip() for cell in row) for row in rows)


def html(path: Path) -> str:
    return html_text(plain(path))


def eml(path: Path) -> str:
    """A mail: its From, To, Cc, Date and Subject, its body's text and the names of its
    attachments (their content is not read: a rule makes them documents of their own)."""
    with path.open("rb") as stream:
        message = mail_message(stream.read())
    fields = [(name, header_text(message, name)) for name in ("From", "To", "Cc", "Date")]
    fields.append(("Subject", header_text(message, "Subject")))
    lines = [f"{name}: {value}" for name, value in fields if value]
    names = [name for name, _ in attachment_parts(message)]
    if names:
        lines.append("Attachments: " + ", ".join(names))
    return "\n".join([*lines, "", body_text(message)])


# --------------------------------------------------------------------------- zip containers


def open_zip(path: Path, bounds: Bounds) -> zipfile.ZipFile:
    """A zip container whose central directory promises no bomb: few enough entries, a
    bounded total once unpacked, no entry compressed suspiciously well. Entries are then
    read with :func:`member`, which never unpacks past the size an entry declared."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise Refused("corrupt", f"not a readable zip container: {exc}") from None
    entries = archive.infolist()
    if len(entries) > bounds.max_zip_entries:
        raise too_large(f"{len(entries)} zip entries (at most {bounds.max_zip_entries})")
    total = 0
    for entry in entries:
        total += entry.file_size
        if entry.file_size > bounds.ratio_floor_bytes and entry.file_size > (
            max(entry.compress_size, 1) * bounds.max_compression_ratio
        ):
            raise too_large(
                f"zip entry {entry.filename!r} unpacks {entry.file_size} bytes from "
                f"{entry.compress_size} (more than {bounds.max_compression_ratio}x)"
            )
    if total > bounds.max_unzipped_bytes:
        raise too_large(f"zip unpacks to {total} bytes (at most {bounds.max_unzipped_bytes})")
    return archive


def member(archive: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        entry = archive.getinfo(name)
    except KeyError:
        return None
    with archive.open(entry) as stream:
        # zipfile stops at the declared size (and checks the CRC): a lying header cannot
        # make this read more than the bound checked in open_zip.
        return stream.read(entry.file_size + 1)


def _xml(data: bytes) -> Element:
    try:
        root: Element = ElementTree.fromstring(data)
    except Exception as exc:  # defusedxml's refusals and ParseError alike
        raise Refused("corrupt", f"unreadable XML: {type(exc).__name__}") from None
    return root


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _paragraphs(root: Element, paragraph: str, text: str, extra: dict[str, str]) -> Iterator[str]:
    """Text of each ``paragraph`` element: its ``text`` elements' content, with
    ``extra`` elements (tabs, breaks) as the characters they stand for."""
    for node in root.iter():
        if _local(node.tag) != paragraph:
            continue
        parts: list[str] = []
        for inner in node.iter():
            name = _local(inner.tag)
            if name == text and inner.text:
                parts.append(inner.text)
            elif name in extra:
                parts.append(extra[name])
        yield "".join(parts)


def docx(path: Path, bounds: Bounds) -> str:
    with open_zip(path, bounds) as archive:
        out: list[str] = []
        names = ["word/document.xml", "word/footnotes.xml", "word/endnotes.xml"]
        for name in names:
            data = member(archive, name)
            if data is None:
                continue
            out.extend(_paragraphs(_xml(data), "p", "t", {"tab": "\t", "br": "\n", "cr": "\n"}))
        if not out and member(archive, "word/document.xml") is None:
            raise Refused("corrupt", "no word/document.xml")
        return "\n".join(out)


_SLIDE = re.compile(r"^ppt/slides/slide(\d+)\.xml$")


def pptx(path: Path, bounds: Bounds) -> str:
    with open_zip(path, bounds) as archive:
        slides = sorted(
            (int(m.group(1)), name)
            for name in archive.namelist()
            if (m := _SLIDE.match(name)) is not None
        )
        out: list[str] = []
        for _, name in slides:
            data = member(archive, name)
            if data is not None:
                out.extend(_paragraphs(_xml(data), "p", "t", {"br": "\n", "tab": "\t"}))
        return "\n".join(out)


def odf(path: Path, bounds: Bounds) -> str:
    """OpenDocument text, spreadsheet or presentation: every ``text:p`` and ``text:h`` of
    ``content.xml``, in document order (table cells and slides hold theirs)."""
    with open_zip(path, bounds) as archive:
        data = member(archive, "content.xml")
        if data is None:
            raise Refused("corrupt", "no content.xml")
        root = _xml(data)
    out: list[str] = []
    for node in root.iter():
        if _local(node.tag) in ("p", "h") and node.tag.startswith(
            "{urn:oasis:names:tc:opendocument:xmlns:text:"
        ):
            out.append("".join(node.itertext()))
    return "\n".join(out)


def xlsx(path: Path, bounds: Bounds) -> str:
    """Each sheet's name, then one line per row of its cell values (tab-separated)."""
    open_zip(path, bounds).close()
    from openpyxl import load_workbook

    # A stream, not the path: openpyxl judges a path by its extension, and the file is
    # stored under a neutral name.
    with path.open("rb") as stream:
        try:
            book = load_workbook(stream, read_only=True, data_only=True)
        except Exception as exc:
            raise Refused("corrupt", f"unreadable workbook: {type(exc).__name__}") from None
        out: list[str] = []
        size = 0
        try:
            for sheet in book.worksheets:
                out.append(str(sheet.title))
                for row in sheet.iter_rows(values_only=True):
                    line = "\t".join("" if v is None else str(v) for v in row).rstrip("\t")
                    if line:
                        out.append(line)
                        size += len(line)
                    if size > MAX_TEXT_CHARS:
                        return "\n".join(out)
        finally:
            book.close()
    return "\n".join(out)


# --------------------------------------------------------------------------- PDF


def pdf_text(path: Path, bounds: Bounds) -> tuple[str, int]:
    """The PDF's text layer and its page count."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise Refused("encrypted", "the PDF is encrypted")
        pages = len(reader.pages)
    except PdfReadError as exc:
        raise Refused("corrupt", f"unreadable PDF: {exc}") from None
    if pages > bounds.max_pdf_pages:
        raise too_large(f"{pages} pages (at most {bounds.max_pdf_pages})")
    out: list[str] = []
    size = 0
    for page in reader.pages:
        try:
            text = page.extract_text() or ""
        except Exception:  # one broken page does not lose the others
            text = ""
        out.append(text)
        size += len(text)
        if size > MAX_TEXT_CHARS:
            break
    return "\n\n".join(out), pages
