"""Files the extraction tests build themselves (no binary fixtures in the repository),
and the settings and helpers they share."""

from __future__ import annotations

import io
import random
import shutil
import struct
import zipfile
import zlib
from typing import Any

import pytest

from hub.content.domain.files import DEFAULT_ALLOWED_MEDIA_TYPES
from hub.kernel.settings import Settings
from tests.integration.content.support import DOCS

#: Tesseract with English: the OCR tests need it (CI installs it, see .ci/run).
HAS_TESSERACT = shutil.which("tesseract") is not None
needs_tesseract = pytest.mark.skipif(
    not HAS_TESSERACT,
    reason="tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-fra)",
)


def extraction_settings(settings: Settings, timeout_seconds: int = 30) -> Settings:
    """HTML allowed (the default refuses it), and the extraction time-out given."""
    return settings.replace(
        content_allowed_media_types=(*DEFAULT_ALLOWED_MEDIA_TYPES, "text/html"),
        content_extraction_timeout_seconds=timeout_seconds,
    )


async def extraction_of(client: Any, who: Any, document_id: str) -> str:
    r = await client.get(f"{DOCS}/{document_id}", headers=who.auth)
    assert r.status_code == 200, r.text
    status: str = r.json()["extraction"]["status"]
    return status


def words(seed: int, count: int = 200) -> list[str]:
    """``count`` words drawn (reproducibly) from a vocabulary of a few hundred."""
    vocabulary = [
        f"{a}{b}"
        for a in ("ka", "lo", "mi", "ne", "po", "ru", "sa", "te")
        for b in (
            "ban",
            "cor",
            "dil",
            "fen",
            "gur",
            "hax",
            "jin",
            "kol",
            "lum",
            "mox",
            "nep",
            "qua",
            "ros",
            "sil",
            "tam",
            "vek",
            "wun",
            "yor",
            "zed",
            "bri",
            "cla",
            "dro",
            "fli",
            "gro",
        )
    ]
    rng = random.Random(seed)
    return [rng.choice(vocabulary) for _ in range(count)]


# --------------------------------------------------------------------------- PDF


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF of the given objects (1 is the catalog) with a correct cross-reference table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def _stream(data: bytes, *, compress: bool = False) -> bytes:
    if compress:
        data = zlib.compress(data, 9)
        return (
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + (b"\nendstream")
        )
    return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def pdf_with_text(lines: list[str]) -> bytes:
    """A one-page PDF whose text layer holds ``lines`` (Helvetica, ASCII)."""
    ops = b"BT /F1 12 Tf 14 TL 72 720 Td\n"
    for line in lines:
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops += b"(" + escaped.encode("latin-1") + b") Tj T*\n"
    ops += b"ET"
    return _pdf(_page_objects(ops))


def _page_objects(content: bytes, *, compress: bool = False) -> list[bytes]:
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        _stream(content, compress=compress),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]


def slow_pdf(operators: int = 1_500_000) -> bytes:
    """A small PDF (its content stream compressed) whose text takes pypdf far longer than
    a second to read: over a million text-showing operators."""
    content = b"BT /F1 1 Tf\n" + b"1 0 0 1 10 10 Tm (ab) Tj\n" * operators + b"ET"
    return _pdf(_page_objects(content, compress=True))


# --------------------------------------------------------------------------- office


def docx_with(paragraphs: list[str]) -> bytes:
    from docx import Document

    document = Document()
    for text in paragraphs:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def xlsx_with(rows: list[list[Any]], title: str = "Prices") -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


_ODT_CONTENT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content
  xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
  xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3">
<office:body><office:text>
<text:h text:outline-level="1">{heading}</text:h>
<text:p>{body}</text:p>
</office:text></office:body></office:document-content>"""


def odt_with(heading: str, body: str) -> bytes:
    """An OpenDocument text as LibreOffice lays it out: ``mimetype`` stored first."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        archive.writestr(
            "content.xml",
            _ODT_CONTENT.format(heading=heading, body=body),
            compress_type=zipfile.ZIP_DEFLATED,
        )
        archive.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0"?><manifest:manifest '
            'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>',
        )
    return out.getvalue()


def zip_bomb_docx(megabytes: int = 64) -> bytes:
    """A .docx whose document.xml unpacks ``megabytes`` MiB of zeros from a few KiB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as entry:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(megabytes):
                entry.write(chunk)
    return out.getvalue()


# --------------------------------------------------------------------------- images


def png_of_text(text: str) -> bytes:
    """Black text, large, on white: what Tesseract reads without trouble."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1400, 220), 255)
    ImageDraw.Draw(image).text((30, 60), text, fill=0, font=ImageFont.load_default(size=72))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def scanned_pdf_of_text(text: str) -> bytes:
    """A PDF holding only a picture of ``text`` (no text layer), as a scanner makes."""
    from PIL import Image

    image = Image.open(io.BytesIO(png_of_text(text))).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="PDF", resolution=150)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(side: int = 40_000) -> bytes:
    """A PNG that claims ``side`` x ``side`` pixels (1.6 billion by default) in a few
    bytes: a decoder that trusted it would allocate gigabytes."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    row = b"\0" * (side + 1)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(row * 4, 9))
        + _chunk(b"IEND", b"")
    )
