"""``HUB_STORAGE_URL`` read into where blobs live: a directory or an S3-compatible bucket.

Pure parsing (no I/O) shared by the settings check, which refuses a bad URL at start, and
by the factory that builds the store (``hub.content.repositories.blobs.blob_store``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlencode, urlsplit, urlunsplit

#: Bucket names S3 accepts for new buckets (3-63 of lower-case letters, digits, dots and
#: hyphens, starting and ending with a letter or digit).
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION_RE = re.compile(r"^[a-z0-9-]{1,32}$")
S3_PARAMETERS = ("endpoint", "region", "access_key", "secret_key", "addressing")
_SECRET_PARAMETERS = ("secret_key",)

Addressing = Literal["auto", "path", "virtual"]
_ADDRESSING: dict[str, Addressing] = {"auto": "auto", "path": "path", "virtual": "virtual"}


class StorageUrlError(ValueError):
    """The message completes "HUB_STORAGE_URL must be …"."""


@dataclass(frozen=True)
class FileStorage:
    """Blobs under this directory."""

    root: Path


@dataclass(frozen=True)
class S3Storage:
    """Blobs in an S3-compatible bucket, under ``prefix`` (no leading or trailing slash;
    empty: the bucket's root)."""

    bucket: str
    prefix: str = ""
    #: http(s) URL of an S3-compatible server (MinIO, Ceph, moto…); None: AWS.
    endpoint: str | None = None
    #: None: botocore's lookup (AWS_REGION / AWS_DEFAULT_REGION, config), else us-east-1.
    region: str | None = None
    #: None: botocore's credential chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY,
    #: AWS_PROFILE, instance or container roles).
    access_key: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    #: ``path`` (``endpoint/bucket/key``) unless told otherwise when an endpoint is given:
    #: self-hosted servers rarely have a DNS name per bucket.
    addressing: Addressing = "auto"


def parse_storage_url(url: str | None, data_dir: Path) -> FileStorage | S3Storage:
    """Unset or empty: ``<data_dir>/blobs``. ``file:///abs/path``: that directory.
    ``s3://bucket/prefix?endpoint=https://host:9000&region=eu-west-1&access_key=…&
    secret_key=…&addressing=path``: that bucket (every parameter optional).

    Raises :class:`StorageUrlError`.
    """
    if url is None or not url.strip():
        return FileStorage(data_dir / "blobs")
    parts = urlsplit(url.strip())
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
            raise StorageUrlError("a file:/// URL with an absolute path and nothing else")
        path = unquote(parts.path)
        if not path.startswith("/") or path.rstrip("/") == "":
            raise StorageUrlError("a file:/// URL with an absolute path (file:///srv/hub/blobs)")
        return FileStorage(Path(path))
    if parts.scheme == "s3":
        return _parse_s3(url.strip())
    raise StorageUrlError("unset, a file:///absolute/path URL or an s3://bucket/prefix URL")


def _parse_s3(url: str) -> S3Storage:
    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise StorageUrlError(
            "an s3:// URL without user:password@ (credentials go in access_key= and "
            "secret_key=, or in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        )
    bucket = parts.netloc
    if not _BUCKET_RE.match(bucket) or ".." in bucket:
        raise StorageUrlError(
            "an s3://bucket/prefix URL with a valid bucket name (3-63 lower-case letters, "
            "digits, dots and hyphens)"
        )
    prefix = unquote(parts.path).strip("/")
    if parts.fragment:
        raise StorageUrlError("an s3:// URL without a #fragment")
    if any(p in ("", ".", "..") for p in prefix.split("/") if prefix):
        raise StorageUrlError("an s3://bucket/prefix URL whose prefix has no empty, . or .. part")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - set(S3_PARAMETERS))
    if unknown:
        raise StorageUrlError(
            f"an s3:// URL with only the parameters {', '.join(S3_PARAMETERS)} "
            f"(unknown: {', '.join(unknown)})"
        )
    values = {k: v[-1].strip() for k, v in query.items()}
    endpoint = values.get("endpoint") or None
    if endpoint is not None:
        target = urlsplit(endpoint)
        try:
            port_ok = target.port != 0
        except ValueError:
            port_ok = False
        if (
            target.scheme not in ("http", "https")
            or not target.hostname
            or "@" in target.netloc
            or target.query
            or target.fragment
            or not port_ok
        ):
            raise StorageUrlError(
                "an s3:// URL whose endpoint= is an http(s)://host[:port] URL "
                "(endpoint=https://minio.example:9000)"
            )
    region = values.get("region") or None
    if region is not None and not _REGION_RE.match(region):
        raise StorageUrlError("an s3:// URL whose region= is a region name (region=eu-west-1)")
    access_key = values.get("access_key") or None
    secret_key = values.get("secret_key") or None
    if (access_key is None) != (secret_key is None):
        raise StorageUrlError("an s3:// URL with both access_key= and secret_key=, or neither")
    addressing = _ADDRESSING.get(values.get("addressing") or ("path" if endpoint else "auto"))
    if addressing is None:
        raise StorageUrlError("an s3:// URL whose addressing= is auto, path or virtual")
    return S3Storage(
        bucket=bucket,
        prefix=prefix,
        endpoint=endpoint,
        region=region,
        access_key=access_key,
        secret_key=secret_key,
        addressing=addressing,
    )


def masked_storage_url(url: str) -> str:
    """``url`` fit for a message or a log line: the secret key's value (and any
    ``user:password@``) replaced by ***."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        parts = parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1])
    if not parts.query:
        return urlunsplit(parts)
    pairs = [
        (k, "***" if k in _SECRET_PARAMETERS and v else v)
        for k, vs in parse_qs(parts.query, keep_blank_values=True).items()
        for v in vs
    ]
    return urlunsplit(parts._replace(query=urlencode(pairs, safe=":/*")))
