"""Identity's abuse limits: the ``auth`` route bucket on every credential and account-mail
endpoint, the per-mailbox mail budget, the per-organisation invitation limit.

Limits run at their production defaults unless a test says otherwise (the suite-wide
settings widen them). Time is the limiter's injectable clock (``kernel.rate_limits.clock``,
as in tests/integration/kernel/test_rate_limits.py): tests move it instead of sleeping.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.app import create_app, load_settings
from hub.kernel.ratelimit import limiter
from hub.kernel.redis_pipe import ScriptPipe
from hub.kernel.settings import Settings
from tests.integration.identity.support import (
    API,
    PASSWORD,
    bearer,
    fetch,
    login,
    queued_mail,
    register,
    signed_in,
    signed_up,
)
from tests.integration.identity.support_orgs import Person, create_org, person
from tests.support import free_port, problem

DEFAULTS = load_settings(environ={})
T0 = 1_900_000_000.0
REGISTERED = {
    "status": "accepted",
    "detail": "If this address can be registered, a confirmation link is on its way to it.",
}


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class HashCounter:
    """Counts argon2 work (hashes and verifications) on the one hasher every identity
    service shares (``services["password_hasher"]``)."""

    def __init__(self, app: Litestar, monkeypatch: pytest.MonkeyPatch) -> None:
        self.hashes = 0
        self.verifications = 0
        hasher = app.state.kernel.services["password_hasher"]
        hash_, verify = hasher.hash, hasher.verify

        async def counting_hash(password: str) -> str:
            self.hashes += 1
            return str(await hash_(password))

        async def counting_verify(password_hash: str, password: str) -> bool:
            self.verifications += 1
            return bool(await verify(password_hash, password))

        monkeypatch.setattr(hasher, "hash", counting_hash)
        monkeypatch.setattr(hasher, "verify", counting_verify)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def defaults(settings: Settings, **changes: Any) -> Settings:
    """``settings`` with the production abuse limits back (the suite widens them)."""
    values: dict[str, Any] = {
        "rate_limit_auth": DEFAULTS.rate_limit_auth,
        "rate_limit_mail_per_address": DEFAULTS.section("identity").rate_limit_mail_per_address,
        "rate_limit_invitations_per_org": (
            DEFAULTS.section("identity").rate_limit_invitations_per_org
        ),
    }
    values.update(changes)
    return settings.replace(**values)


async def client_for(settings: Settings, clock: Clock) -> AsyncIterator[AsyncTestClient[Litestar]]:
    app = create_app(settings, configure_logs=False)
    app.state.kernel.rate_limits.clock = clock
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as c:
        yield c


@pytest.fixture
async def client(
    settings: Settings, clean_state: None, clock: Clock
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """Every limit at its default."""
    async for c in client_for(defaults(settings), clock):
        yield c


@pytest.fixture
async def mail_client(
    settings: Settings, clean_state: None, clock: Clock
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The mail and invitation limits at their defaults; the route bucket out of the way,
    as if the requests came from many clients."""
    async for c in client_for(defaults(settings, rate_limit_auth="1000/60"), clock):
        yield c


async def mailbox(database_url: str, local: str) -> list[dict[str, Any]]:
    """Queued mail to ``local@example.com`` and its ``local+tag@example.com`` variants."""
    return [
        m
        for m in await queued_mail(database_url)
        if m["to"][0].partition("@")[0].split("+")[0] == local
    ]


async def users_named(database_url: str, email: str) -> int:
    rows = await fetch(
        database_url, "SELECT count(*) AS n FROM identity.users WHERE email = $1", email
    )
    return int(rows[0]["n"])


def test_the_defaults_are_the_documented_ones() -> None:
    assert DEFAULTS.rate_limit_quotas()["auth"] == (5, 60)
    assert DEFAULTS.rate_limit_address_factor == 4
    identity = DEFAULTS.section("identity")
    assert identity.rate_limit_mail_per_address == "5/3600"
    assert identity.rate_limit_invitations_per_org == "100/3600"


# --------------------------------------------------------------------------- auth bucket


async def test_a_client_registering_in_a_loop_is_refused_before_any_hashing(
    client: AsyncTestClient[Litestar],
    clock: Clock,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hashing = HashCounter(client.app, monkeypatch)
    # An anonymous client has the address budget: 5/60 x the address factor 4 = 20 a minute.
    for n in range(20):
        r = await register(client, f"loop{n}@example.com")
        assert r.status_code == 202, r.text
        assert r.json() == REGISTERED
        assert r.headers["ratelimit-policy"] == '"auth-address";q=20;w=60'
        assert r.headers["ratelimit"] == f'"auth-address";r={19 - n};t={3 * (n + 1)}'
    assert hashing.hashes == 20
    r = await register(client, "loop20@example.com")
    assert r.status_code == 429
    body = problem(r)
    assert body["code"] == "rate_limited"
    assert body["extra"] == {"policy": "auth-address", "retryAfterSeconds": 3}
    assert r.headers["retry-after"] == "3"
    assert r.headers["ratelimit-policy"] == '"auth-address";q=20;w=60'
    assert r.headers["ratelimit"] == '"auth-address";r=0;t=60'
    # Refused before the handler: no argon2 hash, no account, no mail.
    assert hashing.hashes == 20
    assert await users_named(database_url, "loop20@example.com") == 0
    assert await queued_mail(database_url, "loop20@example.com") == []
    # Sign-in draws from the same bucket: refused without an argon2 verification.
    r = await login(client, "loop0@example.com")
    assert r.status_code == 429
    assert hashing.verifications == 0
    # The bucket refills continuously: one request every 3 s.
    clock.advance(2.9)
    assert (await register(client, "loop20@example.com")).status_code == 429
    clock.advance(0.1)
    r = await register(client, "loop20@example.com")
    assert r.status_code == 202
    assert hashing.hashes == 21
    assert await users_named(database_url, "loop20@example.com") == 1


async def test_a_signed_in_caller_has_its_own_smaller_auth_budget(
    client: AsyncTestClient[Litestar], clock: Clock, database_url: str
) -> None:
    tokens = await signed_in(client, database_url, "ann@example.com")
    headers = bearer(tokens["accessToken"])
    for n in range(5):
        r = await client.post(
            f"{API}/auth/reauthenticate", json={"password": PASSWORD}, headers=headers
        )
        assert r.status_code == 200, r.text
        assert r.headers["ratelimit-policy"] == '"auth";q=5;w=60, "auth-address";q=20;w=60'
        assert r.headers["ratelimit"].startswith(f'"auth";r={4 - n};')
    r = await client.post(
        f"{API}/auth/reauthenticate", json={"password": PASSWORD}, headers=headers
    )
    assert r.status_code == 429
    assert problem(r)["extra"] == {"policy": "auth", "retryAfterSeconds": 12}
    # The caller's other routes are on other buckets.
    assert (await client.get(f"{API}/auth/me", headers=headers)).status_code == 200


AUTH_ROUTES = [
    ("POST", "/auth/register"),
    ("POST", "/auth/verify-email"),
    ("POST", "/auth/resend-verification"),
    ("POST", "/auth/login"),
    ("POST", "/auth/mfa/verify"),
    ("POST", "/auth/reauthenticate"),
    ("POST", "/auth/password/forgot"),
    ("POST", "/auth/password/reset"),
    ("POST", "/auth/password/change"),
    ("POST", "/auth/undo-email-change"),
    ("PATCH", "/auth/me"),
    ("POST", "/auth/mfa/totp/confirm"),
    ("DELETE", "/auth/mfa/totp"),
]
ORG = "01900000-0000-7000-8000-000000000001"
SENDS_ROUTES = [
    ("POST", f"/orgs/{ORG}/invitations"),
    ("POST", f"/orgs/{ORG}/invitations/{ORG}/resend"),
    ("DELETE", f"/users/{ORG}/mfa"),
]


@pytest.mark.parametrize(("method", "path"), AUTH_ROUTES + SENDS_ROUTES)
async def test_every_route_that_hashes_or_mails_names_its_bucket(
    client: AsyncTestClient[Litestar], method: str, path: str
) -> None:
    bucket = "auth" if (method, path) in AUTH_ROUTES else "sends"
    # Whatever the answer (400 for the empty body, 401 without a token), it was counted.
    r = await client.request(method, f"{API}{path}", json={})
    assert r.status_code < 500, r.text
    assert r.headers["ratelimit-policy"] == (
        f'"{bucket}-address";q={20 if bucket == "auth" else 240};w=60'
    )


async def test_refresh_and_reads_stay_on_the_general_buckets(
    client: AsyncTestClient[Litestar],
) -> None:
    r = await client.post(f"{API}/auth/refresh", json={"refreshToken": "nope"})
    assert r.headers["ratelimit-policy"].startswith('"writes-address"')
    r = await client.get(f"{API}/auth/me")
    assert r.headers["ratelimit-policy"].startswith('"reads-address"')


# --------------------------------------------------------------------------- mail budget


async def test_a_victim_gets_at_most_five_mails_an_hour_however_many_requests_name_them(
    mail_client: AsyncTestClient[Litestar],
    clock: Clock,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = mail_client
    await signed_up(client, database_url, "victim@example.com")  # mail 1: the confirmation
    hashing = HashCounter(client.app, monkeypatch)
    answers = []
    for n in range(10):
        answers.append(await register(client, "victim@example.com"))
        # A +tag reaches the same mailbox, so it draws from the same budget.
        answers.append(await register(client, f"Victim+{n}@Example.com"))
        forgot = await client.post(
            f"{API}/auth/password/forgot", json={"email": "victim@example.com"}
        )
        assert (forgot.status_code, forgot.json()["status"]) == (202, "accepted")
    for _ in range(3):
        resent = await client.post(
            f"{API}/auth/resend-verification", json={"email": "victim+0@example.com"}
        )
        assert resent.status_code == 202
    assert {(a.status_code, a.text) for a in answers} == {(202, answers[0].text)}
    mails = await mailbox(database_url, "victim")
    assert [(m["to"], m["subject"]) for m in mails] == [
        (["victim@example.com"], "Confirm your e-mail address for Hub"),
        (["victim@example.com"], "You already have a Hub account"),
        (["victim+0@example.com"], "Confirm your e-mail address for Hub"),
        (["victim@example.com"], "Reset your Hub password"),
        (["victim@example.com"], "You already have a Hub account"),
    ]
    # Only the sign-ups that went through hashed a password; the others did nothing at all.
    assert hashing.hashes == 3
    rows = await fetch(database_url, "SELECT email FROM identity.users ORDER BY email")
    assert [r["email"] for r in rows] == ["victim+0@example.com", "victim@example.com"]

    # Security notices to the account's own address are never held back.
    tokens = (await login(client, "victim@example.com")).json()
    r = await client.post(
        f"{API}/auth/password/change",
        json={"currentPassword": PASSWORD, "newPassword": "another long passphrase 2"},
        headers=bearer(tokens["accessToken"]),
    )
    assert r.status_code == 200, r.text
    mails = await queued_mail(database_url, "victim@example.com")
    assert mails[-1]["subject"] == "Your Hub password was changed"

    # The budget refills over the hour: one mail every 12 minutes.
    clock.advance(12 * 60)
    r = await client.post(f"{API}/auth/password/forgot", json={"email": "victim@example.com"})
    r = await client.post(f"{API}/auth/password/forgot", json={"email": "victim@example.com"})
    mails = await queued_mail(database_url, "victim@example.com")
    assert [m["subject"] for m in mails[-2:]] == [
        "Your Hub password was changed",
        "Reset your Hub password",
    ]


async def test_the_budget_is_spent_for_unknown_addresses_too(
    mail_client: AsyncTestClient[Litestar],
    clock: Clock,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Forgot-password for an address without an account spends its budget exactly as for
    one with an account, so a later sign-up on it is dropped: nothing tells them apart."""
    client = mail_client
    for _ in range(5):
        r = await client.post(f"{API}/auth/password/forgot", json={"email": "ghost@example.com"})
        assert r.status_code == 202
    assert await queued_mail(database_url, "ghost@example.com") == []
    hashing = HashCounter(client.app, monkeypatch)
    r = await register(client, "ghost@example.com")
    assert (r.status_code, r.json()) == (202, REGISTERED)
    assert hashing.hashes == 0
    assert await users_named(database_url, "ghost@example.com") == 0
    assert await queued_mail(database_url, "ghost@example.com") == []
    clock.advance(12 * 60)
    r = await register(client, "ghost@example.com")
    assert (r.status_code, r.json()) == (202, REGISTERED)
    assert hashing.hashes == 1
    assert await users_named(database_url, "ghost@example.com") == 1
    [mail] = await queued_mail(database_url, "ghost@example.com")
    assert mail["subject"] == "Confirm your e-mail address for Hub"


async def test_an_email_change_to_a_flooded_address_is_refused_taken_or_not(
    mail_client: AsyncTestClient[Litestar], database_url: str
) -> None:
    client = mail_client
    await signed_up(client, database_url, "taken@example.com")
    tokens = await signed_in(client, database_url, "mover@example.com")
    headers = bearer(tokens["accessToken"])
    for address in ("taken@example.com", "free@example.com"):
        for _ in range(5):
            await client.post(f"{API}/auth/password/forgot", json={"email": address})
    before = len(await queued_mail(database_url))
    for address in ("taken@example.com", "free@example.com"):
        r = await client.patch(f"{API}/auth/me", json={"email": address}, headers=headers)
        assert r.status_code == 429, r.text
        assert problem(r)["extra"]["policy"] == "identity-mail-per-address"
        assert int(r.headers["retry-after"]) > 0
    # Nothing was sent, not even the notice to the mover's own address (nothing happened).
    assert len(await queued_mail(database_url)) == before
    r = await client.patch(
        f"{API}/auth/me", json={"email": "elsewhere@example.com"}, headers=headers
    )
    assert r.status_code == 200, r.text
    [mail] = await queued_mail(database_url, "elsewhere@example.com")
    assert mail["subject"] == "Confirm your new e-mail address for Hub"


async def test_without_redis_sign_up_is_refused_rather_than_unlimited(
    mail_client: AsyncTestClient[Litestar],
    clock: Clock,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The route bucket fails open, the mail budget fails closed: a sign-up that cannot be
    counted is a 503 before any hashing; forgot-password still answers 202 and sends
    nothing."""
    client = mail_client
    rate_limits = client.app.state.kernel.rate_limits
    dead = ScriptPipe(f"redis://127.0.0.1:{free_port()}/0", limiter.GCRA)
    monkeypatch.setattr(rate_limits, "script", dead)
    hashing = HashCounter(client.app, monkeypatch)
    try:
        r = await register(client, "someone@example.com")
        assert r.status_code == 503
        assert problem(r)["code"] == "rate_limit_unavailable"
        assert r.headers["retry-after"] == "5"
        r = await client.post(f"{API}/auth/password/forgot", json={"email": "someone@example.com"})
        assert r.status_code == 202
    finally:
        await dead.close()
    assert hashing.hashes == 0
    assert await users_named(database_url, "someone@example.com") == 0
    assert await queued_mail(database_url) == []


# --------------------------------------------------------------------------- invitations


async def invite(client: Any, org_id: str, who: Person, email: str) -> Any:
    return await client.post(
        f"{API}/orgs/{org_id}/invitations", json={"email": email}, headers=who.auth
    )


@pytest.fixture
async def invitation_client(
    settings: Settings, clean_state: None, clock: Clock
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """Three invitations per organisation per hour; the route bucket out of the way."""
    limited = defaults(settings, rate_limit_auth="1000/60", rate_limit_invitations_per_org="3/3600")
    async for c in client_for(limited, clock):
        yield c


async def test_an_organisation_sends_at_most_its_quota_of_invitations(
    invitation_client: AsyncTestClient[Litestar], clock: Clock, database_url: str
) -> None:
    client = invitation_client
    owner = await person(client, database_url, "owner@example.com")
    acme = (await create_org(client, owner, "Acme"))["id"]
    globex = (await create_org(client, owner, "Globex"))["id"]
    sent = []
    for n in range(3):
        r = await invite(client, acme, owner, f"guest{n}@example.com")
        assert r.status_code == 201, r.text
        sent.append(r.json()["id"])
    r = await invite(client, acme, owner, "guest3@example.com")
    assert r.status_code == 429
    body = problem(r)
    assert body["code"] == "rate_limited"
    assert body["extra"] == {
        "policy": "identity-invitations-per-org",
        "retryAfterSeconds": 1200,
    }
    assert r.headers["retry-after"] == "1200"
    assert '"identity-invitations-per-org";q=3;w=3600' in r.headers.get_list("ratelimit-policy")
    # Refused whole: no invitation row, no mail.
    rows = await fetch(
        database_url, "SELECT 1 FROM identity.invitations WHERE email = 'guest3@example.com'"
    )
    assert rows == []
    assert await queued_mail(database_url, "guest3@example.com") == []
    # A resend is an invitation sent again: it counts too.
    r = await client.post(f"{API}/orgs/{acme}/invitations/{sent[0]}/resend", headers=owner.auth)
    assert r.status_code == 429
    # Another organisation has its own budget, even with the same inviter.
    r = await invite(client, globex, owner, "guest3@example.com")
    assert r.status_code == 201, r.text
    # One more every 20 minutes.
    clock.advance(1200)
    r = await client.post(f"{API}/orgs/{acme}/invitations/{sent[0]}/resend", headers=owner.auth)
    assert r.status_code == 200, r.text
    assert len(await queued_mail(database_url, "guest0@example.com")) == 2


async def test_an_invitation_spends_the_recipients_mail_budget(
    mail_client: AsyncTestClient[Litestar], database_url: str
) -> None:
    client = mail_client
    owner = await person(client, database_url, "owner@example.com")
    orgs = [(await create_org(client, owner, f"Org {n}"))["id"] for n in range(6)]
    for org_id in orgs[:5]:
        r = await invite(client, org_id, owner, "popular@example.com")
        assert r.status_code == 201, r.text
    r = await invite(client, orgs[5], owner, "Popular+spam@example.com")
    assert r.status_code == 429
    assert problem(r)["extra"]["policy"] == "identity-mail-per-address"
    assert len(await mailbox(database_url, "popular")) == 5
    # The signed-in inviter's 429 says nothing an anonymous sign-up would not: the same
    # mailbox now gets no confirmation either.
    assert (await register(client, "popular@example.com")).status_code == 202
    assert await users_named(database_url, "popular@example.com") == 0
