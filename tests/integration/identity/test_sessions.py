"""The caller's sessions: paginated, newest first, only their own."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.identity.support import API, bearer, login, signed_in
from tests.support import problem


async def test_sessions_page_and_stay_private(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    first = await signed_in(client, database_url, "many@example.com")
    others = [
        (await login(client, "many@example.com", headers={"User-Agent": f"device-{i}"})).json()
        for i in range(2)
    ]
    headers = bearer(first["accessToken"])
    r = await client.get(f"{API}/auth/sessions", params={"limit": 2}, headers=headers)
    page = r.json()
    assert [s["id"] for s in page["items"]] == [others[1]["sessionId"], others[0]["sessionId"]]
    assert page["items"][0]["userAgent"] == "device-1"
    assert page["nextCursor"]
    r = await client.get(
        f"{API}/auth/sessions", params={"limit": 2, "cursor": page["nextCursor"]}, headers=headers
    )
    rest = r.json()
    assert [s["id"] for s in rest["items"]] == [first["sessionId"]]
    assert rest["items"][0]["current"] is True
    assert rest["nextCursor"] is None
    r = await client.get(f"{API}/auth/sessions", params={"cursor": "garbage"}, headers=headers)
    assert r.status_code == 422
    assert problem(r)["code"] == "invalid_cursor"

    # Someone else's session id is simply not found, and stays alive.
    mallory = await signed_in(client, database_url, "mallory@example.com")
    r = await client.delete(
        f"{API}/auth/sessions/{first['sessionId']}", headers=bearer(mallory["accessToken"])
    )
    assert r.status_code == 404
    assert (await client.get(f"{API}/auth/me", headers=headers)).status_code == 200
    r = await client.get(f"{API}/auth/sessions", headers=bearer(mallory["accessToken"]))
    assert [s["id"] for s in r.json()["items"]] == [mallory["sessionId"]]
