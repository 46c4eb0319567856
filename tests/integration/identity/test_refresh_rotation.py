"""What one rotation leaves in the database (the one-statement path of
``repositories.refresh_rotation``): the presented token rotated with its successor sealed
for it, the successor stored, the session touched; and what it leaves alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.identity.domain.secrets import sealer_for_token, token_hash
from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from tests.integration.identity.support import API, fetch, signed_in

Client = AsyncTestClient[Litestar]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(session_max_age_seconds=10 * 86400, refresh_token_ttl_seconds=7 * 86400)


async def test_a_rotation_stores_successor_seal_and_session_touch(
    client: Client, app: Litestar, database_url: str
) -> None:
    clock = MovableClock(datetime.now(UTC).replace(microsecond=0))
    app.state.kernel.services["sessions"].clock = clock
    first = await signed_in(client, database_url, "ada@example.com")
    clock.advance(days=4)
    r = await client.post(
        f"{API}/auth/refresh",
        json={"refreshToken": first["refreshToken"]},
        headers={"X-Forwarded-For": "203.0.113.9"},  # not a trusted proxy: ignored
    )
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["sessionId"] == first["sessionId"]
    # 7 d of token, but the session's 10 d maximum comes first (6 d left).
    assert second["refreshExpiresIn"] == 6 * 86400

    old = (
        await fetch(
            database_url,
            "SELECT rotated_at, successor_sealed FROM identity.refresh_tokens "
            "WHERE token_hash = $1",
            token_hash(first["refreshToken"]),
        )
    )[0]
    assert old["rotated_at"] == clock()
    sealed = sealer_for_token(first["refreshToken"]).open(old["successor_sealed"])
    assert sealed.decode() == second["refreshToken"]
    new = await fetch(
        database_url,
        "SELECT session_id, created_at, expires_at, rotated_at FROM identity.refresh_tokens "
        "WHERE token_hash = $1",
        token_hash(second["refreshToken"]),
    )
    assert [(str(n["session_id"]), n["created_at"], n["rotated_at"]) for n in new] == [
        (first["sessionId"], clock(), None)
    ]
    assert new[0]["expires_at"] == clock() + timedelta(days=6)
    session = (
        await fetch(
            database_url,
            "SELECT last_seen_at, ip FROM identity.sessions WHERE id = $1::uuid",
            first["sessionId"],
        )
    )[0]
    assert session["last_seen_at"] == clock()
    assert session["ip"] == "testclient"
    count = await fetch(database_url, "SELECT count(*) AS n FROM identity.refresh_tokens")
    assert count[0]["n"] == 2
