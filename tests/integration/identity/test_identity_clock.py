"""Identity's expiries run on the kernel clock: a test moves ``kernel.clock`` and every
link, invitation, key and code ages with it, without editing rows or sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from tests.integration.identity.support import (
    API,
    PASSWORD,
    bearer,
    fetch,
    last_token,
    login,
    register,
    signed_in,
)
from tests.integration.identity.support_orgs import api_key, create_org, invite, person
from tests.support import problem

Client = AsyncTestClient[Litestar]
HOUR = 3600


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(
        email_verification_ttl_seconds=2 * HOUR,
        password_reset_ttl_seconds=HOUR,
        invitation_ttl_seconds=24 * HOUR,
    )


@pytest.fixture
def clock(app: Litestar) -> MovableClock:
    clock = MovableClock(datetime.now(UTC).replace(microsecond=0))
    app.state.kernel.clock = clock
    return clock


async def verified(database_url: str, email: str) -> bool:
    rows = await fetch(
        database_url, "SELECT email_verified_at FROM identity.users WHERE email = $1", email
    )
    return rows[0]["email_verified_at"] is not None


async def test_a_verification_link_expires_on_the_kernel_clock(
    client: Client, database_url: str, clock: MovableClock
) -> None:
    for email in ("late@example.com", "on-time@example.com"):
        assert (await register(client, email)).status_code == 202
    late = await last_token(database_url, "late@example.com", "Confirm your e-mail")
    on_time = await last_token(database_url, "on-time@example.com", "Confirm your e-mail")

    clock.advance(hours=2, seconds=-1)
    r = await client.post(f"{API}/auth/verify-email", json={"token": on_time})
    assert r.status_code == 200, r.text
    clock.advance(seconds=1)
    r = await client.post(f"{API}/auth/verify-email", json={"token": late})
    assert r.status_code == 422, r.text
    assert problem(r)["code"] == "invalid_token"
    assert await verified(database_url, "on-time@example.com")
    assert not await verified(database_url, "late@example.com")


async def test_a_password_reset_link_expires_on_the_kernel_clock(
    client: Client, database_url: str, clock: MovableClock
) -> None:
    await signed_in(client, database_url, "reset@example.com")
    await client.post(f"{API}/auth/password/forgot", json={"email": "reset@example.com"})
    token = await last_token(database_url, "reset@example.com", "Reset your Hub password")

    clock.advance(hours=1)
    r = await client.post(
        f"{API}/auth/password/reset", json={"token": token, "newPassword": "a brand new passphrase"}
    )
    assert r.status_code == 422, r.text
    assert problem(r)["code"] == "invalid_token"
    assert (await login(client, "reset@example.com", PASSWORD)).json()["status"] == "authenticated"
    r = await login(client, "reset@example.com", "a brand new passphrase")
    assert r.status_code == 401, r.text


async def test_an_invitation_expires_on_the_kernel_clock(
    client: Client, database_url: str, clock: MovableClock
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    bob = await person(client, database_url, "bob@example.com")
    token = await invite(client, database_url, org, owner, "bob@example.com")

    clock.advance(hours=23, minutes=59)
    r = await client.get(f"{API}/orgs/{org}/invitations", headers=owner.auth)
    assert [i["email"] for i in r.json()["items"]] == ["bob@example.com"]
    clock.advance(minutes=1)
    r = await client.get(f"{API}/orgs/{org}/invitations", headers=owner.auth)
    assert r.json()["items"] == []
    r = await client.post(f"{API}/invitations/{token}/accept", headers=bob.auth)
    assert r.status_code == 422, r.text
    assert problem(r)["code"] == "invalid_token"
    r = await client.get(f"{API}/orgs/{org}/members", headers=owner.auth)
    assert [m["userId"] for m in r.json()["items"]] == [owner.user_id]


async def test_an_api_key_expires_on_the_kernel_clock(
    client: Client, database_url: str, clock: MovableClock
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    body = {
        "name": "robot",
        "permissions": ["identity.org.read"],
        "organisationId": org,
        "expiresAt": (clock() + timedelta(hours=1)).isoformat(),
    }
    r = await client.post(f"{API}/auth/api-keys", json=body, headers=owner.auth)
    assert r.status_code == 201, r.text
    key = {"Authorization": f"ApiKey {r.json()['key']}"}
    assert (await client.get(f"{API}/orgs/{org}", headers=key)).status_code == 200

    clock.advance(hours=1)
    r = await client.get(f"{API}/orgs/{org}", headers=key)
    assert r.status_code == 401, r.text
    # An expiry is checked against the same clock when the key is made.
    r = await client.post(
        f"{API}/auth/api-keys",
        json={**body, "expiresAt": (clock() + timedelta(seconds=30)).isoformat()},
        headers=owner.auth,
    )
    assert r.status_code == 422, r.text
    assert problem(r)["errors"][0]["field"] == "expiresAt"
    assert (await api_key(client, owner, ["identity.org.read"], org))["key"]


async def test_totp_codes_follow_the_kernel_clock(
    client: Client, database_url: str, clock: MovableClock
) -> None:
    tokens = await signed_in(client, database_url, "totp@example.com")
    headers = bearer(tokens["accessToken"])
    r = await client.post(f"{API}/auth/mfa/totp/setup", headers=headers)
    totp = pyotp.TOTP(r.json()["secret"])
    r = await client.post(
        f"{API}/auth/mfa/totp/confirm", json={"code": totp.at(clock())}, headers=headers
    )
    assert r.status_code == 200, r.text

    clock.advance(minutes=10)

    async def second_factor(code: str) -> int:
        r = await login(client, "totp@example.com")
        assert r.json()["status"] == "mfa_required", r.text
        r = await client.post(
            f"{API}/auth/mfa/verify", json={"mfaToken": r.json()["mfaToken"], "code": code}
        )
        return r.status_code

    # The code of ten minutes ago (where the enrolment's step was) no longer works; the
    # code of the clock's present does, once.
    assert await second_factor(totp.at(clock() - timedelta(minutes=10))) == 401
    assert await second_factor(totp.at(clock())) == 200
    assert await second_factor(totp.at(clock())) == 401
