"""Where document files live: a content-addressed blob store behind one interface, with a
filesystem backend (default, under ``HUB_DATA_DIR``) and an S3-compatible one, chosen by
``HUB_STORAGE_URL``. Blobs are named by the SHA-256 of their bytes, so two uploads of the
same bytes store one blob; whether a blob is still referenced is the documents' business
(``hub.content.services``), not the store's."""

from __future__ import annotations

from pathlib import Path

from hub.content.domain.storage import FileStorage, parse_storage_url
from hub.content.repositories.blobs.base import BlobMissing, BlobStore, BlobTooLarge, StoredBlob
from hub.content.repositories.blobs.filesystem import FilesystemBlobStore

__all__ = [
    "BlobMissing",
    "BlobStore",
    "BlobTooLarge",
    "FilesystemBlobStore",
    "StoredBlob",
    "blob_store",
]


def blob_store(storage_url: str | None, data_dir: Path) -> BlobStore:
    """The store ``HUB_STORAGE_URL`` names (``ContentSettings.storage_url``): unset, the
    filesystem under ``<data_dir>/blobs``; ``file:///path``, the filesystem there;
    ``s3://bucket/prefix?…``, that bucket. The URL was checked when the settings loaded;
    a bad one still raises ``StorageUrlError`` here."""
    location = parse_storage_url(storage_url, data_dir)
    if isinstance(location, FileStorage):
        return FilesystemBlobStore(location.root)
    # Imported here: botocore takes a while to load and only S3 deployments need it.
    from hub.content.repositories.blobs.s3 import S3BlobStore

    return S3BlobStore(location)
