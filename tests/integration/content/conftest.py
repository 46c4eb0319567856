"""Content tests: cheap password hashing (they sign several people up), the default
allow-list, and a filesystem blob store in a temporary directory for each test."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.content import bootstrap
from hub.kernel.settings import Settings
from tests.integration.content.support import DirectoryBlobStore


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    return base_settings.replace(
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        max_upload_bytes=8 * 1024 * 1024,
        rate_limit_enabled=False,
    )


@pytest.fixture(autouse=True)
def blob_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DirectoryBlobStore:
    store = DirectoryBlobStore(tmp_path / "blobs")
    monkeypatch.setattr(bootstrap, "open_blob_store", lambda rt: store)
    return store
