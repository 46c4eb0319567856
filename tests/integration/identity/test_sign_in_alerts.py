"""Sessions name their device ("Firefox on Windows", from the User-Agent), and a sign-in
from a device none of the account's earlier sessions used mails the account a notice —
not the first sign-in, not a browser update, not when switched off; odd bytes in the
User-Agent, through a real server, sign in as an unknown device."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.kernel.settings import Settings
from tests.integration.identity.support import (
    API,
    PASSWORD,
    bearer,
    fetch,
    queued_mail,
    signed_in,
)

FIREFOX_128 = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
FIREFOX_131 = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0"
PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
SUBJECT = "New sign-in to your Hub account"


async def sign_in(client: Any, email: str, user_agent: str | bytes) -> dict[str, Any]:
    r = await client.post(
        f"{API}/auth/login",
        json={"email": email, "password": PASSWORD},
        headers=[
            (b"user-agent", user_agent.encode() if isinstance(user_agent, str) else user_agent)
        ],
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def alerts(database_url: str, email: str) -> list[dict[str, Any]]:
    return [m for m in await queued_mail(database_url, email) if m["subject"] == SUBJECT]


async def test_a_sign_in_from_a_new_device_is_mailed_once(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    email = "ann@example.com"
    await signed_in(client, database_url, email)  # the first sign-in: expected, no notice
    assert await alerts(database_url, email) == []
    await sign_in(client, email, FIREFOX_128)  # a device the account had not used...
    (notice,) = await alerts(database_url, email)
    assert "Firefox on Windows" in notice["text"]
    await sign_in(client, email, FIREFOX_131)  # ...then a browser update: the same device
    tokens = await sign_in(client, email, PHONE)
    mails = await alerts(database_url, email)
    assert len(mails) == 2
    assert "Chrome Mobile on Android" in mails[-1]["text"]
    await sign_in(client, email, PHONE)
    assert len(await alerts(database_url, email)) == 2

    r = await client.get(f"{API}/auth/sessions", headers=bearer(tokens["accessToken"]))
    devices = [s["device"] for s in r.json()["items"]]
    assert devices == [
        "Chrome Mobile on Android",
        "Chrome Mobile on Android",
        "Firefox on Windows",
        "Firefox on Windows",
        "Unknown device",
    ]
    # Someone else's devices are theirs: Bob's first sign-in on the phone is no notice.
    await signed_in(client, database_url, "bob@example.com")
    await sign_in(client, "bob@example.com", "testclient")
    assert await alerts(database_url, "bob@example.com") == []


async def test_sessions_opened_before_devices_were_named_still_count(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    email = "old@example.com"
    await signed_in(client, database_url, email)
    await sign_in(client, email, FIREFOX_128)
    await fetch(database_url, "UPDATE identity.sessions SET device = NULL")
    before = len(await alerts(database_url, email))
    tokens = await sign_in(client, email, FIREFOX_131)
    assert len(await alerts(database_url, email)) == before  # Firefox on Windows was seen
    r = await client.get(f"{API}/auth/sessions", headers=bearer(tokens["accessToken"]))
    assert [s["device"] for s in r.json()["items"]] == [
        "Firefox on Windows",
        "Firefox on Windows",
        "Unknown device",
    ]


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    if request.node.name.startswith("test_switched_off"):
        return settings.replace(sign_in_alerts=False)
    return settings


async def test_switched_off_no_notice_is_sent(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    await signed_in(client, database_url, "quiet@example.com")
    await sign_in(client, "quiet@example.com", PHONE)
    assert await alerts(database_url, "quiet@example.com") == []


async def test_odd_bytes_in_the_user_agent_sign_in_as_an_unknown_device(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    email = "odd@example.com"
    await signed_in(live_client, database_url, email)
    for raw in (b"\xa0", b"Firefox/\xff\xfe", b"Mozilla/5.0 (\x85Windows NT 10.0)" + b"x" * 4000):
        await sign_in(live_client, email, raw)
    rows = await fetch(
        database_url,
        "SELECT device, length(user_agent) AS n FROM identity.sessions ORDER BY created_at",
    )
    # NBSP and bytes that are no UTF-8 name nothing; a claim of Windows is a new device.
    assert [r["device"] for r in rows] == [
        "Unknown device",
        "Unknown device",
        "Unknown device",
        "Windows",
    ]
    assert max(r["n"] for r in rows) == 512  # the 4 kB User-Agent kept to its first 512
    assert len(await alerts(database_url, email)) == 1
    # A NUL is refused by the HTTP parser itself, before the hub sees it.
    with pytest.raises(httpx.HTTPError):
        await sign_in(live_client, email, b"a\x00b")
