"""Turning a file into a thumbnail: PDFium for the first page of a PDF, Pillow for images,
WebP out. Blocking and CPU-bound: callers run :func:`render` in a worker thread.

Every way a hostile or damaged file can go wrong ends in :class:`Unrenderable` (recorded
as a failed thumbnail, never retried), with limits checked before any work they bound:

* an image is opened lazily and its declared size checked against
  ``MAX_SOURCE_PIXELS`` before a pixel is decoded (a decompression bomb is refused from
  its header); Pillow's own ``DecompressionBombError`` is caught too, and only the
  decoder of the sniffed format is tried;
* a PDF page's declared size is checked against ``MAX_PAGE_POINTS`` and rendered
  straight at the thumbnail's scale, so the bitmap is never larger than the thumbnail;
* whatever a decoder raises on a damaged file (``PdfiumError``, ``OSError``,
  ``SyntaxError``, ``ValueError``…) is caught. ``MemoryError`` and interpreter errors are
  not: they are the worker's problem, retried and dead-lettered like any job failure.
"""

from __future__ import annotations

import io
import threading
import warnings
from dataclasses import dataclass
from typing import BinaryIO

import pypdfium2 as pdfium
from PIL import Image, ImageOps

from hub.content.domain.thumbnails import (
    IMAGE_TYPES,
    MAX_PAGE_POINTS,
    MAX_SIDE,
    MAX_SOURCE_PIXELS,
    PDF_TYPES,
    WEBP_QUALITY,
    Unrenderable,
    fit,
)

#: PDFium is not thread-safe: one render at a time per process.
_PDFIUM = threading.Lock()
#: The Pillow decoder for each sniffed image type (no other is ever tried on its bytes).
_PILLOW_FORMATS = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/tiff": "TIFF",
}
#: What a damaged file makes a decoder raise.
_DECODE_ERRORS = (
    pdfium.PdfiumError,
    Image.DecompressionBombError,
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    EOFError,
    ZeroDivisionError,
    OverflowError,
)


@dataclass(frozen=True)
class Rendered:
    """A WebP thumbnail and its size in pixels."""

    data: bytes
    width: int
    height: int


def render(source: BinaryIO, media_type: str) -> Rendered:
    """The thumbnail of ``source`` (a seekable file of the given sniffed type).
    Raises :class:`Unrenderable` for anything that cannot be previewed."""
    try:
        if media_type in PDF_TYPES:
            image = _first_page(source)
        elif media_type in IMAGE_TYPES:
            image = _image(source, _PILLOW_FORMATS[media_type])
        else:
            raise Unrenderable(f"no renderer for {media_type}")
        return _encode(image)
    except Unrenderable:
        raise
    except _DECODE_ERRORS as exc:
        raise Unrenderable(f"{type(exc).__name__}: {str(exc)[:200]}") from exc


def _first_page(source: BinaryIO) -> Image.Image:
    with _PDFIUM:
        document = pdfium.PdfDocument(source)
        try:
            if len(document) < 1:
                raise Unrenderable("the PDF has no page")
            page = document[0]
            try:
                width, height = page.get_size()
                if not (0 < width <= MAX_PAGE_POINTS and 0 < height <= MAX_PAGE_POINTS):
                    raise Unrenderable(f"page size {width} x {height} pt is out of bounds")
                target_width, target_height = fit(width, height)
                scale = min(target_width / width, target_height / height)
                bitmap = page.render(scale=scale, may_draw_forms=False)
                try:
                    # A copy: the bitmap's buffer is freed with it.
                    image: Image.Image = bitmap.to_pil().copy()
                finally:
                    bitmap.close()
            finally:
                page.close()
        finally:
            document.close()
    return image


def _image(source: BinaryIO, pillow_format: str) -> Image.Image:
    with warnings.catch_warnings():
        # Pillow warns below its own bomb limit; ours is lower and checked below.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(source, formats=[pillow_format]) as opened:  # the header only
            width, height = opened.size
            if width * height > MAX_SOURCE_PIXELS:
                raise Unrenderable(f"{width} x {height} pixels is more than {MAX_SOURCE_PIXELS}")
            # JPEG decodes straight at a reduced scale (1/2 to 1/8) when asked to.
            opened.draft("RGB", (MAX_SIDE, MAX_SIDE))
            opened.load()
            image = ImageOps.exif_transpose(opened)
            image = image.convert("RGBA" if _has_alpha(image) else "RGB")
    size = fit(image.width, image.height)
    if size != image.size:
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info


def _encode(image: Image.Image) -> Rendered:
    if max(image.size) > MAX_SIDE:  # a renderer rounding up: bound it all the same
        image = image.resize(fit(image.width, image.height), Image.Resampling.LANCZOS)
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if _has_alpha(image) else "RGB")
    out = io.BytesIO()
    image.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
    return Rendered(data=out.getvalue(), width=image.width, height=image.height)
