"""Accounts: password policy, profile and mass assignment, password change, e-mail change,
disabling, and argon2 rehash on login."""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.app import create_app
from hub.kernel.settings import Settings
from tests.integration.identity.support import (
    API,
    PASSWORD,
    bearer,
    events,
    fetch,
    last_token,
    login,
    production_hashing,
    queued_mail,
    register,
    signed_in,
    signed_up,
)
from tests.integration.identity.support_tokens import with_claims
from tests.support import problem


async def test_password_policy(client: AsyncTestClient[Litestar], database_url: str) -> None:
    for password, code in (
        ("short7!", "weak_password"),
        ("password1", "weak_password"),  # on the shipped common-password list
        ("Iloveyou1", "weak_password"),  # case does not help
        ("policy@example.com", "weak_password"),  # the address itself
    ):
        r = await register(client, "policy@example.com", password)
        assert r.status_code == 422, password
        body = problem(r)
        assert body["code"] == code
        assert body["errors"][0]["field"] == "password"
    assert await queued_mail(database_url) == []

    long = "a long passphrase " * 6  # 108 characters: accepted, and not truncated
    assert len(long) > 64
    await signed_up(client, database_url, "policy@example.com", long)
    assert (await login(client, "policy@example.com", long)).status_code == 200
    assert (await login(client, "policy@example.com", long[:-1] + "!")).status_code == 401
    assert (await login(client, "policy@example.com", long[:72])).status_code == 401


async def test_bad_input_is_a_validation_problem(client: AsyncTestClient[Litestar]) -> None:
    r = await register(client, "not-an-address")
    assert r.status_code == 422
    assert problem(r)["errors"][0]["field"] == "email"
    r = await client.post(f"{API}/auth/register", json={"email": "x@example.com"})
    assert r.status_code == 400
    assert problem(r)["code"] == "validation_failed"
    r = await register(client, "x@example.com", name="   ")
    assert r.status_code == 422
    assert problem(r)["errors"][0]["field"] == "displayName"


async def test_profile_patch_ignores_mass_assignment(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    tokens = await signed_in(client, database_url, "mass@example.com")
    headers = bearer(tokens["accessToken"])
    r = await client.patch(
        f"{API}/auth/me",
        json={
            "displayName": "  Mass   Assigner ",
            "isPlatformAdmin": True,
            "isAdmin": True,
            "roles": ["owner"],
            "emailVerified": False,
            "mfaEnabled": True,
            "id": "00000000-0000-7000-8000-000000000000",
        },
        headers=headers,
    )
    assert r.status_code == 200
    me = r.json()
    assert me["displayName"] == "Mass Assigner"
    assert me["isPlatformAdmin"] is False
    assert me["emailVerified"] is True
    assert me["mfaEnabled"] is False
    assert me["id"] == tokens["userId"]
    (row,) = await fetch(
        database_url,
        "SELECT is_platform_admin, mfa_enabled, email_verified_at FROM identity.users",
    )
    assert row["is_platform_admin"] is False
    assert row["mfa_enabled"] is False
    assert row["email_verified_at"] is not None
    r = await client.patch(f"{API}/auth/me", json={"displayName": ""}, headers=headers)
    assert r.status_code == 400


async def test_change_password_needs_the_current_one_and_ends_other_sessions(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    laptop = await signed_in(client, database_url, "change@example.com")
    phone = (await login(client, "change@example.com")).json()
    url = f"{API}/auth/password/change"
    r = await client.post(
        url,
        json={"currentPassword": "not it at all", "newPassword": "another fine passphrase"},
        headers=bearer(laptop["accessToken"]),
    )
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_current_password"
    r = await client.post(
        url,
        json={"currentPassword": PASSWORD, "newPassword": "qwertyuiop"},
        headers=bearer(laptop["accessToken"]),
    )
    assert r.status_code == 422
    assert problem(r)["errors"][0]["field"] == "newPassword"
    r = await client.post(
        url,
        json={"currentPassword": PASSWORD, "newPassword": "another fine passphrase"},
        headers=bearer(laptop["accessToken"]),
    )
    assert r.status_code == 200
    assert r.json() == {"sessionsEnded": 1}
    assert (
        await client.get(f"{API}/auth/me", headers=bearer(phone["accessToken"]))
    ).status_code == 401
    assert (
        await client.get(f"{API}/auth/me", headers=bearer(laptop["accessToken"]))
    ).status_code == 200
    assert (await login(client, "change@example.com")).status_code == 401
    assert (await login(client, "change@example.com", "another fine passphrase")).status_code == 200
    assert any("password was changed" in m["subject"] for m in await queued_mail(database_url))
    # Keeping the other sessions is the caller's choice.
    r = await client.post(
        url,
        json={
            "currentPassword": "another fine passphrase",
            "newPassword": "a third fine passphrase",
            "endOtherSessions": False,
        },
        headers=bearer(laptop["accessToken"]),
    )
    assert r.json() == {"sessionsEnded": 0}
    changed = await events(database_url, "identity.password_changed")
    assert [e["sessionsEnded"] for e in changed] == [1, 0]


async def test_reset_token_dies_when_the_password_changes(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    tokens = await signed_in(client, database_url, "bound@example.com")
    await client.post(f"{API}/auth/password/forgot", json={"email": "bound@example.com"})
    reset = await last_token(database_url, "bound@example.com", "Reset your Hub password")
    r = await client.post(
        f"{API}/auth/password/change",
        json={"currentPassword": PASSWORD, "newPassword": "changed in the meantime"},
        headers=bearer(tokens["accessToken"]),
    )
    assert r.status_code == 200
    r = await client.post(
        f"{API}/auth/password/reset", json={"token": reset, "newPassword": "attacker's choice"}
    )
    assert r.status_code == 422
    assert problem(r)["code"] == "invalid_token"


async def test_registering_a_squatted_address_lets_the_owner_take_it_back(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    # A squatter registers the victim's address first and never verifies it.
    assert (await register(client, "victim@example.com", "squatter's secret pw")).status_code == 202
    assert (await register(client, "victim@example.com", PASSWORD, "Victim")).status_code == 202
    reset = await last_token(database_url, "victim@example.com", "already have")
    r = await client.post(
        f"{API}/auth/password/reset", json={"token": reset, "newPassword": "the owner's own pw"}
    )
    assert r.status_code == 200
    assert (await login(client, "victim@example.com", "squatter's secret pw")).status_code == 401
    r = await login(client, "victim@example.com", "the owner's own pw")
    assert r.status_code == 200  # the reset proved the address: verified
    assert len(await events(database_url, "identity.user_registered")) == 1


async def test_email_change_needs_recent_sign_in_and_confirmation(
    app: Litestar, client: AsyncTestClient[Litestar], database_url: str
) -> None:
    tokens = await signed_in(client, database_url, "old@example.com")
    await signed_up(client, database_url, "other@example.com")
    stale = await with_claims(app, tokens["accessToken"], auth_time=int(time.time()) - 3600)
    r = await client.patch(
        f"{API}/auth/me", json={"email": "new@example.com"}, headers=bearer(stale)
    )
    assert r.status_code == 403
    assert problem(r)["code"] == "reauthentication_required"

    headers = bearer(tokens["accessToken"])
    r = await client.patch(f"{API}/auth/me", json={"email": "New@Example.com"}, headers=headers)
    assert r.status_code == 200
    assert r.json()["email"] == "old@example.com"
    # A taken address answers the same and sends nothing.
    r = await client.patch(f"{API}/auth/me", json={"email": "other@example.com"}, headers=headers)
    assert r.status_code == 200
    assert [m["subject"] for m in await queued_mail(database_url, "other@example.com")] == [
        "Confirm your e-mail address for Hub"
    ]
    token = await last_token(database_url, "new@example.com", "Confirm your new e-mail")
    assert (await client.post(f"{API}/auth/verify-email", json={"token": token})).status_code == 200
    me = (await client.get(f"{API}/auth/me", headers=headers)).json()
    assert me["email"] == "new@example.com"
    assert me["emailVerified"] is True
    assert (await login(client, "new@example.com")).status_code == 200
    assert (await login(client, "old@example.com")).status_code == 401


async def test_a_pending_email_change_can_be_withdrawn(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    tokens = await signed_in(client, database_url, "stay@example.com")
    await signed_up(client, database_url, "taken@example.com")
    headers = bearer(tokens["accessToken"])
    cancel = f"{API}/auth/me/email-change"
    # Nothing pending, or only a taken address asked for: the same 204, nothing published.
    assert (await client.delete(cancel, headers=headers)).status_code == 204
    r = await client.patch(f"{API}/auth/me", json={"email": "taken@example.com"}, headers=headers)
    assert r.status_code == 200
    assert (await client.delete(cancel, headers=headers)).status_code == 204
    assert await events(database_url, "identity.email_change_cancelled") == []

    r = await client.patch(f"{API}/auth/me", json={"email": "moved@example.com"}, headers=headers)
    assert r.status_code == 200
    token = await last_token(database_url, "moved@example.com", "Confirm your new e-mail")
    assert (await client.delete(cancel, headers=headers)).status_code == 204
    (cancelled,) = await events(database_url, "identity.email_change_cancelled")
    assert (cancelled["userId"], cancelled["links"]) == (tokens["userId"], 1)
    # The confirmation link no longer works; the account stays where it was.
    r = await client.post(f"{API}/auth/verify-email", json={"token": token})
    assert r.status_code == 422
    assert problem(r)["code"] == "invalid_token"
    me = (await client.get(f"{API}/auth/me", headers=headers)).json()
    assert me["email"] == "stay@example.com"
    assert (await login(client, "stay@example.com")).status_code == 200
    # A person's own action: an API key may not.
    r = await client.delete(cancel, headers={"X-API-Key": "hub_ak_nope"})
    assert r.status_code == 401


async def test_disabling_a_user_ends_all_sessions(
    app: Litestar, client: AsyncTestClient[Litestar], database_url: str, settings: Settings
) -> None:
    first = await signed_in(client, database_url, "gone@example.com")
    second = (await login(client, "gone@example.com")).json()
    accounts = app.state.kernel.services["accounts"]
    user_id = first["userId"]
    ended = await client_portal_call(client, accounts.disable_user, user_id)
    assert ended == 2
    for tokens in (first, second):
        assert (
            await client.get(f"{API}/auth/me", headers=bearer(tokens["accessToken"]))
        ).status_code == 401
        r = await client.post(f"{API}/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
        assert r.status_code == 401
    r = await login(client, "gone@example.com")
    assert r.status_code == 403
    assert problem(r)["code"] == "account_disabled"
    (disabled,) = await events(database_url, "identity.user_disabled")
    assert disabled["sessionsEnded"] == 2


async def client_portal_call(client: AsyncTestClient[Litestar], fn: Any, user_id: str) -> int:
    """Run a service call on the app's own event loop (the test client runs the app in a
    portal thread, and its database pool belongs to that loop)."""
    portal = client.blocking_portal
    assert portal is not None
    call = functools.partial(fn, uuid.UUID(user_id), actor_id=None)
    return int(await asyncio.to_thread(portal.call, call))


async def test_login_rehashes_when_argon2_parameters_change(
    base_settings: Settings, database_url: str, clean_state: None
) -> None:
    cheap = base_settings.replace(password_hash_time_cost=1, password_hash_memory_kib=1024)
    async with AsyncTestClient(
        app=create_app(cheap, configure_logs=False), base_url="http://testserver.local"
    ) as c:
        await signed_up(c, database_url, "rehash@example.com")
    (row,) = await fetch(database_url, "SELECT password_hash FROM identity.users")
    assert row["password_hash"].startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    # The real parameters (t=2, m=19 MiB, p=1): the next login upgrades the stored hash.
    real = create_app(production_hashing(base_settings), configure_logs=False)
    async with AsyncTestClient(app=real, base_url="http://testserver.local") as c:
        assert (await login(c, "rehash@example.com")).status_code == 200
        (row,) = await fetch(database_url, "SELECT password_hash FROM identity.users")
        assert row["password_hash"].startswith("$argon2id$v=19$m=19456,t=2,p=1$")
        assert (await login(c, "rehash@example.com")).status_code == 200


async def test_a_password_reset_revokes_the_accounts_api_keys(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    """Whoever held the account may have made keys; the owner's reset must end them too."""
    tokens = await signed_in(client, database_url, "keys@example.com")
    headers = bearer(tokens["accessToken"])
    keys = []
    for name in ("attacker's", "owner's"):
        r = await client.post(
            f"{API}/auth/api-keys",
            json={"name": name, "permissions": ["identity.org.read"]},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        keys.append(r.json())
    assert (
        await client.get(f"{API}/orgs", headers={"X-API-Key": keys[0]["key"]})
    ).status_code == 200

    await client.post(f"{API}/auth/password/forgot", json={"email": "keys@example.com"})
    reset_mail = (await queued_mail(database_url, "keys@example.com"))[-1]
    assert "revokes every API key" in " ".join(reset_mail["text"].split())
    reset = await last_token(database_url, "keys@example.com", "Reset your Hub password")
    r = await client.post(
        f"{API}/auth/password/reset", json={"token": reset, "newPassword": "a brand new secret"}
    )
    assert r.status_code == 200, r.text

    for key in keys:
        r = await client.get(f"{API}/orgs", headers={"X-API-Key": key["key"]})
        assert r.status_code == 401
    revoked = await events(database_url, "identity.api_key_revoked")
    assert sorted(e["apiKeyId"] for e in revoked) == sorted(k["id"] for k in keys)
    assert {e["actorId"] for e in revoked} == {tokens["userId"]}
    (reset_event,) = await events(database_url, "identity.password_reset")
    assert (reset_event["sessionsEnded"], reset_event["apiKeysRevoked"]) == (1, 2)
    done = (await queued_mail(database_url, "keys@example.com"))[-1]
    assert done["subject"] == "Your Hub password was changed"
    assert "your 2 API key(s) were revoked" in " ".join(done["text"].split())


CHANGE_ASKED = "Someone asked to change the e-mail address"
CHANGED = "The e-mail address of your Hub account was changed"


async def test_a_thiefs_change_email_link_dies_with_the_owners_new_password(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    """A stolen session asks to move the account to the thief's address; the owner, warned
    at the old address, resets (or changes) the password: the thief's link is dead."""
    stolen = bearer((await signed_in(client, database_url, "owner@example.com"))["accessToken"])
    r = await client.patch(f"{API}/auth/me", json={"email": "thief@example.com"}, headers=stolen)
    assert r.status_code == 200
    (warning,) = [
        m
        for m in await queued_mail(database_url, "owner@example.com")
        if CHANGE_ASKED in m["subject"]
    ]
    assert "thief@example.com" in warning["text"]
    assert "/undo-email-change?token=" in warning["text"]
    (requested,) = await events(database_url, "identity.email_change_requested")
    assert (requested["oldEmail"], requested["newEmail"]) == (
        "owner@example.com",
        "thief@example.com",
    )

    await client.post(f"{API}/auth/password/forgot", json={"email": "owner@example.com"})
    reset = await last_token(database_url, "owner@example.com", "Reset your Hub password")
    r = await client.post(
        f"{API}/auth/password/reset", json={"token": reset, "newPassword": "the owner's new one"}
    )
    assert r.status_code == 200
    thiefs = await last_token(database_url, "thief@example.com", "Confirm your new e-mail")
    r = await client.post(f"{API}/auth/verify-email", json={"token": thiefs})
    assert r.status_code == 422
    assert problem(r)["code"] == "invalid_token"
    assert (await login(client, "owner@example.com", "the owner's new one")).status_code == 200
    (row,) = await fetch(
        database_url, "SELECT used_at FROM identity.email_tokens WHERE purpose = 'change_email'"
    )
    assert row["used_at"] is not None  # cancelled by the reset, not merely outvoted

    # The same with a password change (the owner still signed in elsewhere).
    owner = bearer(
        (await login(client, "owner@example.com", "the owner's new one")).json()["accessToken"]
    )
    r = await client.patch(f"{API}/auth/me", json={"email": "thief2@example.com"}, headers=owner)
    assert r.status_code == 200
    r = await client.post(
        f"{API}/auth/password/change",
        json={"currentPassword": "the owner's new one", "newPassword": "and another one"},
        headers=owner,
    )
    assert r.status_code == 200
    thiefs = await last_token(database_url, "thief2@example.com", "Confirm your new e-mail")
    r = await client.post(f"{API}/auth/verify-email", json={"token": thiefs})
    assert r.status_code == 422
    me = (await client.get(f"{API}/auth/me", headers=owner)).json()
    assert me["email"] == "owner@example.com"


async def test_the_old_address_can_undo_an_email_change(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    tokens = await signed_in(client, database_url, "a@example.com")
    stolen = bearer(tokens["accessToken"])
    r = await client.post(
        f"{API}/auth/api-keys",
        json={"name": "owner's", "permissions": ["identity.org.read"]},
        headers=stolen,
    )
    key = {"X-API-Key": r.json()["key"]}

    async def move(to: str) -> None:
        r = await client.patch(f"{API}/auth/me", json={"email": to}, headers=stolen)
        assert r.status_code == 200
        link = await last_token(database_url, to, "Confirm your new e-mail")
        assert (
            await client.post(f"{API}/auth/verify-email", json={"token": link})
        ).status_code == 200

    # The thief moves the account to an address of theirs, changes the password (say they
    # knew it), then moves it once more.
    await move("x@example.com")
    (changed,) = [
        m for m in await queued_mail(database_url, "a@example.com") if CHANGED in m["subject"]
    ]
    assert "x@example.com" in changed["text"]
    undo_a = await last_token(database_url, "a@example.com", CHANGED)
    r = await client.post(
        f"{API}/auth/password/change",
        json={"currentPassword": PASSWORD, "newPassword": "the thief's password"},
        headers=stolen,
    )
    assert r.status_code == 200
    await move("y@example.com")
    later_undo_x = await last_token(database_url, "x@example.com", CHANGE_ASKED)
    undo_x = await last_token(database_url, "x@example.com", CHANGED)
    # The thief uses the undo link of the second move: that does not cancel the owner's.
    r = await client.post(
        f"{API}/auth/undo-email-change", json={"token": undo_x, "newPassword": "thief again!"}
    )
    assert r.status_code == 200, r.text
    assert (await login(client, "x@example.com", "thief again!")).status_code == 200
    thief = bearer((await login(client, "x@example.com", "thief again!")).json()["accessToken"])

    url = f"{API}/auth/undo-email-change"
    r = await client.post(url, json={"token": undo_a, "newPassword": "short"})
    assert r.status_code == 422  # refused before anything changed: the link still works
    r = await client.post(url, json={"token": undo_a, "newPassword": "mine once more, thanks"})
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "email_change_undone"}

    assert (await login(client, "a@example.com", "mine once more, thanks")).status_code == 200
    for email, password in (("x@example.com", "thief again!"), ("a@example.com", "thief again!")):
        assert (await login(client, email, password)).status_code == 401
    for headers in (stolen, thief, key):
        assert (await client.get(f"{API}/auth/sessions", headers=headers)).status_code in (401, 403)
    assert (await client.get(f"{API}/orgs", headers=key)).status_code == 401
    # Single use, and undo links issued after it (the thief's) are dead.
    for token in (undo_a, later_undo_x):
        r = await client.post(url, json={"token": token, "newPassword": "someone else's pw"})
        assert r.status_code == 422
        assert problem(r)["code"] == "invalid_token"
    me = bearer(
        (await login(client, "a@example.com", "mine once more, thanks")).json()["accessToken"]
    )
    body = (await client.get(f"{API}/auth/me", headers=me)).json()
    assert (body["email"], body["emailVerified"]) == ("a@example.com", True)

    reverted = await events(database_url, "identity.email_change_reverted")
    assert [(e["email"], e["previousEmail"]) for e in reverted] == [
        ("x@example.com", "y@example.com"),
        ("a@example.com", "x@example.com"),
    ]
    assert [e["apiKeysRevoked"] for e in reverted] == [1, 0]  # the first undo revoked it
    assert [e["newEmail"] for e in await events(database_url, "identity.email_changed")] == [
        "x@example.com",
        "y@example.com",
    ]
    done = (await queued_mail(database_url, "a@example.com"))[-1]
    assert done["subject"] == "Your Hub account is back on a@example.com"


async def test_a_squatters_password_is_useless_once_the_owner_registers(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    """The squatter registers the victim's address; the victim registers too, then clicks
    the confirmation link the squatter's sign-up sent them. That used to verify the
    account with the squatter's password (the squatter then held a verified account with
    the victim's address, invitations to it included)."""
    squatter_pw = "squatter's secret pw"
    assert (await register(client, "prey@example.com", squatter_pw, "Squatter")).status_code == 202
    squatters_link = await last_token(database_url, "prey@example.com", "Confirm your e-mail")
    r = await register(client, "prey@example.com", PASSWORD, "Prey")
    assert r.status_code == 202
    assert r.json()["status"] == "accepted"

    r = await client.post(f"{API}/auth/verify-email", json={"token": squatters_link})
    assert r.status_code == 422
    assert problem(r)["code"] == "invalid_token"
    # Neither password works now: 401 like any wrong password (not 403 email_not_verified,
    # which would tell the squatter the password was right).
    for password in (squatter_pw, PASSWORD):
        r = await login(client, "prey@example.com", password)
        assert r.status_code == 401
        assert problem(r)["code"] == "invalid_credentials"
    (row,) = await fetch(database_url, "SELECT password_hash FROM identity.users")
    assert row["password_hash"].startswith("!$argon2id$")

    # The squatter registering again changes nothing: the owner's reset link keeps working.
    reset = await last_token(database_url, "prey@example.com", "already have")
    assert (await register(client, "prey@example.com", squatter_pw, "Squatter")).status_code == 202
    r = await client.post(
        f"{API}/auth/password/reset", json={"token": reset, "newPassword": "the owner's own pw"}
    )
    assert r.status_code == 200, r.text
    assert (await login(client, "prey@example.com", "the owner's own pw")).status_code == 200
    assert (await login(client, "prey@example.com", squatter_pw)).status_code == 401
