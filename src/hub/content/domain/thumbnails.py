"""Thumbnails: which versions have one, how big it is, what it is made of, and the limits
that keep a hostile file from costing more than a thumbnail is worth.

A thumbnail is a preview of one version's file: the first page of a PDF, or the first
frame of an image, scaled to fit a square of :data:`MAX_SIDE` pixels (never enlarged)
and encoded as WebP. Other types (text, office files…) have none: rendering them would
need a word processor on the server.
"""

from __future__ import annotations

import enum
import math

from hub.kernel.errors import NotFound

#: The job that makes a version's thumbnail (``tasks.make_thumbnail``).
MAKE_THUMBNAIL_JOB = "content.make_thumbnail"
#: Longest side of a thumbnail in pixels: enough for a list or a card at 2x density,
#: small enough (a few KiB to a few tens of KiB as WebP) to serve from memory.
MAX_SIDE = 400
#: What every thumbnail is encoded as.
MEDIA_TYPE = "image/webp"
#: WebP quality: previews, not archives.
WEBP_QUALITY = 80

#: Largest image (width x height) that is decoded at all: a decompression bomb (a few KiB
#: of PNG declaring 20000 x 20000 pixels) is refused from its header, before a pixel is
#: decoded. 50 megapixels covers every camera and scanner page.
MAX_SOURCE_PIXELS = 50_000_000
#: Largest file the renderer reads (it is spooled to a temporary file first, so memory
#: stays bounded whatever the size; this bounds disk and time).
MAX_SOURCE_BYTES = 200 * 1024 * 1024
#: A PDF page larger than this (in points, 1/72 inch, on either side) is not rendered:
#: PDF's own limit is 14 400 pt (200 inches); a larger claim is a malformed file.
MAX_PAGE_POINTS = 14_400.0
#: A thumbnail side below this many pixels says nothing (a page 1 pt wide and 14 400 pt
#: long would come out 1 x 400): such a page is refused as unrenderable.
MIN_SIDE = 1

#: Media types that get a thumbnail, and how each is rendered.
PDF_TYPES = frozenset({"application/pdf"})
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/tiff"})


class Status(enum.StrEnum):
    """The recorded outcome of a version's thumbnail job (no record: not made yet)."""

    #: Rendered and stored in the blob store.
    READY = "ready"
    #: The file could not be rendered (corrupt, encrypted, too large, a decompression
    #: bomb…): final, the job is not retried.
    FAILED = "failed"


def previewable(media_type: str) -> bool:
    """Whether a version of this (sniffed) type gets a thumbnail."""
    return media_type in PDF_TYPES or media_type in IMAGE_TYPES


def fit(width: float, height: float, max_side: int = MAX_SIDE) -> tuple[int, int]:
    """The thumbnail's size for a source of ``width`` x ``height``: scaled down to fit
    ``max_side`` (aspect kept, never enlarged), each side at least one pixel."""
    if not (math.isfinite(width) and math.isfinite(height)) or width <= 0 or height <= 0:
        raise ValueError(f"not a size: {width} x {height}")
    scale = min(1.0, max_side / max(width, height))
    return max(MIN_SIDE, round(width * scale)), max(MIN_SIDE, round(height * scale))


class Unrenderable(Exception):
    """The file cannot be made into a thumbnail; the message says why (for operators: it
    is recorded with the failure, never shown to a client)."""


def thumbnail_not_ready() -> NotFound:
    return NotFound("The thumbnail is not made yet; try again shortly.", code="thumbnail_not_ready")


def no_thumbnail(media_type: str) -> NotFound:
    return NotFound(
        "Files of this type have no thumbnail.",
        code="no_thumbnail",
        extra={"mediaType": media_type},
    )


def thumbnail_failed() -> NotFound:
    return NotFound(
        "This file could not be rendered as a thumbnail (damaged or too large).",
        code="thumbnail_failed",
    )
