"""Passkeys: real WebAuthn ceremonies with a software authenticator (tests/.../authenticator.py)
against the API: registration, sign-in with a passkey alone, as the second factor and as a
step-up; replayed answers, cloned authenticators and other origins are refused."""

from __future__ import annotations

import time
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.kernel.settings import Settings
from tests.integration.identity.authenticator import SoftAuthenticator, register_passkey
from tests.integration.identity.support import (
    API,
    PASSKEYS,
    bearer,
    enrol_totp,
    events,
    fetch,
    login,
    signed_in,
)
from tests.integration.identity.support_tokens import claims_of, with_claims
from tests.support import problem

Client = AsyncTestClient[Litestar]
ORIGIN = "https://app.hub.example"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(webauthn_rp_id="hub.example", webauthn_origins=(ORIGIN,))


async def sign_in_answer(client: Client, device: SoftAuthenticator, **kw: Any) -> dict[str, Any]:
    r = await client.post(f"{PASSKEYS}/sign-in-options")
    assert r.status_code == 200, r.text
    options = r.json()
    return {
        "challengeId": options["challengeId"],
        "credential": device.get(options["publicKey"], **kw),
    }


async def test_register_list_rename_and_remove_passkeys(client: Client, database_url: str) -> None:
    user = await signed_in(client, database_url, "ada@example.com")
    headers = bearer(user["accessToken"])
    r = await client.post(f"{PASSKEYS}/registration-options", headers=headers)
    options = r.json()["publicKey"]
    assert options["rp"] == {"id": "hub.example", "name": "Hub"}
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"

    phone, key = SoftAuthenticator(ORIGIN), SoftAuthenticator(ORIGIN)
    first = await register_passkey(client, headers, phone, "  Ada's   phone ")
    assert first["name"] == "Ada's phone"
    assert first["lastUsedAt"] is None
    assert first["transports"] == ["internal", "hybrid"]
    second = await register_passkey(client, headers, key, "YubiKey")

    # The second registration excluded the first credential (no double registration).
    r = await client.post(f"{PASSKEYS}/registration-options", headers=headers)
    assert len(r.json()["publicKey"]["excludeCredentials"]) == 2

    r = await client.get(PASSKEYS, headers=headers)
    assert [p["name"] for p in r.json()["items"]] == ["Ada's phone", "YubiKey"]

    r = await client.patch(
        f"{PASSKEYS}/{second['id']}", json={"name": "Key on the ring"}, headers=headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Key on the ring"
    r = await client.patch(f"{PASSKEYS}/{second['id']}", json={"name": "   "}, headers=headers)
    assert r.status_code == 422
    assert problem(r)["errors"][0]["field"] == "name"

    # Someone else's passkey does not exist for them.
    mallory = bearer((await signed_in(client, database_url, "mallory@example.com"))["accessToken"])
    r = await client.patch(f"{PASSKEYS}/{second['id']}", json={"name": "mine"}, headers=mallory)
    assert r.status_code == 404
    r = await client.delete(f"{PASSKEYS}/{second['id']}", headers=mallory)
    assert r.status_code == 404
    assert (await client.get(PASSKEYS, headers=mallory)).json()["items"] == []

    r = await client.delete(f"{PASSKEYS}/{first['id']}", headers=headers)
    assert r.status_code == 204
    r = await client.get(PASSKEYS, headers=headers)
    assert [p["name"] for p in r.json()["items"]] == ["Key on the ring"]
    assert [e["passkeyId"] for e in await events(database_url, "identity.passkey_registered")] == [
        first["id"],
        second["id"],
    ]
    assert [e["passkeyId"] for e in await events(database_url, "identity.passkey_removed")] == [
        first["id"]
    ]

    # The removed passkey signs nobody in.
    r = await client.post(f"{PASSKEYS}/sign-in", json=await sign_in_answer(client, phone))
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_passkey"


async def test_registration_refuses_bad_answers_and_changes_nothing(
    client: Client, app: Litestar, database_url: str
) -> None:
    user = await signed_in(client, database_url, "ada@example.com")
    headers = bearer(user["accessToken"])
    device = SoftAuthenticator(ORIGIN)

    async def attempt(**kw: Any) -> Any:
        options = (await client.post(f"{PASSKEYS}/registration-options", headers=headers)).json()
        credential = device.create(options["publicKey"], **kw)
        body = {"challengeId": options["challengeId"], "name": "x", "credential": credential}
        return options, body, await client.post(PASSKEYS, json=body, headers=headers)

    _, _, r = await attempt(origin="https://phishing.example")
    assert r.status_code == 422
    assert problem(r)["code"] == "invalid_passkey"
    device.verifies_user = False  # a key without PIN or biometrics
    _, _, r = await attempt()
    assert r.status_code == 422
    device.verifies_user = True
    _, body, r = await attempt()
    assert r.status_code == 201
    r = await client.post(PASSKEYS, json=body, headers=headers)  # the same answer again
    assert r.status_code == 422
    assert problem(r)["code"] == "invalid_passkey_challenge"
    # Registration needs a recent sign-in, like enrolling TOTP.
    stale = bearer(await with_claims(app, user["accessToken"], auth_time=int(time.time()) - 3600))
    r = await client.post(f"{PASSKEYS}/registration-options", headers=stale)
    assert r.status_code == 403
    assert problem(r)["code"] == "reauthentication_required"
    rows = await fetch(database_url, "SELECT name FROM identity.passkeys")
    assert [row["name"] for row in rows] == ["x"]


async def test_sign_in_with_a_passkey_alone(client: Client, database_url: str) -> None:
    user = await signed_in(client, database_url, "ada@example.com")
    device = SoftAuthenticator(ORIGIN)
    passkey = await register_passkey(client, bearer(user["accessToken"]), device)

    options = (await client.post(f"{PASSKEYS}/sign-in-options")).json()
    assert options["publicKey"]["allowCredentials"] == []  # discoverable: no address typed
    assert options["publicKey"]["rpId"] == "hub.example"
    answer = {"challengeId": options["challengeId"], "credential": device.get(options["publicKey"])}
    r = await client.post(f"{PASSKEYS}/sign-in", json=answer, headers={"User-Agent": "phone"})
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert tokens["status"] == "authenticated"
    assert tokens["userId"] == user["userId"]
    assert claims_of(tokens["accessToken"])["amr"] == ["hwk", "mfa"]
    me = await client.get(f"{API}/auth/me", headers=bearer(tokens["accessToken"]))
    assert me.json()["email"] == "ada@example.com"
    r = await client.post(f"{API}/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert r.status_code == 200

    listed = (await client.get(PASSKEYS, headers=bearer(tokens["accessToken"]))).json()["items"]
    assert listed[0]["id"] == passkey["id"]
    assert listed[0]["lastUsedAt"] is not None
    sessions = (
        await client.get(f"{API}/auth/sessions", headers=bearer(tokens["accessToken"]))
    ).json()["items"]
    assert sessions[0]["methods"] == ["hwk", "mfa"]
    assert sessions[0]["userAgent"] == "phone"

    # The same answer again: its challenge was used up, so it signs nobody in.
    r = await client.post(f"{PASSKEYS}/sign-in", json=answer)
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_passkey_challenge"
    # ... nor does it answer another challenge (the signature covers the old one).
    fresh = (await client.post(f"{PASSKEYS}/sign-in-options")).json()
    r = await client.post(
        f"{PASSKEYS}/sign-in",
        json={"challengeId": fresh["challengeId"], "credential": answer["credential"]},
    )
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_passkey"
    rows = await fetch(
        database_url,
        "SELECT count(*) AS n FROM identity.sessions WHERE user_id = $1::uuid",
        user["userId"],
    )
    assert rows[0]["n"] == 2  # the password sign-in and the one passkey sign-in


async def test_a_cloned_authenticator_is_refused(client: Client, database_url: str) -> None:
    user = await signed_in(client, database_url, "ada@example.com")
    device = SoftAuthenticator(ORIGIN)
    await register_passkey(client, bearer(user["accessToken"]), device)
    clone = device.clone()
    for _ in range(2):
        r = await client.post(f"{PASSKEYS}/sign-in", json=await sign_in_answer(client, device))
        assert r.status_code == 200, r.text
    # The clone's counter (1) is behind the stored one (2): a copied key.
    r = await client.post(f"{PASSKEYS}/sign-in", json=await sign_in_answer(client, clone))
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_passkey"
    failed = await events(database_url, "identity.login_failed")
    assert [(e["userId"], e["reason"]) for e in failed] == [
        (user["userId"], "passkey_counter_regression")
    ]
    rows = await fetch(database_url, "SELECT sign_count FROM identity.passkeys")
    assert rows[0]["sign_count"] == 2
    # The genuine authenticator goes on working.
    r = await client.post(f"{PASSKEYS}/sign-in", json=await sign_in_answer(client, device))
    assert r.status_code == 200


async def test_answers_from_another_origin_or_unverified_are_refused(
    client: Client, database_url: str
) -> None:
    user = await signed_in(client, database_url, "ada@example.com")
    device = SoftAuthenticator(ORIGIN)
    await register_passkey(client, bearer(user["accessToken"]), device)
    answer = await sign_in_answer(client, device, origin="https://hub.example.phishing.test")
    r = await client.post(f"{PASSKEYS}/sign-in", json=answer)
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_passkey"
    device.verifies_user = False
    r = await client.post(f"{PASSKEYS}/sign-in", json=await sign_in_answer(client, device))
    assert r.status_code == 401
    r = await client.post(
        f"{PASSKEYS}/sign-in", json={"challengeId": "hub_pkc_unknown", "credential": {"id": "x"}}
    )
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_passkey_challenge"
    fresh = (await client.post(f"{PASSKEYS}/sign-in-options")).json()
    r = await client.post(
        f"{PASSKEYS}/sign-in", json={"challengeId": fresh["challengeId"], "credential": {"id": "x"}}
    )
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_passkey"


async def test_a_disabled_account_cannot_sign_in_with_its_passkey(
    client: Client, database_url: str
) -> None:
    user = await signed_in(client, database_url, "ada@example.com")
    device = SoftAuthenticator(ORIGIN)
    await register_passkey(client, bearer(user["accessToken"]), device)
    await fetch(
        database_url,
        "UPDATE identity.users SET disabled_at = now() WHERE id = $1::uuid",
        user["userId"],
    )
    r = await client.post(f"{PASSKEYS}/sign-in", json=await sign_in_answer(client, device))
    assert r.status_code == 403
    assert problem(r)["code"] == "account_disabled"


async def test_a_passkey_answers_the_second_factor(client: Client, database_url: str) -> None:
    user = await signed_in(client, database_url, "ada@example.com")
    headers = bearer(user["accessToken"])
    await enrol_totp(client, headers)
    device = SoftAuthenticator(ORIGIN)
    await register_passkey(client, headers, device)

    challenge = (await login(client, "ada@example.com")).json()
    assert challenge["status"] == "mfa_required"
    assert challenge["methods"] == ["totp", "recovery_code", "passkey"]
    r = await client.post(
        f"{API}/auth/mfa/passkey-options", json={"mfaToken": challenge["mfaToken"]}
    )
    assert r.status_code == 200, r.text
    options = r.json()
    assert len(options["publicKey"]["allowCredentials"]) == 1

    # A challenge issued for another sign-in attempt cannot finish this one.
    other = (await login(client, "ada@example.com")).json()
    credential = device.get(options["publicKey"])
    r = await client.post(
        f"{API}/auth/mfa/passkey",
        json={
            "mfaToken": other["mfaToken"],
            "challengeId": options["challengeId"],
            "credential": credential,
        },
    )
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_passkey_challenge"

    options = (
        await client.post(
            f"{API}/auth/mfa/passkey-options", json={"mfaToken": challenge["mfaToken"]}
        )
    ).json()
    body = {
        "mfaToken": challenge["mfaToken"],
        "challengeId": options["challengeId"],
        "credential": device.get(options["publicKey"]),
    }
    r = await client.post(f"{API}/auth/mfa/passkey", json=body)
    assert r.status_code == 200, r.text
    assert claims_of(r.json()["accessToken"])["amr"] == ["pwd", "hwk"]
    # The MFA challenge is closed: its token opens nothing more.
    r = await client.post(
        f"{API}/auth/mfa/passkey-options", json={"mfaToken": challenge["mfaToken"]}
    )
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_mfa_challenge"

    # An account without passkeys is told so.
    bob = await signed_in(client, database_url, "bob@example.com")
    await enrol_totp(client, bearer(bob["accessToken"]))
    bob_challenge = (await login(client, "bob@example.com")).json()
    assert bob_challenge["methods"] == ["totp", "recovery_code"]
    r = await client.post(
        f"{API}/auth/mfa/passkey-options", json={"mfaToken": bob_challenge["mfaToken"]}
    )
    assert r.status_code == 404
    assert problem(r)["code"] == "no_passkeys"


async def test_a_passkey_is_a_step_up(client: Client, app: Litestar, database_url: str) -> None:
    user = await signed_in(client, database_url, "ada@example.com")
    device = SoftAuthenticator(ORIGIN)
    await register_passkey(client, bearer(user["accessToken"]), device)
    stale = bearer(await with_claims(app, user["accessToken"], auth_time=int(time.time()) - 3600))
    r = await client.post(f"{API}/auth/mfa/totp/setup", headers=stale)
    assert r.status_code == 403
    assert problem(r)["code"] == "reauthentication_required"

    options = (await client.post(f"{PASSKEYS}/reauthentication-options", headers=stale)).json()
    body = {"challengeId": options["challengeId"], "credential": device.get(options["publicKey"])}
    r = await client.post(f"{PASSKEYS}/reauthenticate", json=body, headers=stale)
    assert r.status_code == 200, r.text
    fresh = r.json()["accessToken"]
    assert claims_of(fresh)["amr"] == ["hwk", "mfa"]
    assert claims_of(fresh)["sid"] == user["sessionId"]
    r = await client.post(f"{API}/auth/mfa/totp/setup", headers=bearer(fresh))
    assert r.status_code == 200

    # Another account's passkey does not step this session up.
    mallory = await signed_in(client, database_url, "mallory@example.com")
    options = (await client.post(f"{PASSKEYS}/reauthentication-options", headers=stale)).json()
    r = await client.post(
        f"{PASSKEYS}/reauthenticate",
        json={
            "challengeId": options["challengeId"],
            "credential": device.get(options["publicKey"]),
        },
        headers=bearer(mallory["accessToken"]),
    )
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_passkey_challenge"
