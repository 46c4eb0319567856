"""POST /auth/resend-verification: the same 202 whatever the address; a new link only for
an unverified, enabled account (older links die), at most 3 per address per hour."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.identity.support import (
    API,
    fetch,
    last_token,
    login,
    queued_mail,
    register,
    signed_up,
)
from tests.support import problem

SUBJECT = "Confirm your e-mail"


async def resend(client: AsyncTestClient[Litestar], email: str) -> dict[str, str]:
    r = await client.post(f"{API}/auth/resend-verification", json={"email": email})
    assert r.status_code == 202, r.text
    body: dict[str, str] = r.json()
    return body


async def verification_mails(database_url: str, to: str) -> list[dict[str, str]]:
    return [m for m in await queued_mail(database_url, to) if SUBJECT in m["subject"]]


async def test_a_new_link_replaces_the_old_one(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    assert (await register(client, "late@example.com")).status_code == 202
    first = await last_token(database_url, "late@example.com", SUBJECT)
    await resend(client, "  LATE@example.com ")
    assert len(await verification_mails(database_url, "late@example.com")) == 2
    second = await last_token(database_url, "late@example.com", SUBJECT)
    assert second != first
    r = await client.post(f"{API}/auth/verify-email", json={"token": first})
    assert r.status_code == 422
    assert problem(r)["code"] == "invalid_token"
    r = await client.post(f"{API}/auth/verify-email", json={"token": second})
    assert r.status_code == 200, r.text
    assert (await login(client, "late@example.com")).status_code == 200


async def test_the_answer_says_nothing_and_only_the_unverified_get_mail(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    await signed_up(client, database_url, "done@example.com")
    assert (await register(client, "off@example.com")).status_code == 202
    await fetch(
        database_url,
        "UPDATE identity.users SET disabled_at = now() WHERE email = 'off@example.com'",
    )
    answers = [
        await resend(client, email)
        for email in ("done@example.com", "off@example.com", "nobody@example.com", "not-an-address")
    ]
    assert all(a == answers[0] for a in answers)
    assert answers[0]["status"] == "accepted"
    for email in ("done@example.com", "off@example.com"):
        assert len(await verification_mails(database_url, email)) == 1  # the registration's
    assert await queued_mail(database_url, "nobody@example.com") == []
    r = await client.post(f"{API}/auth/resend-verification", json={})
    assert r.status_code == 400


async def test_each_address_gets_at_most_three_per_hour(
    app: Litestar, client: AsyncTestClient[Litestar], database_url: str
) -> None:
    # The limit is the kernel's keyed limit: its clock is moved instead of waiting an hour.
    now = [1_900_000_000.0]
    app.state.kernel.rate_limits.clock = lambda: now[0]
    assert (await register(client, "eager@example.com")).status_code == 202
    assert (await register(client, "other@example.com")).status_code == 202
    for _ in range(5):
        await resend(client, "eager@example.com")
    assert len(await verification_mails(database_url, "eager@example.com")) == 1 + 3
    # Counted per address: another one is unaffected.
    await resend(client, "other@example.com")
    assert len(await verification_mails(database_url, "other@example.com")) == 2
    # The budget refills over the hour (a link every 20 minutes): not a second before.
    now[0] += 1199
    await resend(client, "eager@example.com")
    assert len(await verification_mails(database_url, "eager@example.com")) == 1 + 3
    # Once the hour is over, mail flows again.
    now[0] += 3600 - 1199
    await resend(client, "eager@example.com")
    assert len(await verification_mails(database_url, "eager@example.com")) == 5
    latest = await last_token(database_url, "eager@example.com", SUBJECT)
    r2 = await client.post(f"{API}/auth/verify-email", json={"token": latest})
    assert r2.status_code == 200
