"""Optical character recognition with Tesseract (``pytesseract`` runs the ``tesseract``
binary), for images and for PDFs without a text layer (pages rendered with pypdfium2).
Runs only in the extraction child process.

Without the binary, or without any of the configured languages installed, OCR is
unavailable and the version says so (``ocr_unavailable``); README "Text extraction" tells
how to install it. Images are measured before they are decoded: Pillow's
decompression-bomb guard is made an error at :attr:`Bounds.max_image_pixels`.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hub.content.domain.extraction import Bounds
from hub.content.services.extraction.formats import Refused, too_large

#: Resolution PDF pages are rendered at for OCR (Tesseract reads 300 dpi best; 200 keeps
#: an A4 page near 2 MB of pixels).
RENDER_DPI = 200


def languages(wanted: str) -> str | None:
    """The configured languages Tesseract has (``eng+fra``), or None: OCR unavailable."""
    if shutil.which("tesseract") is None:
        return None
    import pytesseract

    try:
        installed = set(pytesseract.get_languages(config=""))
    except Exception:
        return None
    usable = [lang for lang in wanted.split("+") if lang in installed]
    return "+".join(usable) or None


def guard_pixels(bounds: Bounds) -> None:
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = bounds.max_image_pixels
    # Pillow warns between the bound and twice it and raises past twice: both refuse here.
    warnings.simplefilter("error", Image.DecompressionBombWarning)


def open_image(path: Path, bounds: Bounds) -> Any:
    """The image, its size checked before any pixel is decoded."""
    from PIL import Image, UnidentifiedImageError

    guard_pixels(bounds)
    try:
        image = Image.open(path)
        width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise too_large(str(exc)) from None
    except (UnidentifiedImageError, OSError) as exc:
        raise Refused("corrupt", f"unreadable image: {exc}") from None
    if width * height > bounds.max_image_pixels:
        raise too_large(f"{width}x{height} pixels (at most {bounds.max_image_pixels})")
    return image


def read_image(image: Any, langs: str) -> str:
    import pytesseract

    frames: list[str] = []
    for index in range(getattr(image, "n_frames", 1)):  # a multi-page TIFF
        image.seek(index)
        frame = image.convert("RGB") if image.mode not in ("RGB", "L") else image
        frames.append(str(pytesseract.image_to_string(frame, lang=langs)))
        if index + 1 >= 50:
            break
    return "\n\n".join(frames)


def rendered(path: Path, pages: int, bounds: Bounds) -> Iterator[Any]:
    """The first ``pages`` pages of a PDF as images, at :data:`RENDER_DPI` (less for a
    page so large it would pass :attr:`Bounds.max_image_pixels`), one at a time."""
    import pypdfium2

    guard_pixels(bounds)
    document = pypdfium2.PdfDocument(path)
    try:
        for index in range(min(pages, len(document))):
            page = document[index]
            width, height = page.get_size()  # points (1/72 in)
            scale = RENDER_DPI / 72
            if width * height * scale * scale > bounds.max_image_pixels:
                scale = (bounds.max_image_pixels / (width * height)) ** 0.5
            yield page.render(scale=scale).to_pil()
    finally:
        document.close()


def read_pdf(path: Path, pages: int, langs: str, bounds: Bounds) -> str:
    """OCR of the first :attr:`Bounds.max_ocr_pages` pages of a PDF."""
    import pytesseract

    limit = min(pages, bounds.max_ocr_pages)
    return "\n\n".join(
        str(pytesseract.image_to_string(image, lang=langs))
        for image in rendered(path, limit, bounds)
    )
