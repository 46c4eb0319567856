"""HUB_STORAGE_URL and content's other settings: each form read, each bad one refused at
start with one line naming the variable, and the S3 secret never shown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hub.app import load_settings
from hub.content.domain.files import DEFAULT_ALLOWED_MEDIA_TYPES
from hub.content.domain.settings import ContentSettings
from hub.content.domain.storage import (
    FileStorage,
    S3Storage,
    StorageUrlError,
    masked_storage_url,
    parse_storage_url,
)
from hub.content.repositories.blobs import FilesystemBlobStore, blob_store
from hub.content.repositories.blobs.s3 import S3BlobStore
from hub.kernel.settings import SettingsError

DATA = Path("/srv/hub")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (None, FileStorage(DATA / "blobs")),
        ("", FileStorage(DATA / "blobs")),
        ("  ", FileStorage(DATA / "blobs")),
        ("file:///var/lib/hub/blobs", FileStorage(Path("/var/lib/hub/blobs"))),
        ("file://localhost/var/blobs/", FileStorage(Path("/var/blobs/"))),
        ("file:///with%20space", FileStorage(Path("/with space"))),
        ("s3://hub-blobs", S3Storage(bucket="hub-blobs")),
        ("s3://hub-blobs/", S3Storage(bucket="hub-blobs")),
        ("s3://hub-blobs/prod/files/", S3Storage(bucket="hub-blobs", prefix="prod/files")),
        (
            "s3://hub.blobs/p?endpoint=http://127.0.0.1:9000&region=us-east-1",
            S3Storage(
                bucket="hub.blobs",
                prefix="p",
                endpoint="http://127.0.0.1:9000",
                region="us-east-1",
                addressing="path",  # an endpoint of one's own: path-style by default
            ),
        ),
        (
            "s3://b-1/x?endpoint=https://minio.example&access_key=AK&secret_key=s%2Fk"
            "&addressing=virtual",
            S3Storage(
                bucket="b-1",
                prefix="x",
                endpoint="https://minio.example",
                access_key="AK",
                secret_key="s/k",
                addressing="virtual",
            ),
        ),
        ("s3://abc?region=eu-west-3", S3Storage(bucket="abc", region="eu-west-3")),
    ],
)
def test_storage_urls_are_read(url: str | None, expected: FileStorage | S3Storage) -> None:
    assert parse_storage_url(url, DATA) == expected


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("garbage", "unset, a file:///absolute/path URL or an s3://bucket/prefix URL"),
        ("/srv/blobs", "unset, a file:///"),
        ("http://example.com/blobs", "unset, a file:///"),
        ("gs://bucket/x", "unset, a file:///"),
        ("file://relative/path", "absolute path and nothing else"),
        ("file:///", "with an absolute path"),
        ("file:///x?mode=1", "nothing else"),
        ("s3://", "valid bucket name"),
        ("s3://ab", "valid bucket name"),
        ("s3://Upper-Case", "valid bucket name"),
        ("s3://bad_bucket", "valid bucket name"),
        ("s3://b..b", "valid bucket name"),
        ("s3://" + "b" * 64, "valid bucket name"),
        ("s3://AK:SECRET@bucket/x", "without user:password@"),
        ("s3://bucket/a//b", "no empty, . or .. part"),
        ("s3://bucket/a/../b", "no empty, . or .. part"),
        ("s3://bucket/x#frag", "without a #fragment"),
        ("s3://bucket?acl=private", "only the parameters"),
        ("s3://bucket?endpoint=minio:9000", "endpoint= is an http(s)"),
        ("s3://bucket?endpoint=ftp://minio", "endpoint= is an http(s)"),
        ("s3://bucket?endpoint=http://u:p@minio", "endpoint= is an http(s)"),
        ("s3://bucket?endpoint=http://minio:99999", "endpoint= is an http(s)"),
        ("s3://bucket?endpoint=http://minio/?x=1", "endpoint= is an http(s)"),
        ("s3://bucket?region=EU West", "region= is a region name"),
        ("s3://bucket?access_key=AK", "both access_key= and secret_key="),
        ("s3://bucket?secret_key=SK", "both access_key= and secret_key="),
        ("s3://bucket?addressing=dns", "addressing= is auto, path or virtual"),
    ],
)
def test_bad_storage_urls_are_refused(url: str, rule: str) -> None:
    with pytest.raises(StorageUrlError, match=re.escape(rule)):
        parse_storage_url(url, DATA)


def test_a_bad_storage_url_stops_the_start_without_showing_the_secret() -> None:
    url = "s3://bucket/x?access_key=AKIA&secret_key=very-secret&acl=1"
    with pytest.raises(SettingsError) as err:
        load_settings(environ={"HUB_STORAGE_URL": url})
    message = str(err.value)
    assert "very-secret" not in message
    assert message == (
        "HUB_STORAGE_URL must be an s3:// URL with only the parameters endpoint, region, "
        "access_key, secret_key, addressing (unknown: acl) "
        "(got 's3://bucket/x?access_key=AKIA&secret_key=***&acl=1')"
    )
    with pytest.raises(SettingsError) as err:
        load_settings(environ={"HUB_STORAGE_URL": "s3://AKIA:very-secret@bucket"})
    assert "very-secret" not in str(err.value)
    assert "(got 's3://***@bucket')" in str(err.value)


def test_masking_keeps_everything_but_the_secret() -> None:
    assert masked_storage_url("s3://b/p?secret_key=x%2Fy&access_key=AK") == (
        "s3://b/p?secret_key=***&access_key=AK"
    )
    assert masked_storage_url("s3://b/p") == "s3://b/p"
    assert masked_storage_url("s3://b?secret_key=") == "s3://b?secret_key="


def test_content_settings_defaults_and_environment() -> None:
    content = load_settings(environ={}).section("content")
    assert isinstance(content, ContentSettings)
    assert content.storage_url is None
    assert content.max_upload_bytes == 100 * 1024 * 1024
    assert content.allowed_media_types == DEFAULT_ALLOWED_MEDIA_TYPES
    assert content.content_trash_days == 30
    assert content.org_storage_quota_bytes == 10 * 1024**3

    content = load_settings(
        environ={
            "HUB_STORAGE_URL": "s3://hub-blobs/prod?region=eu-west-1",
            "HUB_MAX_UPLOAD_BYTES": "1048576",
            "HUB_CONTENT_ALLOWED_MEDIA_TYPES": "application/pdf, Text/Plain,",
            "HUB_CONTENT_TRASH_DAYS": "7",
            "HUB_CONTENT_QUOTA_BYTES": "0",
        }
    ).section("content")
    assert content.storage_url == "s3://hub-blobs/prod?region=eu-west-1"
    assert content.max_upload_bytes == 1048576
    assert content.allowed_media_types == ("application/pdf", "Text/Plain")
    assert content.content_trash_days == 7
    assert content.org_storage_quota_bytes == 0  # unlimited
    assert load_settings(environ={"HUB_STORAGE_URL": ""}).section("content").storage_url is None


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "HUB_CONTENT_ALLOWED_MEDIA_TYPES",
            "application/pdf, text",
            "HUB_CONTENT_ALLOWED_MEDIA_TYPES must be a comma-separated, non-empty list of "
            "media types (type/subtype, type/* or */*) (got 'application/pdf, text')",
        ),
        (
            "HUB_MAX_UPLOAD_BYTES",
            "0",
            "HUB_MAX_UPLOAD_BYTES must be an integer >= 1 (got '0')",
        ),
        (
            "HUB_STORAGE_URL",
            "file://relative",
            "HUB_STORAGE_URL must be a file:/// URL with an absolute path and nothing else "
            "(got 'file://relative')",
        ),
    ],
)
def test_messages_state_the_rule(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(environ={variable: value})
    assert str(err.value) == message


def test_the_factory_picks_the_backend(tmp_path: Path) -> None:
    default = blob_store(None, tmp_path)
    assert isinstance(default, FilesystemBlobStore)
    assert default.root == tmp_path / "blobs"
    there = blob_store("file:///var/lib/hub-blobs", tmp_path)
    assert isinstance(there, FilesystemBlobStore)
    assert there.root == Path("/var/lib/hub-blobs")
    s3 = blob_store("s3://hub-blobs/p?access_key=AK&secret_key=very-secret", tmp_path)
    assert isinstance(s3, S3BlobStore)
    assert s3.key("ab" * 32) == f"p/ab/ab/{'ab' * 32}"
    assert "very-secret" not in repr(s3)
    with pytest.raises(StorageUrlError):
        blob_store("ftp://x", tmp_path)
