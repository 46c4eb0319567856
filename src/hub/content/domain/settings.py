"""Content's own settings (``HUB_*`` variables like every other), declared on its
``ContextModule`` and loaded and validated with the kernel's: each rule sits on its field.
README "Documents: storage" explains them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec
from msgspec import Meta

from hub.content.domain.files import DEFAULT_ALLOWED_MEDIA_TYPES
from hub.content.domain.storage import StorageUrlError, masked_storage_url, parse_storage_url
from hub.kernel.settings import Directory, Networks, Settings, SettingsError

_STORAGE_RULE = "unset, a file:///absolute/path URL or an s3://bucket/prefix URL"


def _check_storage_url(url: str) -> None:
    """The form of HUB_STORAGE_URL, refused at start rather than at the first upload.

    Raises :class:`SettingsError` itself (the kernel's form-check helpers are private to
    it), the secret key masked in the value it shows."""
    try:
        parse_storage_url(url, Path("/"))
    except StorageUrlError as exc:
        raise SettingsError(
            f"HUB_STORAGE_URL must be {exc} (got {masked_storage_url(url)!r})"
        ) from None


StorageUrl = Annotated[str, Meta(extra={"check": _check_storage_url, "rule": _STORAGE_RULE})]
#: ``type/subtype`` as RFC 6838 names them (any case: compared case-insensitively).
_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
#: ``type/subtype``, ``type/*`` or ``*/*``.
MediaType = Annotated[str, Meta(pattern=f"^({_NAME}/({_NAME}|\\*)|\\*/\\*)$")]
MediaTypes = Annotated[
    tuple[MediaType, ...],
    Meta(
        min_length=1,
        extra={
            "rule": "a comma-separated, non-empty list of media types (type/subtype, type/* or */*)"
        },
    ),
]

GIB = 1024**3


class ContentSettings(msgspec.Struct, kw_only=True, frozen=True):
    #: Where blob bytes live (see :func:`hub.content.domain.storage.parse_storage_url`);
    #: unset: ``HUB_DATA_DIR/blobs``.
    storage_url: StorageUrl | None = None
    #: Largest file one upload may carry (the stream is cut, and nothing kept, past it).
    max_upload_bytes: Annotated[int, Meta(ge=1)] = 100 * 1024 * 1024
    #: Media types (sniffed from the bytes) an upload may have.
    content_allowed_media_types: MediaTypes = DEFAULT_ALLOWED_MEDIA_TYPES
    #: Days a deleted document stays in the trash before it is purged for good.
    content_trash_days: Annotated[int, Meta(ge=1, le=36_500)] = 30
    #: Bytes one bulk download (``POST /documents/download``, a zip) may carry.
    content_bulk_download_max_bytes: Annotated[int, Meta(ge=1)] = 2 * GIB
    #: Minutes between two reads of each enabled mail account (mail rules).
    content_mail_poll_minutes: Annotated[int, Meta(ge=1, le=1440)] = 10
    #: Networks a mail account's IMAP server may be in although they are not public (an
    #: intranet mail server, a test's ``127.0.0.1``); empty: public addresses only.
    content_mail_allowed_networks: Networks = ()
    #: The consumption folders' root: each organisation that sets its folder up reads
    #: ``<this>/<organisation id>/``; unset: no consumption folder.
    content_consume_dir: Directory | None = None
    #: Seconds a file must have been left unchanged before it is taken (still being
    #: written otherwise: a scanner over a network share is slow).
    content_consume_settle_seconds: Annotated[int, Meta(ge=0, le=3600)] = 10
    #: Bytes of blobs an organisation may hold (0: no limit).
    content_quota_bytes: Annotated[int, Meta(ge=0)] = 10 * GIB
    #: Days audit entries are kept (whole months are dropped once all their entries are
    #: older); 0 keeps them forever. Seven years by default.
    audit_retention_days: Annotated[int, Meta(ge=0, le=36_500)] = 2555
    #: Wall time one text extraction may take before its child process is killed.
    content_extraction_timeout_seconds: Annotated[int, Meta(ge=1, le=3600)] = 60
    #: Address space (RLIMIT_AS) of the extraction child process, in MiB.
    content_extraction_memory_mb: Annotated[int, Meta(ge=128, le=65_536)] = 512
    #: Pages of a new PDF (frames of a new image) searched for ASN and tag barcodes when
    #: its text is extracted; 0: barcodes are not read.
    content_barcode_pages: Annotated[int, Meta(ge=0, le=100)] = 0
    #: What starts an archive-serial-number barcode (``ASN00042``) and a tag barcode
    #: (``TAG:Invoices``); compared case-insensitively.
    content_barcode_asn_prefix: Annotated[str, Meta(pattern=r"^[A-Za-z0-9:_#-]{1,16}$")] = "ASN"
    content_barcode_tag_prefix: Annotated[str, Meta(pattern=r"^[A-Za-z0-9:_#-]{1,16}$")] = "TAG:"
    #: Tesseract languages OCR reads (``eng``, ``eng+fra``); those not installed are
    #: skipped.
    content_ocr_languages: Annotated[str, Meta(pattern=r"^[a-z_]{3,16}(\+[a-z_]{3,16}){0,15}$")] = (
        "eng"
    )

    def check(self, kernel: Settings) -> None:
        """An extraction must end (and be killed) before the job's own time limit."""
        if self.content_extraction_timeout_seconds * 1000 + 30_000 > kernel.job_time_limit_ms:
            raise SettingsError(
                "HUB_CONTENT_EXTRACTION_TIMEOUT_SECONDS must be at least 30 s shorter than "
                f"HUB_JOB_TIME_LIMIT_MS (got {self.content_extraction_timeout_seconds} s)"
            )

    @property
    def allowed_media_types(self) -> tuple[str, ...]:
        """HUB_CONTENT_ALLOWED_MEDIA_TYPES (the name the use cases read)."""
        return self.content_allowed_media_types

    @property
    def storage_quota_bytes(self) -> int:
        """HUB_CONTENT_QUOTA_BYTES (0: unlimited), by the name the use cases read."""
        return self.content_quota_bytes

    @property
    def org_storage_quota_bytes(self) -> int:
        """HUB_CONTENT_QUOTA_BYTES (0: unlimited), by the name the use cases read."""
        return self.content_quota_bytes
