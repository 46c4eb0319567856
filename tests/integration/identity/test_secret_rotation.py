"""Rotating HUB_SECRET_KEY: data made under key A keeps working while the app runs with
key B and A as the previous key; `hub secrets rotate` moves the sealed values to B, API
keys move when used; without A and without rotation a TOTP user gets a clear problem."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import AsyncTestClient
from structlog.testing import capture_logs

from hub.app import create_app
from hub.cli import main as hub_main
from hub.identity.domain.secrets import key_id
from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from tests.integration.identity.support import (
    API,
    bearer,
    fetch,
    last_token,
    login,
    mail_key,
    register,
    signed_in,
    totp_code,
)
from tests.integration.identity.support_orgs import Person, api_key, create_org, invite, person
from tests.support import problem

A = "rotation-test-key-A-" + "a" * 24
B = "rotation-test-key-B-" + "b" * 24


#: The clock every app of a test runs on; set to the present as each test starts.
CLOCK = MovableClock()


@pytest.fixture(autouse=True)
def _clock_at_the_present() -> None:
    CLOCK.set(datetime.now(UTC))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Read the signing key on every issue, as a fresh process would.
    return settings.replace(signing_key_cache_seconds=0)


@asynccontextmanager
async def running(
    settings: Settings, key: str, *previous: str, clock: MovableClock | None = None
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The app started with ``HUB_SECRET_KEY=key`` and ``HUB_SECRET_KEY_PREVIOUS=previous``;
    on ``clock`` when given (this module's tests pass ``CLOCK``, on which they compute
    TOTP codes, so no 30-second step boundary falls between making a code and checking
    it), else on the wall clock."""
    mail_key(key)  # the mail it queues is sealed under that key
    configured = msgspec.structs.replace(
        settings, secret_key=key, secret_key_previous=tuple(previous)
    )
    app = create_app(configured, configure_logs=False)
    if clock is not None:
        app.state.kernel.clock = clock
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        yield client


def hub_secrets(settings: Settings, command: str, key: str, *previous: str, **more_env: str) -> str:
    env = {
        "HUB_DATABASE_URL": settings.database_url,
        "HUB_REDIS_URL": settings.redis_url,
        "HUB_SECRET_KEY": key,
        "HUB_SECRET_KEY_PREVIOUS": ",".join(previous),
        **more_env,
    }
    result = CliRunner().invoke(hub_main, ["secrets", command], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def _kid(token: str) -> str:
    header = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


def _row(output: str, what: str) -> list[str]:
    """The counts of one line of `hub secrets status`: current, previous, no key[, unknown]."""
    (line,) = [line for line in output.splitlines() if line.startswith(what)]
    return line[len(what) :].split()


async def _enrol(client: AsyncTestClient[Litestar], database_url: str, email: str) -> Any:
    tokens = await signed_in(client, database_url, email)
    headers = bearer(tokens["accessToken"])
    secret = (await client.post(f"{API}/auth/mfa/totp/setup", headers=headers)).json()["secret"]
    r = await client.post(
        f"{API}/auth/mfa/totp/confirm",
        json={"code": totp_code(secret, steps=-1, at=CLOCK())},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return secret, r.json()["recoveryCodes"]


async def _second_factor(client: AsyncTestClient[Litestar], email: str, **answer: str) -> Any:
    r = await login(client, email)
    assert r.json()["status"] == "mfa_required", r.text
    return await client.post(
        f"{API}/auth/mfa/verify", json={"mfaToken": r.json()["mfaToken"], **answer}
    )


def _key_auth(key: str) -> dict[str, str]:
    return {"Authorization": f"ApiKey {key}"}


async def test_data_made_under_the_old_key_survives_rotation(
    settings: Settings, database_url: str, clean_state: None
) -> None:
    async with running(settings, A, clock=CLOCK) as client:
        secret, codes = await _enrol(client, database_url, "totp@example.com")
        owner_tokens = await signed_in(client, database_url, "owner@example.com")
        owner = Person("owner@example.com", owner_tokens["userId"], owner_tokens["accessToken"])
        org = (await create_org(client, owner))["id"]
        used_key = (await api_key(client, owner, ["identity.org.read"]))["key"]
        idle_key = (await api_key(client, owner, ["identity.org.read"]))["key"]
        kid = _kid(owner_tokens["accessToken"])
        await signed_in(client, database_url, "reset@example.com")
        await client.post(f"{API}/auth/password/forgot", json={"email": "reset@example.com"})
        reset = await last_token(database_url, "reset@example.com", "Reset your Hub password")

    key_rows = await fetch(database_url, "SELECT DISTINCT secret_key_id FROM identity.api_keys")
    assert [r["secret_key_id"] for r in key_rows] == [key_id(A.encode())]

    # B is the key now, A the previous one: everything made under A still works.
    async with running(settings, B, A, clock=CLOCK) as client:
        assert (await client.get(f"{API}/auth/me", headers=owner.auth)).status_code == 200
        r = await _second_factor(client, "totp@example.com", code=totp_code(secret, at=CLOCK()))
        assert r.status_code == 200, r.text
        assert _kid(r.json()["accessToken"]) == kid  # the signing key opened with A
        r = await _second_factor(client, "totp@example.com", recoveryCode=codes[0])
        assert r.status_code == 200, r.text
        r = await client.get(f"{API}/orgs/{org}", headers=_key_auth(used_key))
        assert r.status_code == 200, r.text
        r = await client.post(
            f"{API}/auth/password/reset",
            json={"token": reset, "newPassword": "a brand new passphrase"},
        )
        assert r.status_code == 200, r.text
        assert (await login(client, "reset@example.com", "a brand new passphrase")).json()[
            "status"
        ] == "authenticated"

    # The API key used under B was re-hashed with B; so was the recovery code used.
    rows = await fetch(
        database_url, "SELECT secret_key_id, last_used_at FROM identity.api_keys ORDER BY id"
    )
    assert sorted((r["secret_key_id"], r["last_used_at"] is None) for r in rows) == sorted(
        [(key_id(B.encode()), False), (key_id(A.encode()), True)]
    )
    used = await fetch(
        database_url,
        "SELECT secret_key_id FROM identity.recovery_codes WHERE used_at IS NOT NULL",
    )
    assert [r["secret_key_id"] for r in used] == [key_id(B.encode())]

    before = await asyncio.to_thread(hub_secrets, settings, "status", B, A)
    assert _row(before, "TOTP secrets") == ["0", "1", "0", "-"]
    assert _row(before, "signing keys") == ["0", "1", "0", "-"]
    assert _row(before, "API keys (active)") == ["1", "1", "0", "0"]
    assert _row(before, "recovery codes (unused)") == ["0", "9", "0", "0"]
    assert "keep HUB_SECRET_KEY_PREVIOUS" in before

    sealed_before = await fetch(database_url, "SELECT secret_sealed FROM identity.totp_credentials")
    rotated = await asyncio.to_thread(hub_secrets, settings, "rotate", B, A)
    assert "TOTP secrets: 1 moved to the current key, 0 already" in rotated
    assert "signing keys: 1 moved to the current key, 0 already" in rotated
    sealed_after = await fetch(database_url, "SELECT secret_sealed FROM identity.totp_credentials")
    assert sealed_after[0]["secret_sealed"] != sealed_before[0]["secret_sealed"]
    again = await asyncio.to_thread(hub_secrets, settings, "rotate", B, A)
    assert "TOTP secrets: 0 moved to the current key, 1 already" in again
    assert "signing keys: 0 moved to the current key, 1 already" in again
    after = await asyncio.to_thread(hub_secrets, settings, "status", B, A)
    assert _row(after, "TOTP secrets") == ["1", "0", "0", "-"]
    assert _row(after, "signing keys") == ["1", "0", "0", "-"]
    # Keyed hashes cannot be re-made without their secret: the idle key still needs A.
    assert _row(after, "API keys (active)") == ["1", "1", "0", "0"]
    assert f"previous key {key_id(A.encode())}: 10 value(s) depend on it" in after

    # A dropped: the re-sealed values open with B alone, the upgraded API key works.
    async with running(settings, B, clock=CLOCK) as client:
        r = await _second_factor(
            client, "totp@example.com", code=totp_code(secret, steps=1, at=CLOCK())
        )
        assert r.status_code == 200, r.text
        tokens = r.json()
        assert _kid(tokens["accessToken"]) == kid  # re-sealed, not replaced
        me = await client.get(f"{API}/auth/me", headers=bearer(tokens["accessToken"]))
        assert me.status_code == 200
        r = await client.get(f"{API}/orgs/{org}", headers=_key_auth(used_key))
        assert r.status_code == 200, r.text
        # What was never used under B depended on A, as `status` said, and is gone with it.
        r = await client.get(f"{API}/orgs/{org}", headers=_key_auth(idle_key))
        assert r.status_code == 401
        r = await _second_factor(client, "totp@example.com", recoveryCode=codes[1])
        assert r.status_code == 401
        assert problem(r)["code"] == "invalid_code"
    final = await asyncio.to_thread(hub_secrets, settings, "status", B)
    assert _row(final, "API keys (active)") == ["1", "0", "1", "0"]
    assert "no previous key configured" in final


async def test_a_lost_key_makes_totp_unavailable_not_a_crash(
    settings: Settings, database_url: str, clean_state: None
) -> None:
    async with running(settings, A, clock=CLOCK) as client:
        secret, codes = await _enrol(client, database_url, "lost@example.com")
        plain = await signed_in(client, database_url, "plain@example.com")
    (user,) = await fetch(
        database_url, "SELECT id FROM identity.users WHERE email = $1", "lost@example.com"
    )

    # B without A and without `hub secrets rotate`: A is lost.
    async with running(settings, B, clock=CLOCK) as client:
        with capture_logs() as logs:
            r = await _second_factor(client, "lost@example.com", code=totp_code(secret, at=CLOCK()))
        assert r.status_code == 503, r.text
        body = problem(r)
        assert body["code"] == "mfa_unavailable"
        assert "recovery code" in body["detail"]
        (logged,) = [e for e in logs if e["event"] == "totp_secret_unreadable"]
        assert logged["log_level"] == "error"
        assert logged["user_id"] == str(user["id"])
        assert "HUB_SECRET_KEY_PREVIOUS" in logged["problem"]
        # Recovery codes were hashed under A too: refused like a wrong code.
        r = await _second_factor(client, "lost@example.com", recoveryCode=codes[0])
        assert r.status_code == 401
        # The unreadable signing key is retired and replaced; tokens it signed still verify.
        with capture_logs() as logs:
            r = await login(client, "plain@example.com")
        assert r.status_code == 200, r.text
        assert _kid(r.json()["accessToken"]) != _kid(plain["accessToken"])
        assert [e["event"] for e in logs if e["log_level"] == "error"] == ["signing_key_unreadable"]
        old = await client.get(f"{API}/auth/me", headers=bearer(plain["accessToken"]))
        assert old.status_code == 200
    status = await asyncio.to_thread(hub_secrets, settings, "status", B)
    assert _row(status, "TOTP secrets") == ["0", "0", "1", "-"]
    assert _row(status, "signing keys") == ["1", "0", "1", "-"]
    assert _row(status, "recovery codes (unused)") == ["0", "0", "10", "0"]
    assert "12 value(s) no configured key opens or verifies" in status


async def test_a_lost_key_voids_the_password_bound_links_and_not_invitations(
    settings: Settings, database_url: str, clean_state: None
) -> None:
    """What the README's "A lost key" promises about mailed links: verification, address
    change and reset links are bound to the password under the key (422, ask again);
    invitation links are plain hashes and keep working."""
    async with running(settings, A, clock=CLOCK) as client:
        owner = await person(client, database_url, "owner@example.com")
        org = (await create_org(client, owner))["id"]
        bob = await person(client, database_url, "bob@example.com")
        invitation = await invite(client, database_url, org, owner, "bob@example.com")
        assert (await register(client, "new@example.com")).status_code == 202
        verification = await last_token(database_url, "new@example.com", "Confirm your e-mail")
        r = await client.patch(
            f"{API}/auth/me", json={"email": "moved@example.com"}, headers=owner.auth
        )
        assert r.status_code == 200, r.text
        change = await last_token(database_url, "moved@example.com", "Confirm your new e-mail")
        await client.post(f"{API}/auth/password/forgot", json={"email": "bob@example.com"})
        reset = await last_token(database_url, "bob@example.com", "Reset your Hub password")

    async with running(settings, B, clock=CLOCK) as client:  # A is lost
        for token in (verification, change):
            r = await client.post(f"{API}/auth/verify-email", json={"token": token})
            assert r.status_code == 422, r.text
            assert problem(r)["code"] == "invalid_token"
        r = await client.post(
            f"{API}/auth/password/reset", json={"token": reset, "newPassword": "another secret!"}
        )
        assert r.status_code == 422, r.text
        assert problem(r)["code"] == "invalid_token"
        r = await client.post(f"{API}/invitations/{invitation}/accept", headers=bob.auth)
        assert r.status_code == 200, r.text
        # Asking again gives a link made under the new key, which works.
        r = await client.post(f"{API}/auth/resend-verification", json={"email": "new@example.com"})
        assert r.status_code == 202
        fresh = await last_token(database_url, "new@example.com", "Confirm your e-mail")
        assert fresh != verification
        r = await client.post(f"{API}/auth/verify-email", json={"token": fresh})
        assert r.status_code == 200, r.text


async def test_hashes_stored_before_key_ids_are_labelled_at_a_start_without_previous_keys(
    settings: Settings, database_url: str, clean_state: None
) -> None:
    async with running(settings, A, clock=CLOCK) as client:
        owner_tokens = await signed_in(client, database_url, "legacy@example.com")
        owner = Person("legacy@example.com", owner_tokens["userId"], owner_tokens["accessToken"])
        await api_key(client, owner, ["identity.org.read"])
    # As the migration leaves rows written before it.
    await fetch(database_url, "UPDATE identity.api_keys SET secret_key_id = NULL")
    # With a previous key configured nobody can tell which key made them: `unknown`.
    async with running(settings, B, A, clock=CLOCK):
        pass
    status = await asyncio.to_thread(hub_secrets, settings, "status", B, A)
    assert _row(status, "API keys (active)") == ["0", "0", "0", "1"]
    # (the other one: the signing key, still sealed under A)
    assert "keep HUB_SECRET_KEY_PREVIOUS: 2 value(s)" in status
    # With the current key alone, it is the only one that can verify them.
    async with running(settings, A, clock=CLOCK):
        pass
    rows = await fetch(database_url, "SELECT secret_key_id FROM identity.api_keys")
    assert [r["secret_key_id"] for r in rows] == [key_id(A.encode())]


async def test_an_enrolment_sealed_under_a_lost_key_starts_again(
    settings: Settings, database_url: str, clean_state: None
) -> None:
    async with running(settings, A, clock=CLOCK) as client:
        tokens = await signed_in(client, database_url, "enrol@example.com")
        headers = bearer(tokens["accessToken"])
        old = (await client.post(f"{API}/auth/mfa/totp/setup", headers=headers)).json()["secret"]
    async with running(settings, B, clock=CLOCK) as client:
        r = await client.post(
            f"{API}/auth/mfa/totp/confirm",
            json={"code": totp_code(old, at=CLOCK())},
            headers=headers,
        )
        assert r.status_code == 409, r.text
        assert problem(r)["code"] == "mfa_setup_unreadable"
        new = (await client.post(f"{API}/auth/mfa/totp/setup", headers=headers)).json()["secret"]
        r = await client.post(
            f"{API}/auth/mfa/totp/confirm",
            json={"code": totp_code(new, at=CLOCK())},
            headers=headers,
        )
        assert r.status_code == 200, r.text
