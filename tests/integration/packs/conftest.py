"""Pack tests: cheap password hashing (they sign several people up), no rate limits."""

from __future__ import annotations

import pytest

from hub.kernel.settings import Settings


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    return base_settings.replace(
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        rate_limit_enabled=False,
    )
