"""Session lifetimes: an absolute maximum age and an idle timeout (on the kernel clock the
test moves), the sessions list telling when each session ends, and signing out
everywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from tests.integration.identity.support import (
    API,
    PASSWORD,
    bearer,
    events,
    login,
    signed_in,
)
from tests.support import problem

Client = AsyncTestClient[Litestar]
HOUR = 3600


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(session_max_age_seconds=2 * HOUR, session_idle_timeout_seconds=HOUR)


@pytest.fixture
def clock(app: Litestar) -> MovableClock:
    clock = MovableClock(datetime.now(UTC).replace(microsecond=0))
    app.state.kernel.services["sessions"].clock = clock
    return clock


async def refresh(client: Client, tokens: dict[str, Any]) -> Any:
    return await client.post(f"{API}/auth/refresh", json={"refreshToken": tokens["refreshToken"]})


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_a_session_not_refreshed_for_the_idle_timeout_ends(
    client: Client, database_url: str, clock: MovableClock
) -> None:
    tokens = await signed_in(client, database_url, "ada@example.com")
    assert tokens["refreshExpiresIn"] == HOUR  # the idle timeout comes first
    clock.advance(minutes=30)
    r = await refresh(client, tokens)
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert tokens["refreshExpiresIn"] == HOUR  # each refresh pushes the idle deadline back

    clock.advance(minutes=61)  # 91 minutes after sign-in: within the maximum age
    r = await refresh(client, tokens)
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_refresh_token"
    revoked = await events(database_url, "identity.session_revoked")
    assert [(e["sessionId"], e["reason"]) for e in revoked] == [
        (tokens["sessionId"], "session_idle")
    ]
    # Its access tokens stop at once too.
    r = await client.get(f"{API}/auth/me", headers=bearer(tokens["accessToken"]))
    assert r.status_code == 401


async def test_the_maximum_age_ends_even_an_active_session(
    client: Client, database_url: str, clock: MovableClock
) -> None:
    tokens = await signed_in(client, database_url, "ada@example.com")
    for _ in range(2):
        clock.advance(minutes=50)
        r = await refresh(client, tokens)
        assert r.status_code == 200, r.text
        tokens = r.json()
    # 100 minutes in: 20 minutes of the 2-hour maximum are left, whatever the idle timeout.
    assert tokens["refreshExpiresIn"] == 20 * 60
    assert tokens["expiresIn"] == 900
    clock.advance(minutes=15)
    r = await refresh(client, tokens)
    tokens = r.json()
    assert tokens["expiresIn"] == 5 * 60  # no access token outlives the session
    assert tokens["refreshExpiresIn"] == 5 * 60

    clock.advance(minutes=5)
    r = await refresh(client, tokens)
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_refresh_token"
    revoked = await events(database_url, "identity.session_revoked")
    assert [e["reason"] for e in revoked] == ["session_expired"]

    # Signing in again starts a new session with its own two hours.
    r = await login(client, "ada@example.com", PASSWORD)
    assert r.status_code == 200
    assert (await refresh(client, r.json())).status_code == 200


async def test_a_stale_session_is_not_stepped_up(
    client: Client, database_url: str, clock: MovableClock
) -> None:
    tokens = await signed_in(client, database_url, "ada@example.com")
    clock.advance(minutes=61)
    r = await client.post(
        f"{API}/auth/reauthenticate",
        json={"password": PASSWORD},
        headers=bearer(tokens["accessToken"]),
    )
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_token"


async def test_the_sessions_list_tells_when_each_session_ends(
    client: Client, database_url: str, clock: MovableClock
) -> None:
    first = await signed_in(client, database_url, "ada@example.com")
    clock.advance(minutes=30)
    second = (await login(client, "ada@example.com")).json()
    clock.advance(minutes=20)
    second = (await refresh(client, second)).json()

    r = await client.get(f"{API}/auth/sessions", headers=bearer(second["accessToken"]))
    items = {s["id"]: s for s in r.json()["items"]}
    assert set(items) == {first["sessionId"], second["sessionId"]}
    for item in items.values():
        assert when(item["expiresAt"]) == when(item["createdAt"]) + timedelta(hours=2)
        assert when(item["idleExpiresAt"]) == when(item["lastSeenAt"]) + timedelta(hours=1)
    start = clock() - timedelta(minutes=50)
    assert when(items[first["sessionId"]]["idleExpiresAt"]) == start + timedelta(hours=1)
    assert when(items[second["sessionId"]]["idleExpiresAt"]) == clock() + timedelta(hours=1)

    # The first session idles out: it is no longer listed, though nothing revoked it yet.
    clock.advance(minutes=11)
    r = await client.get(f"{API}/auth/sessions", headers=bearer(second["accessToken"]))
    assert [s["id"] for s in r.json()["items"]] == [second["sessionId"]]


async def test_sign_out_everywhere(client: Client, database_url: str) -> None:
    here = await signed_in(client, database_url, "ada@example.com")
    others = [(await login(client, "ada@example.com")).json() for _ in range(2)]
    r = await client.post(
        f"{API}/auth/api-keys",
        json={"name": "importer", "permissions": ["identity.org.read"]},
        headers=bearer(here["accessToken"]),
    )
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    mallory = await signed_in(client, database_url, "mallory@example.com")

    r = await client.delete(
        f"{API}/auth/sessions", params={"keepCurrent": "true"}, headers=bearer(here["accessToken"])
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"sessionsEnded": 2}
    for other in others:
        assert (
            await client.get(f"{API}/auth/me", headers=bearer(other["accessToken"]))
        ).status_code == 401
        assert (await refresh(client, other)).status_code == 401
    assert (
        await client.get(f"{API}/auth/me", headers=bearer(here["accessToken"]))
    ).status_code == 200
    # Nobody else's sessions were touched, and API keys are not sessions.
    assert (
        await client.get(f"{API}/auth/me", headers=bearer(mallory["accessToken"]))
    ).status_code == 200
    assert (await client.get(f"{API}/orgs", headers={"X-API-Key": key})).status_code == 200

    r = await client.delete(f"{API}/auth/sessions", headers=bearer(here["accessToken"]))
    assert r.json() == {"sessionsEnded": 1}
    assert (
        await client.get(f"{API}/auth/me", headers=bearer(here["accessToken"]))
    ).status_code == 401
    revoked = await events(database_url, "identity.session_revoked")
    assert sorted(e["sessionId"] for e in revoked) == sorted(
        [here["sessionId"], *(o["sessionId"] for o in others)]
    )
    assert {e["reason"] for e in revoked} == {"signed_out_everywhere"}
    # An API key cannot sign its owner out.
    r = await client.delete(f"{API}/auth/sessions", headers={"X-API-Key": key})
    assert r.status_code == 403
    assert problem(r)["code"] == "session_required"
