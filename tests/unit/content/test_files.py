"""Uploaded files: the media type comes from the bytes (real tiny files of every allowed
kind, made here), the allow-list refuses markup, and file names are made safe to keep."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from hub.content.domain.files import (
    DEFAULT_ALLOWED_MEDIA_TYPES,
    SNIFF_BYTES,
    is_allowed,
    sanitise_file_name,
    sniff_media_type,
)

OOXML = "application/vnd.openxmlformats-officedocument"
ODF = "application/vnd.oasis.opendocument"

# --------------------------------------------------------------------------- real files


def image(kind: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (3, 2), (200, 10, 10)).save(out, kind)
    return out.getvalue()


#: A minimal but complete PDF (one empty page), cross-reference table and all.
PDF = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    b"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000015 00000 n \n"
    b"0000000060 00000 n \n0000000111 00000 n \n"
    b"trailer<</Size 4/Root 1 0 R>>\nstartxref\n178\n%%EOF\n"
)


def ooxml(main_part: str) -> bytes:
    """A Word/Excel/PowerPoint package as those programs lay it out: the content types
    first, then the relationships, then the main part."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        package.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        package.writestr(main_part, '<?xml version="1.0"?><document/>')
    return out.getvalue()


def odf(media_type: str) -> bytes:
    """An OpenDocument package: ``mimetype`` first and stored, as the standard requires."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr("mimetype", media_type, compress_type=zipfile.ZIP_STORED)
        package.writestr("content.xml", "<office:document-content/>", zipfile.ZIP_DEFLATED)
    return out.getvalue()


#: An OLE2 compound file header (what .doc and .xls files are).
OLE2 = bytes.fromhex("d0cf11e0a1b11ae1") + bytes(16) + b"\x3e\x00\x03\x00\xfe\xff" + bytes(482)


#: A mail as a mail program saves it (header, folded line, blank line, body).
MAIL = (
    b"Received: from mx.example\n  by clinic.example; Tue, 1 Dec 2026 10:00:00 +0000\n"
    b"From: Billing <billing@supplier.example>\nSubject: Invoice 42\n"
    b"Date: Tue, 1 Dec 2026 10:00:00 +0000\nMIME-Version: 1.0\n\nPlease pay.\n"
)


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (PDF, "report.pdf", "application/pdf"),
        (PDF, "report", "application/pdf"),  # no extension needed
        (image("PNG"), "photo.png", "image/png"),
        (image("JPEG"), "photo.jpg", "image/jpeg"),
        (image("GIF"), "anim.gif", "image/gif"),
        (image("WEBP"), "photo.webp", "image/webp"),
        (image("TIFF"), "scan.tif", "image/tiff"),
        (image("PNG"), "photo.txt", "image/png"),  # the bytes win over the name
        (image("PNG"), "", "image/png"),
        (ooxml("word/document.xml"), "letter.docx", f"{OOXML}.wordprocessingml.document"),
        (ooxml("xl/workbook.xml"), "budget.XLSX", f"{OOXML}.spreadsheetml.sheet"),
        (ooxml("ppt/presentation.xml"), "deck.pptx", f"{OOXML}.presentationml.presentation"),
        (odf(f"{ODF}.text"), "letter.odt", f"{ODF}.text"),
        (odf(f"{ODF}.spreadsheet"), "wrong-name.bin", f"{ODF}.spreadsheet"),  # says so inside
        (odf(f"{ODF}.presentation"), "deck.odp", f"{ODF}.presentation"),
        (ooxml("word/document.xml"), "archive.zip", "application/zip"),
        (ooxml("word/document.xml"), "letter", "application/zip"),
        (OLE2, "old.doc", "application/msword"),
        (OLE2, "old.xls", "application/vnd.ms-excel"),
        (OLE2, "old.bin", "application/x-ole-storage"),
        (b"plain words\nand lines\n", "notes.txt", "text/plain"),
        (b"plain words\n", "notes", "text/plain"),
        (b"plain words\n", "data.json", "text/plain"),
        ("na\u00efve caf\u00e9 \u2014 \u65e5\u672c\n".encode(), "utf8.txt", "text/plain"),
        (b"\xef\xbb\xbfwith a byte order mark\n", "bom.txt", "text/plain"),
        (b"a,b,c\n1,2,3\n", "table.csv", "text/csv"),
        (b"# Title\n\nSome *text*.\n", "README.md", "text/markdown"),
        (b"# Title\n", "notes.markdown", "text/markdown"),
        # markup by content stays markup whatever the name (served as an attachment)
        (b'<div align="center">logo</div>\n# Title\n', "README.md", "text/html"),
        (b"# Title\n\nsome *markdown*\n", "README.md", "text/markdown"),
        (b"", "empty.txt", "text/plain"),
        (b"", "empty.csv", "text/csv"),
        (b"<!DOCTYPE html><html><script>alert(1)</script>", "page.txt", "text/html"),
        (b"<!DOCTYPE html><html><script>alert(1)</script>", "page.html", "text/html"),
        (b"<!DOCTYPE html><html><script>alert(1)</script>", "page", "text/html"),
        (b"  <html>\n<body onload=x()>", "upload.bin", "text/html"),
        (b"<script>fetch('/api')</script>", "x", "text/html"),
        (b"<!-- comment --><p>hi</p>", "x", "text/html"),
        (b"just words", "page.htm", "text/html"),  # the name says markup: treated so
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "logo", "image/svg+xml"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "a", "image/svg+xml"),
        (b"plain", "logo.svg", "image/svg+xml"),
        (b'<?xml version="1.0"?><root/>', "data", "application/xml"),
        (b"<root/>", "data.xml", "application/xml"),
        (b"<base64 blob>", "x", "text/plain"),  # "<b" opens no tag here
        (MAIL, "invoice.eml", "message/rfc822"),
        (MAIL.replace(b"\n", b"\r\n"), "invoice.EML", "message/rfc822"),
        (MAIL + b"\xe9t\xe9 in Latin-1\n", "8bit.eml", "message/rfc822"),  # any body bytes
        (MAIL, "invoice.txt", "text/plain"),  # only a .eml is taken for a mail
        (b"<html><script>x()</script>", "page.eml", "text/html"),  # markup stays markup
        (b"Subject: no sender\n\nbody", "x.eml", "text/plain"),
        (b"From: a@b.example\nnot a header\n\nbody", "x.eml", "text/plain"),
        (b"From: a@b\x00.example\nDate: x\n\nbody", "x.eml", "application/octet-stream"),
        (b"text with a NUL\x00 byte", "notes.txt", "application/octet-stream"),
        (b"\x01\x02\x03 binary", "notes.txt", "application/octet-stream"),
        (b"\xff\xfe\x00\x00 not utf-8", "notes.txt", "application/octet-stream"),
        (bytes(range(256)) * 4, "blob.bin", "application/octet-stream"),
        # Binary that happens to open with "{" or "[" (one random file in 128) is no JSON.
        (b"{\xf8\x1b(e\xe4\xb9\xdf" * 8, "random.bin", "application/octet-stream"),
        (b"[\xf8\x1b(e\xe4\xb9\xdf" * 8, "random.json", "application/octet-stream"),
    ],
)
def test_the_media_type_comes_from_the_bytes(data: bytes, name: str, expected: str) -> None:
    assert sniff_media_type(data[:SNIFF_BYTES], name) == expected


def test_text_cut_inside_a_character_is_still_text() -> None:
    text = ("\u00e9" * SNIFF_BYTES).encode()  # 2 bytes each: the cut falls mid-character
    head = text[: SNIFF_BYTES - 1]
    assert sniff_media_type(head, "accents.txt") == "text/plain"
    # A broken sequence anywhere else is not UTF-8.
    assert sniff_media_type(b"ab\xc3(cd", "x.txt") == "application/octet-stream"


def test_a_mail_header_longer_than_the_sniffed_bytes_is_still_a_mail() -> None:
    received = b"Received: from relay.example by mx.example; Tue, 1 Dec 2026\n" * 400
    head = (MAIL + received + b"\nbody")[:SNIFF_BYTES]  # cut inside a header line
    assert not head.endswith(b"\n")
    assert sniff_media_type(head, "long.eml") == "message/rfc822"


def test_only_the_first_bytes_are_needed() -> None:
    big = image("PNG") + bytes(SNIFF_BYTES * 4)
    assert sniff_media_type(big[:SNIFF_BYTES], "p.png") == "image/png"
    assert sniff_media_type(ooxml("word/document.xml")[:64], "a.docx") == (
        f"{OOXML}.wordprocessingml.document"
    )


def test_the_default_allow_list() -> None:
    for allowed in (
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/tiff",
        "text/plain",
        "text/csv",
        "text/markdown",
        f"{OOXML}.wordprocessingml.document",
        f"{OOXML}.spreadsheetml.sheet",
        f"{OOXML}.presentationml.presentation",
        f"{ODF}.text",
        f"{ODF}.spreadsheet",
        f"{ODF}.presentation",
        "application/msword",
        "application/vnd.ms-excel",
        "message/rfc822",
    ):
        assert is_allowed(allowed, DEFAULT_ALLOWED_MEDIA_TYPES), allowed
    for refused in (
        "text/html",
        "image/svg+xml",
        "application/xml",
        "application/xhtml+xml",
        "application/zip",
        "application/octet-stream",
        "application/x-ole-storage",
        "application/javascript",
    ):
        assert not is_allowed(refused, DEFAULT_ALLOWED_MEDIA_TYPES), refused


def test_every_sniffed_allowed_file_passes_and_markup_does_not() -> None:
    allowed = DEFAULT_ALLOWED_MEDIA_TYPES
    assert is_allowed(sniff_media_type(PDF, "a.pdf"), allowed)
    assert is_allowed(sniff_media_type(ooxml("word/document.xml"), "a.docx"), allowed)
    assert not is_allowed(sniff_media_type(b"<html><script>", "a"), allowed)
    assert not is_allowed(sniff_media_type(b"<svg onload=x>", "a"), allowed)


def test_is_allowed_ignores_case_and_parameters() -> None:
    assert is_allowed("Text/Plain; charset=utf-8", ("text/plain",))
    assert is_allowed("text/plain", ("TEXT/PLAIN",))
    assert not is_allowed("text/plain", ())
    assert not is_allowed("text/plainx", ("text/plain",))


# --------------------------------------------------------------------------- file names


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("Quarterly report (final) v2.docx", "Quarterly report (final) v2.docx"),
        ("/etc/passwd", "passwd"),
        ("../../secret.txt", "secret.txt"),
        ("C:\\Users\\ann\\Desktop\\notes.txt", "notes.txt"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("dir/", "file"),
        ("", "file"),
        ("   ", "file"),
        ("..", "file"),
        ("...", "file"),
        (".hidden", "hidden"),
        ("trailing. . .", "trailing"),
        ("  padded.txt  ", "padded.txt"),
        ("nul\x00byte.txt", "nulbyte.txt"),
        ("line\nbreak\r.txt", "line break.txt"),
        ("tab\there.txt", "tab here.txt"),
        ("bell\x07\x1b[31m.txt", "bell[31m.txt"),
        ("del\x7f.txt", "del.txt"),
        # Right-to-left override: "invoice\u202egpj.exe" shows as "invoiceexe.jpg".
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("a\u2066b\u2069c\u200bd\ufeff.txt", "abcd.txt"),
        ("line\u2028sep\u2029.txt", "linesep.txt"),
        ("non\u00a0breaking.txt", "non breaking.txt"),
        ("caf\u0065\u0301.txt", "caf\u00e9.txt"),  # NFC
        ("\u65e5\u672c\u8a9e.pdf", "\u65e5\u672c\u8a9e.pdf"),
    ],
)
def test_file_names_are_sanitised(raw: str, expected: str) -> None:
    assert sanitise_file_name(raw) == expected


def test_long_names_are_cut_to_255_bytes_keeping_the_extension() -> None:
    name = sanitise_file_name("a" * 300 + ".pdf")
    assert name == "a" * 251 + ".pdf"
    assert len(name.encode()) == 255
    # Multi-byte characters are never split.
    wide = sanitise_file_name("\u00e9" * 200 + ".docx")
    assert wide.endswith(".docx")
    assert len(wide.encode()) <= 255
    assert wide.removesuffix(".docx") == "\u00e9" * ((255 - 5) // 2)
    # No extension worth keeping (too long to be one): a plain cut.
    plain = sanitise_file_name("b" * 200 + "." + "c" * 100)
    assert plain == ("b" * 200 + "." + "c" * 100).encode()[:255].decode()
    # Exactly 255 bytes stays as it is.
    assert sanitise_file_name("d" * 251 + ".txt") == "d" * 251 + ".txt"
    # A cut that ends on dots or spaces loses them.
    assert sanitise_file_name("e" * 250 + " . " + "f" * 10 + ".txt").endswith("e.txt")
