"""Identity tests run with cheap argon2 parameters (one test keeps the real ones) and
small lockout thresholds, so brute-force behaviour is reached in a handful of requests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.kernel.settings import Settings
from tests.integration.identity.oidc_provider import LocalProvider
from tests.integration.identity.sso_support import CALLBACK, CLIENT_ID, CLIENT_SECRET
from tests.support.dns_zone import LocalZone


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    return base_settings.replace(
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        lockout_threshold=5,
        mfa_lockout_threshold=3,
        ip_lockout_threshold=40,
    )


@pytest.fixture
def zone() -> Iterator[LocalZone]:
    """The DNS zone of the organisations' domains (a real server on loopback)."""
    with LocalZone() as served:
        yield served


@pytest.fixture
def op(settings: Settings, zone: LocalZone) -> Iterator[LocalProvider]:
    """A real OpenID Connect provider on loopback, run by an organisation whose DNS zone
    is ``zone``."""
    redirect = f"{settings.public_url.rstrip('/')}{CALLBACK}"
    with LocalProvider(CLIENT_ID, CLIENT_SECRET, redirect) as provider:
        provider.zone = zone
        yield provider
