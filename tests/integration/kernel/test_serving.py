"""A built app handed a new kernel (``hub.kernel.serving``, what the suite does between
tests) serves with the new one everywhere and keeps nothing of the old one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import AsyncTestClient

from hub.app import create_app, renew_kernel
from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from tests.integration.identity.support import API, bearer, signed_in


async def test_a_renewed_kernel_serves_every_part_of_the_app(
    settings: Settings, database_url: str, clean_state: None
) -> None:
    app = create_app(settings, configure_logs=False)
    first = app.state.kernel
    first.clock = MovableClock(datetime.now(UTC) + timedelta(days=400))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        tokens = await signed_in(client, database_url, "ann@example.com")
        r = await client.get(f"{API}/auth/sessions", headers=bearer(tokens["accessToken"]))
        assert r.status_code == 200, r.text
        (session,) = r.json()["items"]
        assert session["createdAt"][:4] == str((datetime.now(UTC) + timedelta(days=400)).year)
        # Started: its kernel is in use and cannot be replaced.
        with pytest.raises(RuntimeError, match="running"):
            renew_kernel(app)

    second = renew_kernel(app)
    assert second is not first
    assert app.state.kernel is second
    assert second.clock is not first.clock  # the moved clock stayed with the old kernel
    assert set(second.services) == set(first.services)
    assert all(second.services[n] is not first.services[n] for n in ("auth", "sessions"))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        # Dependencies, the rate-limit middleware and the authenticator are the new
        # kernel's: the session made now is on the wall clock, and the token still works.
        r = await client.post(
            f"{API}/auth/login",
            json={"email": "ann@example.com", "password": "correct horse battery staple"},
        )
        assert r.status_code == 200, r.text
        assert "ratelimit" in r.headers
        r = await client.get(f"{API}/auth/sessions", headers=bearer(r.json()["accessToken"]))
        assert r.status_code == 200, r.text
        years = sorted(s["createdAt"][:4] for s in r.json()["items"])
        assert years == sorted(
            [str(datetime.now(UTC).year), str((datetime.now(UTC) + timedelta(days=400)).year)]
        )
