"""Identity tests run with cheap argon2 parameters (one test keeps the real ones) and
small lockout thresholds, so brute-force behaviour is reached in a handful of requests."""

from __future__ import annotations

import pytest

from hub.kernel.settings import Settings


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    return base_settings.replace(
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        lockout_threshold=5,
        mfa_lockout_threshold=3,
        ip_lockout_threshold=40,
    )
