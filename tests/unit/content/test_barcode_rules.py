"""Barcodes without a server: which values are an archive serial number or a tag, and
what the extraction child reads off a rendered PDF page and an image's frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import zxingcpp
from PIL import Image

from hub.content.domain.barcodes import asn_of, tags_of
from hub.content.domain.extraction import Bounds
from hub.content.services.extraction import barcodes


def test_asn_and_tag_barcodes_say_what_their_prefix_says() -> None:
    assert asn_of(["4006381333931", "ASN00042", "ASN7"], "ASN") == 42  # the first ASN one
    assert asn_of(["asn 12"], "ASN") == 12
    assert asn_of(["ASN", "ASN-3", "ASN0", "ASN4294967296", "ASN\uff11\uff12"], "ASN") is None
    assert asn_of(["#99"], "#") == 99
    assert tags_of(["TAG:Invoices", "tag:invoices", "TAG:  Lab  results ", "TAG:"], "TAG:") == (
        "Invoices",
        "Lab results",
    )
    assert tags_of(["TAG:" + "x" * 65, "https://example.com"], "TAG:") == ()


def page_with(*values: str) -> Image.Image:
    """An A4 page at 150 dpi with a Code 128 barcode per value, one under another."""
    page = Image.new("L", (1240, 1754), 255)
    for row, value in enumerate(values):
        code = zxingcpp.create_barcode(value, zxingcpp.BarcodeFormat.Code128)
        page.paste(Image.fromarray(np.asarray(code.to_image(scale=4))), (100, 100 + 300 * row))
    return page


def test_the_child_reads_the_barcodes_of_a_pdfs_first_pages_and_an_images_frames(
    tmp_path: Path,
) -> None:
    pdf = tmp_path / "scan.pdf"
    first, second, third = page_with(), page_with("ASN00042", "TAG:Scans"), page_with("ASN9")
    first.save(pdf, "PDF", resolution=150, save_all=True, append_images=[second, third])
    assert barcodes.read(pdf, "pdf", 2, Bounds()) == [(2, "ASN00042"), (2, "TAG:Scans")]
    assert barcodes.read(pdf, "pdf", 3, Bounds())[-1] == (3, "ASN9")
    tiff = tmp_path / "scan.tiff"
    second.copy().save(tiff, save_all=True, append_images=[third.copy()])
    assert barcodes.read(tiff, "image", 5, Bounds()) == [
        (1, "ASN00042"),
        (1, "TAG:Scans"),
        (2, "ASN9"),
    ]


def test_the_extraction_child_starts_light() -> None:
    """Every extraction starts a child: it must not import the web framework, the ORM or
    numpy (each would add most of a second and tens of MiB to every file read)."""
    import subprocess
    import sys

    probe = (
        "import sys, hub.content.services.extraction.worker as w; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'litestar', 'sqlalchemy', 'numpy', 'msgspec', 'asyncpg', 'zxingcpp', 're2'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
