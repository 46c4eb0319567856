"""Refresh-token rotation: reuse detection and the grace window for concurrent tabs."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.kernel.settings import Settings
from tests.integration.identity.support import API, bearer, events, signed_in
from tests.support import problem


async def _refresh(
    client: httpx.AsyncClient | AsyncTestClient[Litestar], token: str
) -> httpx.Response:
    return await client.post(f"{API}/auth/refresh", json={"refreshToken": token})


async def test_reuse_outside_the_grace_window_revokes_the_family(
    base_settings: Settings, database_url: str, clean_state: None
) -> None:
    from hub.app import create_app

    no_grace = base_settings.replace(
        refresh_grace_seconds=0,
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
    )
    app = create_app(no_grace, configure_logs=False)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        first = await signed_in(client, database_url, "reuse@example.com")
        r = await _refresh(client, first["refreshToken"])
        assert r.status_code == 200
        second = r.json()
        r = await _refresh(client, second["refreshToken"])
        third = r.json()
        assert r.status_code == 200

        # An attacker replays the first (rotated) token: the whole session dies.
        r = await _refresh(client, first["refreshToken"])
        assert r.status_code == 401
        assert problem(r)["code"] == "invalid_refresh_token"
        r = await _refresh(client, third["refreshToken"])
        assert r.status_code == 401
        for token in (second["accessToken"], third["accessToken"]):
            r = await client.get(f"{API}/auth/me", headers=bearer(token))
            assert r.status_code == 401
        revoked = await events(database_url, "identity.session_revoked")
        assert [e["reason"] for e in revoked] == ["refresh_token_reuse"]
        assert revoked[0]["sessionId"] == first["sessionId"]

        # Another login (another family) is unaffected by the revoked one.
        other = await signed_in_again(client)
        assert (await _refresh(client, other["refreshToken"])).status_code == 200


async def signed_in_again(client: AsyncTestClient[Litestar]) -> dict[str, object]:
    r = await client.post(
        f"{API}/auth/login",
        json={"email": "reuse@example.com", "password": "correct horse battery staple"},
    )
    assert r.status_code == 200
    body: dict[str, object] = r.json()
    return body


async def test_unknown_refresh_token_is_refused(client: AsyncTestClient[Litestar]) -> None:
    r = await _refresh(client, "hub_rt_" + "A" * 43)
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_refresh_token"


@pytest.mark.e2e
async def test_ten_concurrent_refreshes_share_one_successor(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    tokens = await signed_in(live_client, database_url, "tabs@example.com")
    results = await asyncio.gather(
        *(_refresh(live_client, tokens["refreshToken"]) for _ in range(10))
    )
    assert [r.status_code for r in results] == [200] * 10, [r.text for r in results]
    successors = {r.json()["refreshToken"] for r in results}
    assert len(successors) == 1  # one family, not ten diverging ones
    (successor,) = successors
    assert {r.json()["sessionId"] for r in results} == {tokens["sessionId"]}
    for r in results:
        me = await live_client.get(f"{API}/auth/me", headers=bearer(r.json()["accessToken"]))
        assert me.status_code == 200
    # The shared successor keeps working and rotates normally.
    r = await _refresh(live_client, successor)
    assert r.status_code == 200
    assert r.json()["refreshToken"] != successor
