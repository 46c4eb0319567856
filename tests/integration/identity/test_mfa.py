"""TOTP and recovery codes: replay refused, ±1 step, single use, step-up for changes."""

from __future__ import annotations

import time
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.identity.support import (
    API,
    PASSWORD,
    bearer,
    events,
    login,
    signed_in,
    totp_code,
)
from tests.integration.identity.support_tokens import with_claims
from tests.support import problem


async def _enrolled(
    client: AsyncTestClient[Litestar], database_url: str, email: str
) -> dict[str, Any]:
    tokens = await signed_in(client, database_url, email)
    headers = bearer(tokens["accessToken"])
    r = await client.post(f"{API}/auth/mfa/totp/setup", headers=headers)
    secret = r.json()["secret"]
    # Re-running setup before confirming replaces the secret: the old one is useless.
    r = await client.post(f"{API}/auth/mfa/totp/setup", headers=headers)
    stale, secret = secret, r.json()["secret"]
    assert stale != secret
    r = await client.post(
        f"{API}/auth/mfa/totp/confirm", json={"code": totp_code(secret, steps=-1)}, headers=headers
    )
    assert r.status_code == 200, r.text
    r2 = await client.post(f"{API}/auth/mfa/totp/setup", headers=headers)
    assert r2.status_code == 409
    assert problem(r2)["code"] == "mfa_already_enabled"
    return {**tokens, "secret": secret, "codes": r.json()["recoveryCodes"], "headers": headers}


async def _challenge(client: AsyncTestClient[Litestar], email: str) -> str:
    r = await login(client, email)
    assert r.json()["status"] == "mfa_required"
    return str(r.json()["mfaToken"])


async def _verify(client: AsyncTestClient[Litestar], challenge: str, **answer: str) -> int:
    r = await client.post(f"{API}/auth/mfa/verify", json={"mfaToken": challenge, **answer})
    return r.status_code


async def test_a_totp_code_is_accepted_once(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    user = await _enrolled(client, database_url, "otp@example.com")
    code = totp_code(user["secret"], steps=1)  # one step ahead: inside the drift window
    assert await _verify(client, await _challenge(client, "otp@example.com"), code=code) == 200
    assert await _verify(client, await _challenge(client, "otp@example.com"), code=code) == 401
    # An older step than the last accepted one is a replay too.
    old = totp_code(user["secret"], steps=0)
    assert await _verify(client, await _challenge(client, "otp@example.com"), code=old) == 401
    failures = await events(database_url, "identity.login_failed")
    assert [f["reason"] for f in failures] == ["invalid_otp", "invalid_otp"]


async def test_codes_outside_one_step_are_refused(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    user = await _enrolled(client, database_url, "drift@example.com")
    for steps in (-3, 3):
        code = totp_code(user["secret"], steps=steps)
        if code in {totp_code(user["secret"], steps=s) for s in (-1, 0, 1)}:
            continue  # a coincidental collision with a valid code
        assert (
            await _verify(client, await _challenge(client, "drift@example.com"), code=code) == 401
        )


async def test_a_challenge_is_single_use_and_needs_the_password_first(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    user = await _enrolled(client, database_url, "once@example.com")
    challenge = await _challenge(client, "once@example.com")
    assert await _verify(client, challenge, recoveryCode=user["codes"][0]) == 200
    r = await client.post(
        f"{API}/auth/mfa/verify", json={"mfaToken": challenge, "recoveryCode": user["codes"][1]}
    )
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_mfa_challenge"
    # A wrong password never yields a challenge.
    r = await login(client, "once@example.com", "not the password")
    assert r.status_code == 401
    assert "mfaToken" not in r.text


async def test_recovery_codes_regenerate_and_old_ones_die(
    app: Litestar, client: AsyncTestClient[Litestar], database_url: str
) -> None:
    user = await _enrolled(client, database_url, "codes@example.com")
    r = await client.post(f"{API}/auth/mfa/recovery-codes", headers=user["headers"])
    assert r.status_code == 200
    fresh = r.json()["recoveryCodes"]
    assert not set(fresh) & set(user["codes"])
    assert (
        await _verify(
            client, await _challenge(client, "codes@example.com"), recoveryCode=user["codes"][3]
        )
        == 401
    )
    assert (
        await _verify(client, await _challenge(client, "codes@example.com"), recoveryCode=fresh[3])
        == 200
    )


async def test_disabling_mfa_needs_a_recent_sign_in(
    app: Litestar, client: AsyncTestClient[Litestar], database_url: str
) -> None:
    user = await _enrolled(client, database_url, "stepup@example.com")
    stale = await with_claims(app, user["accessToken"], auth_time=int(time.time()) - 3600)
    r = await client.delete(f"{API}/auth/mfa/totp", headers=bearer(stale))
    assert r.status_code == 403
    assert problem(r)["code"] == "reauthentication_required"
    r = await client.post(f"{API}/auth/mfa/recovery-codes", headers=bearer(stale))
    assert r.status_code == 403

    # Step-up needs the password *and* the second factor.
    r = await client.post(
        f"{API}/auth/reauthenticate", json={"password": PASSWORD}, headers=bearer(stale)
    )
    assert r.status_code == 401
    assert problem(r)["code"] == "mfa_required"
    r = await client.post(
        f"{API}/auth/reauthenticate",
        json={"password": "wrong one!", "code": totp_code(user["secret"], steps=1)},
        headers=bearer(stale),
    )
    assert r.status_code == 401
    r = await client.post(
        f"{API}/auth/reauthenticate",
        json={"password": PASSWORD, "code": totp_code(user["secret"], steps=1)},
        headers=bearer(stale),
    )
    assert r.status_code == 200, r.text
    fresh = r.json()["accessToken"]
    r = await client.delete(f"{API}/auth/mfa/totp", headers=bearer(fresh))
    assert r.status_code == 204
    r = await login(client, "stepup@example.com")
    assert r.json()["status"] == "authenticated"
    assert [e["method"] for e in await events(database_url, "identity.mfa_disabled")] == ["totp"]
    r = await client.delete(f"{API}/auth/mfa/totp", headers=bearer(fresh))
    assert r.status_code == 404


async def test_codes_in_other_digit_scripts_are_wrong_codes_not_errors(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    """Arabic-Indic or full-width digits pass ``str.isdigit`` but are not TOTP digits: every
    place a code is read answers 401 ``invalid_code`` (it used to be a 500)."""
    tokens = await signed_in(client, database_url, "script@example.com")
    headers = bearer(tokens["accessToken"])
    secret = (await client.post(f"{API}/auth/mfa/totp/setup", headers=headers)).json()["secret"]
    wide = "".join(chr(0xFF11 + i) for i in range(6))  # full-width 123456
    for code in ("١٢٣٤٥٦", wide):
        r = await client.post(f"{API}/auth/mfa/totp/confirm", json={"code": code}, headers=headers)
        assert r.status_code == 401, r.text
        assert problem(r)["code"] == "invalid_code"
    r = await client.post(
        f"{API}/auth/mfa/totp/confirm", json={"code": totp_code(secret)}, headers=headers
    )
    assert r.status_code == 200, r.text
    recovery = r.json()["recoveryCodes"]

    challenge = await _challenge(client, "script@example.com")
    r = await client.post(f"{API}/auth/mfa/verify", json={"mfaToken": challenge, "code": "١٢٣٤٥٦"})
    assert r.status_code == 401, r.text
    assert problem(r)["code"] == "invalid_code"
    wide_code = "".join(chr(ord(ch) + 0xFEE0) if ch != "-" else ch for ch in recovery[0])
    r = await client.post(
        f"{API}/auth/mfa/verify", json={"mfaToken": challenge, "recoveryCode": wide_code}
    )
    assert r.status_code == 401, r.text
    # Separators an authenticator app shows are still fine.
    code = totp_code(secret, steps=1)
    assert await _verify(client, challenge, code=f"{code[:3]} {code[3:]}") == 200

    r = await client.post(
        f"{API}/auth/reauthenticate",
        json={"password": PASSWORD, "code": "١٢٣٤٥٦"},
        headers=headers,
    )
    assert r.status_code == 401, r.text
    assert problem(r)["code"] == "invalid_code"


async def test_enrolling_needs_a_recent_sign_in(
    app: Litestar, client: AsyncTestClient[Litestar], database_url: str
) -> None:
    """A stolen access token older than the recent-sign-in window cannot enrol the thief's
    authenticator (which would lock the owner out)."""
    tokens = await signed_in(client, database_url, "enrol@example.com")
    stale = bearer(await with_claims(app, tokens["accessToken"], auth_time=int(time.time()) - 3600))
    r = await client.post(f"{API}/auth/mfa/totp/setup", headers=stale)
    assert r.status_code == 403
    assert problem(r)["code"] == "reauthentication_required"
    assert problem(r)["extra"] == {"maxAgeSeconds": 600}

    fresh = bearer(tokens["accessToken"])
    secret = (await client.post(f"{API}/auth/mfa/totp/setup", headers=fresh)).json()["secret"]
    r = await client.post(
        f"{API}/auth/mfa/totp/confirm", json={"code": totp_code(secret)}, headers=stale
    )
    assert r.status_code == 403
    assert problem(r)["code"] == "reauthentication_required"
    assert (await login(client, "enrol@example.com")).json()["status"] == "authenticated"
    assert await events(database_url, "identity.mfa_enabled") == []
    r = await client.post(
        f"{API}/auth/mfa/totp/confirm", json={"code": totp_code(secret)}, headers=fresh
    )
    assert r.status_code == 200
