"""Barcodes on a new scan, read in the extraction child (zxing-cpp, the reader
Paperless-ngx uses): the first pages of a PDF rendered as for OCR, or the frames of an
image, each searched for every barcode format zxing-cpp reads (Code 128, Code 39, QR,
Data Matrix…). What they say is decided by the parent (``domain.barcodes``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.content.domain.extraction import MAX_BARCODE_VALUE, MAX_BARCODES, Bounds
from hub.content.services.extraction import ocr


def _frames(image: Any, pages: int) -> list[Any]:
    from itertools import islice

    from PIL import ImageSequence

    return [frame.copy() for frame in islice(ImageSequence.Iterator(image), pages)]


def read(path: Path, kind: str, pages: int, bounds: Bounds) -> list[tuple[int, str]]:
    """``(page, text)`` of each barcode on the first ``pages`` pages, in page order."""
    import zxingcpp

    images = (
        ocr.rendered(path, pages, bounds)
        if kind == "pdf"
        else _frames(ocr.open_image(path, bounds), pages)
    )
    found: list[tuple[int, str]] = []
    for number, image in enumerate(images, start=1):
        for barcode in zxingcpp.read_barcodes(image.convert("L")):
            if barcode.valid and barcode.text:
                found.append((number, barcode.text[:MAX_BARCODE_VALUE]))
        if len(found) >= MAX_BARCODES:
            break
    return found[:MAX_BARCODES]
