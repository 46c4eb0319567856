"""The whole journey through HTTP: register → verify → login → refresh → TOTP → logout →
login with TOTP → recovery code → password reset → sessions list/revoke."""

from __future__ import annotations

import pyotp
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.identity.support import (
    API,
    PASSWORD,
    bearer,
    events,
    last_token,
    login,
    queued_mail,
    register,
    totp_code,
)
from tests.support import problem

NEW_PASSWORD = "a brand new passphrase 2024"


async def test_whole_journey(client: AsyncTestClient[Litestar], database_url: str) -> None:
    email = "alice@example.com"
    r = await register(client, "  Alice@Example.com ", name="Alice Liddell")
    assert r.status_code == 202
    # Not verified yet: the right password is refused with a clear code.
    r = await login(client, email)
    assert r.status_code == 403
    assert problem(r)["code"] == "email_not_verified"

    token = await last_token(database_url, email, "Confirm your e-mail")
    r = await client.post(f"{API}/auth/verify-email", json={"token": token})
    assert r.status_code == 200
    # Single use.
    r = await client.post(f"{API}/auth/verify-email", json={"token": token})
    assert r.status_code == 422
    assert problem(r)["code"] == "invalid_token"

    r = await login(client, "ALICE@example.com", headers={"User-Agent": "journey-browser/1"})
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["status"] == "authenticated"
    assert first["tokenType"] == "Bearer"
    me = await client.get(f"{API}/auth/me", headers=bearer(first["accessToken"]))
    assert me.status_code == 200
    assert me.json()["email"] == email
    assert me.json()["displayName"] == "Alice Liddell"
    assert me.json()["emailVerified"] is True
    assert me.json()["mfaEnabled"] is False

    # Refresh rotates: a new refresh token, same session.
    r = await client.post(f"{API}/auth/refresh", json={"refreshToken": first["refreshToken"]})
    assert r.status_code == 200
    rotated = r.json()
    assert rotated["refreshToken"] != first["refreshToken"]
    assert rotated["sessionId"] == first["sessionId"]
    access = rotated["accessToken"]

    # TOTP enrolment.
    r = await client.post(f"{API}/auth/mfa/totp/setup", headers=bearer(access))
    assert r.status_code == 200
    setup = r.json()
    assert setup["otpauthUri"].startswith("otpauth://totp/")
    secret = setup["secret"]
    r = await client.post(
        f"{API}/auth/mfa/totp/confirm", json={"code": "000000"}, headers=bearer(access)
    )
    if pyotp.TOTP(secret).verify("000000", valid_window=1):  # astronomically unlikely
        return
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_code"
    r = await client.post(
        f"{API}/auth/mfa/totp/confirm",
        json={"code": totp_code(secret, steps=-1)},
        headers=bearer(access),
    )
    assert r.status_code == 200, r.text
    recovery = r.json()["recoveryCodes"]
    assert len(recovery) == 10
    assert len(set(recovery)) == 10
    assert any("turned on" in m["subject"] for m in await queued_mail(database_url, email))

    # Logout stops the access token and the refresh token at once.
    r = await client.post(f"{API}/auth/logout", headers=bearer(access))
    assert r.status_code == 204
    r = await client.get(f"{API}/auth/me", headers=bearer(access))
    assert r.status_code == 401
    r = await client.post(f"{API}/auth/refresh", json={"refreshToken": rotated["refreshToken"]})
    assert r.status_code == 401

    # Login now needs the second factor.
    r = await login(client, email)
    assert r.status_code == 200
    challenge = r.json()
    assert challenge["status"] == "mfa_required"
    assert "accessToken" not in challenge
    r = await client.post(
        f"{API}/auth/mfa/verify",
        json={"mfaToken": challenge["mfaToken"], "code": totp_code(secret)},
    )
    assert r.status_code == 200, r.text
    with_totp = r.json()
    me = await client.get(f"{API}/auth/me", headers=bearer(with_totp["accessToken"]))
    assert me.status_code == 200
    assert me.json()["mfaEnabled"] is True

    # A recovery code works once.
    r = await login(client, email)
    mfa_token = r.json()["mfaToken"]
    r = await client.post(
        f"{API}/auth/mfa/verify",
        json={"mfaToken": mfa_token, "recoveryCode": recovery[0].upper()},
    )
    assert r.status_code == 200, r.text
    with_code = r.json()
    r = await login(client, email)
    r = await client.post(
        f"{API}/auth/mfa/verify",
        json={"mfaToken": r.json()["mfaToken"], "recoveryCode": recovery[0]},
    )
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_code"

    # Password reset by e-mailed token: signs every device out, keeps MFA on.
    r = await client.post(f"{API}/auth/password/forgot", json={"email": email})
    assert r.status_code == 202
    reset = await last_token(database_url, email, "Reset your Hub password")
    r = await client.post(
        f"{API}/auth/password/reset", json={"token": reset, "newPassword": NEW_PASSWORD}
    )
    assert r.status_code == 200, r.text
    for tokens in (with_totp, with_code):
        r = await client.get(f"{API}/auth/me", headers=bearer(tokens["accessToken"]))
        assert r.status_code == 401
    r = await client.post(
        f"{API}/auth/password/reset", json={"token": reset, "newPassword": NEW_PASSWORD + "!"}
    )
    assert r.status_code == 422
    assert (await login(client, email, PASSWORD)).status_code == 401
    r = await login(client, email, NEW_PASSWORD)
    assert r.status_code == 200
    assert r.json()["status"] == "mfa_required"
    r = await client.post(
        f"{API}/auth/mfa/verify",
        json={"mfaToken": r.json()["mfaToken"], "recoveryCode": recovery[1]},
    )
    assert r.status_code == 200
    laptop = r.json()
    r = await login(client, email, NEW_PASSWORD)
    r = await client.post(
        f"{API}/auth/mfa/verify",
        json={"mfaToken": r.json()["mfaToken"], "recoveryCode": recovery[2]},
    )
    phone = r.json()

    # Sessions: list both, revoke the phone from the laptop.
    r = await client.get(f"{API}/auth/sessions", headers=bearer(laptop["accessToken"]))
    assert r.status_code == 200
    listed = r.json()["items"]
    assert {s["id"] for s in listed} == {laptop["sessionId"], phone["sessionId"]}
    assert [s["current"] for s in listed if s["id"] == laptop["sessionId"]] == [True]
    assert all(s["methods"] == ["pwd", "rec"] for s in listed)
    r = await client.delete(
        f"{API}/auth/sessions/{phone['sessionId']}", headers=bearer(laptop["accessToken"])
    )
    assert r.status_code == 204
    assert (
        await client.get(f"{API}/auth/me", headers=bearer(phone["accessToken"]))
    ).status_code == 401
    r = await client.post(f"{API}/auth/refresh", json={"refreshToken": phone["refreshToken"]})
    assert r.status_code == 401
    assert (
        await client.get(f"{API}/auth/me", headers=bearer(laptop["accessToken"]))
    ).status_code == 200

    kinds = {
        name: len(await events(database_url, f"identity.{name}"))
        for name in ("user_registered", "user_verified", "mfa_enabled", "password_reset")
    }
    assert kinds == {
        "user_registered": 1,
        "user_verified": 1,
        "mfa_enabled": 1,
        "password_reset": 1,
    }
    revoked = await events(database_url, "identity.session_revoked")
    assert {e["reason"] for e in revoked} >= {"logout", "password_reset", "revoked_by_user"}
