"""Content's own settings (``HUB_*`` variables like every other), declared on its
``ContextModule`` and loaded and validated with the kernel's: each rule sits on its field.
docs/content.md explains each choice."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

#: The media types a fresh installation accepts: office documents, PDF, images that
#: carry no script, plain text. HTML, SVG and XML can carry script: an operator who lists
#: them gets them served as attachments only, never rendered by the browser.
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
    "application/json",
    "application/zip",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/octet-stream",
)


def _check_media_types(patterns: tuple[str, ...]) -> None:
    for pattern in patterns:
        kind, slash, sub = pattern.partition("/")
        if not slash or not kind or not sub or " " in pattern or (kind == "*" and sub != "*"):
            raise ValueError(pattern)


MediaTypes = Annotated[
    tuple[str, ...],
    Meta(
        extra={
            "rule": "a comma-separated list of media types (type/subtype, type/* or */*)",
        }
    ),
]


class ContentSettings(msgspec.Struct, kw_only=True, frozen=True):
    #: Largest file one upload may carry (the multipart envelope around it is allowed on
    #: top); independent of HUB_MAX_BODY_BYTES, which limits JSON bodies.
    max_upload_bytes: Annotated[int, Meta(ge=1)] = 100 * 1024 * 1024
    #: Sniffed (never declared) media types accepted by uploads: ``type/subtype``,
    #: ``type/*`` or ``*/*``.
    allowed_media_types: MediaTypes = DEFAULT_ALLOWED_MEDIA_TYPES
    #: Days a trashed document is kept before the hourly purge deletes it for good.
    content_trash_days: Annotated[int, Meta(ge=1)] = 30
    #: Bytes of file versions one organisation may store (trashed ones count until they
    #: are purged); 0: no quota.
    storage_quota_bytes: Annotated[int, Meta(ge=0)] = 0

    def __post_init__(self) -> None:
        try:
            _check_media_types(self.allowed_media_types)
        except ValueError as exc:
            raise msgspec.ValidationError(
                f"Expected a media type, got {exc.args[0]!r} - at `$.allowed_media_types`"
            ) from None
