"""Invitations outlive nobody's rights: acceptance re-checks the inviter (removed, demoted,
disabled → refused and revoked), and members managing invitations list, revoke and
resend them under the tenancy rule (non-member 404, member without the permission 403)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg
import httpx
from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.cli import main as hub_main
from hub.kernel.settings import Settings
from tests.integration.identity.support import API, fetch, last_token, plain_dsn, queued_mail
from tests.integration.identity.support import events as outbox_events
from tests.integration.identity.support_orgs import (
    Person,
    create_org,
    invite,
    join,
    member_roles,
    person,
    roles_by_name,
)
from tests.support import problem


def accept_url(token: str) -> str:
    return f"{API}/invitations/{token}/accept"


async def invitation_row(database_url: str, email: str) -> Any:
    (row,) = await fetch(
        database_url,
        "SELECT * FROM identity.invitations WHERE email = $1 ORDER BY id DESC LIMIT 1",
        email,
    )
    return row


async def assert_withdrawn(
    client: AsyncTestClient[Litestar], database_url: str, org: str, who: Person, token: str
) -> None:
    """``who`` is refused with the invitation, which is revoked (a retry is a plain
    invalid token) and announced, and ``who`` is not a member."""
    r = await client.post(accept_url(token), headers=who.auth)
    assert r.status_code == 422, r.text
    assert problem(r)["code"] == "invitation_revoked"
    assert (await client.get(f"{API}/orgs/{org}", headers=who.auth)).status_code == 404
    row = await invitation_row(database_url, who.email)
    assert row["revoked_at"] is not None
    assert row["accepted_at"] is None
    revoked = (await outbox_events(database_url, "identity.invitation_revoked"))[-1]
    assert revoked["invitationId"] == str(row["id"])
    assert revoked["reason"] == "inviter_not_allowed"
    r = await client.post(accept_url(token), headers=who.auth)
    assert r.status_code == 422
    assert problem(r)["code"] == "invalid_token"
    assert not [
        e
        for e in await outbox_events(database_url, "identity.member_added")
        if e["userId"] == who.user_id
    ]


async def assert_withdrawn_at_once(
    client: AsyncTestClient[Litestar],
    database_url: str,
    org: str,
    who: Person,
    token: str,
    *,
    actor: Person | None,
) -> None:
    """The change that cost the inviter their standing withdrew the invitation in its own
    transaction, announced with the change's actor: no longer pending, its link refused
    as any dead link, ``who`` not a member."""
    row = await invitation_row(database_url, who.email)
    assert row["revoked_at"] is not None
    assert row["accepted_at"] is None
    revoked = [
        e
        for e in await outbox_events(database_url, "identity.invitation_revoked")
        if e["invitationId"] == str(row["id"])
    ]
    assert [(e["reason"], e["actorId"]) for e in revoked] == [
        ("inviter_not_allowed", actor.user_id if actor else None)
    ]
    r = await client.get(f"{API}/orgs/{org}/invitations", headers=(actor or who).auth)
    if r.status_code == 200:
        assert who.email not in {i["email"] for i in r.json()["items"]}
    r = await client.post(accept_url(token), headers=who.auth)
    assert r.status_code == 422, r.text
    assert problem(r)["code"] == "invalid_token"
    assert (await client.get(f"{API}/orgs/{org}", headers=who.auth)).status_code == 404


async def recruiter(
    client: AsyncTestClient[Litestar], org: str, owner: Person
) -> tuple[str, list[str]]:
    """A role "Recruiter" that invites members (the member role's keys and
    ``identity.invitations.manage``): its id, and the member role's keys."""
    member_keys: list[str] = (await roles_by_name(client, org, owner))["member"]["permissions"]
    r = await client.post(
        f"{API}/orgs/{org}/roles",
        json={"name": "Recruiter", "permissions": [*member_keys, "identity.invitations.manage"]},
        headers=owner.auth,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"]), member_keys


async def owner_admin(
    client: AsyncTestClient[Litestar], database_url: str
) -> tuple[Person, str, Person]:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner, "Acme"))["id"]
    admin = await join(client, database_url, org, owner, "admin@example.com", ["admin"])
    return owner, org, admin


async def test_a_removed_admin_cannot_let_themselves_back_in(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    owner, org, admin = await owner_admin(client, database_url)
    # Before being removed, the admin invites an address of their own, as admin.
    token = await invite(client, database_url, org, admin, "alt@example.com", ["admin"])
    r = await client.delete(f"{API}/orgs/{org}/members/{admin.user_id}", headers=owner.auth)
    assert r.status_code == 204
    alt = await person(client, database_url, "alt@example.com")
    await assert_withdrawn_at_once(client, database_url, org, alt, token, actor=owner)


async def test_a_demoted_admin_cannot_accept_their_own_admin_invitation(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    owner, org, admin = await owner_admin(client, database_url)
    token = await invite(client, database_url, org, admin, "alt@example.com", ["admin"])
    r = await client.patch(
        f"{API}/orgs/{org}/members/{admin.user_id}", json={"roles": ["member"]}, headers=owner.auth
    )
    assert r.status_code == 200, r.text
    alt = await person(client, database_url, "alt@example.com")
    await assert_withdrawn_at_once(client, database_url, org, alt, token, actor=owner)


async def test_only_what_the_inviter_can_still_grant_is_accepted(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    """Demoted to a role that still invites members but not admins: the member invitation
    stays good, the admin one is withdrawn; a disabled inviter's invitations die too."""
    owner, org, admin = await owner_admin(client, database_url)
    await recruiter(client, org, owner)
    as_admin = await invite(client, database_url, org, admin, "alt@example.com", ["admin"])
    as_member = await invite(client, database_url, org, admin, "carol@example.com")
    r = await client.patch(
        f"{API}/orgs/{org}/members/{admin.user_id}",
        json={"roles": ["Recruiter"]},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    carol = await person(client, database_url, "carol@example.com")
    r = await client.post(accept_url(as_member), headers=carol.auth)
    assert r.status_code == 200, r.text
    assert await member_roles(client, org, owner, carol.user_id) == ["member"]
    alt = await person(client, database_url, "alt@example.com")
    await assert_withdrawn_at_once(client, database_url, org, alt, as_admin, actor=owner)

    # Standing lost without the service seeing it (an account disabled in the database
    # directly): acceptance still checks, and refuses.
    dave_token = await invite(client, database_url, org, admin, "dave@example.com")
    await fetch(
        database_url,
        "UPDATE identity.users SET disabled_at = now() WHERE id = $1",
        uuid.UUID(admin.user_id),
    )
    dave = await person(client, database_url, "dave@example.com")
    await assert_withdrawn(client, database_url, org, dave, dave_token)


async def test_list_revoke_and_resend(client: AsyncTestClient[Litestar], database_url: str) -> None:
    owner, org, admin = await owner_admin(client, database_url)
    await invite(client, database_url, org, owner, "bob@example.com", ["auditor"])
    carol_token = await invite(client, database_url, org, admin, "carol@example.com")
    await invite(client, database_url, org, owner, "old@example.com")
    await fetch(
        database_url,
        "UPDATE identity.invitations SET expires_at = now() - interval '1 second' "
        "WHERE email = 'old@example.com'",
    )

    # Pending only (expired, accepted and revoked ones are not), paged by cursor.
    r = await client.get(f"{API}/orgs/{org}/invitations?limit=1", headers=admin.auth)
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["limit"] == 1
    assert first["nextCursor"]
    r = await client.get(
        f"{API}/orgs/{org}/invitations", params={"cursor": first["nextCursor"]}, headers=admin.auth
    )
    second = r.json()
    assert second["nextCursor"] is None
    items = first["items"] + second["items"]
    assert [(i["email"], i["roles"], i["invitedBy"]) for i in items] == [
        ("bob@example.com", ["auditor"], owner.user_id),
        ("carol@example.com", ["member"], admin.user_id),
    ]
    assert all(i["organisationId"] == org for i in items)
    bob_id, carol_id = (i["id"] for i in items)

    # Resend: a new link with a new expiry, the old one dead; the sender is the inviter.
    before = await invitation_row(database_url, "carol@example.com")
    await fetch(
        database_url,
        "UPDATE identity.invitations SET expires_at = now() + interval '1 minute' WHERE id = $1",
        before["id"],
    )
    r = await client.post(f"{API}/orgs/{org}/invitations/{carol_id}/resend", headers=owner.auth)
    assert r.status_code == 200, r.text
    resent = r.json()
    assert resent["id"] == carol_id
    assert resent["invitedBy"] == owner.user_id
    assert resent["roles"] == ["member"]
    after = await invitation_row(database_url, "carol@example.com")
    assert after["token_hash"] != before["token_hash"]
    assert (after["expires_at"] - after["created_at"]).total_seconds() >= 7 * 86400 - 5
    assert len(await queued_mail(database_url, "carol@example.com")) == 2
    new_token = await last_token(database_url, "carol@example.com", "invited you")
    assert new_token != carol_token
    (event,) = await outbox_events(database_url, "identity.invitation_resent")
    assert event["invitationId"] == carol_id
    assert event["actorId"] == owner.user_id
    carol = await person(client, database_url, "carol@example.com")
    r = await client.post(accept_url(carol_token), headers=carol.auth)
    assert r.status_code == 422
    assert problem(r)["code"] == "invalid_token"
    assert (await client.post(accept_url(new_token), headers=carol.auth)).status_code == 200
    # Accepted: no longer listed, and neither revocable nor resendable.
    r = await client.delete(f"{API}/orgs/{org}/invitations/{carol_id}", headers=owner.auth)
    assert r.status_code == 409
    assert problem(r)["code"] == "invitation_accepted"

    # An expired invitation comes back to life by being resent.
    old = await invitation_row(database_url, "old@example.com")
    r = await client.post(f"{API}/orgs/{org}/invitations/{old['id']}/resend", headers=owner.auth)
    assert r.status_code == 200, r.text

    # Revoke: 204, the link stops working, the event is published, gone from the list.
    bob_token = await last_token(database_url, "bob@example.com", "invited you")
    r = await client.delete(f"{API}/orgs/{org}/invitations/{bob_id}", headers=admin.auth)
    assert r.status_code == 204, r.text
    revoked = (await outbox_events(database_url, "identity.invitation_revoked"))[-1]
    assert (revoked["invitationId"], revoked["reason"]) == (bob_id, "revoked")
    assert revoked["actorId"] == admin.user_id
    bob = await person(client, database_url, "bob@example.com")
    assert (await client.post(accept_url(bob_token), headers=bob.auth)).status_code == 422
    r = await client.delete(f"{API}/orgs/{org}/invitations/{bob_id}", headers=admin.auth)
    assert r.status_code == 404
    r = await client.post(f"{API}/orgs/{org}/invitations/{bob_id}/resend", headers=owner.auth)
    assert r.status_code == 404
    r = await client.get(f"{API}/orgs/{org}/invitations", headers=owner.auth)
    assert [i["email"] for i in r.json()["items"]] == ["old@example.com"]


async def test_no_escalation_through_revoke_or_resend(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    """Someone allowed to invite, but holding less than an invitation grants, can neither
    re-arm it (resend) nor withdraw it; a resend to someone who joined meanwhile is 409."""
    owner, org, _admin = await owner_admin(client, database_url)
    member_keys = (await roles_by_name(client, org, owner))["member"]["permissions"]
    r = await client.post(
        f"{API}/orgs/{org}/roles",
        json={"name": "Recruiter", "permissions": [*member_keys, "identity.invitations.manage"]},
        headers=owner.auth,
    )
    assert r.status_code == 201
    recruiter = await join(client, database_url, org, owner, "rec@example.com", ["Recruiter"])
    await invite(client, database_url, org, owner, "boss@example.com", ["admin"])
    boss_id = str((await invitation_row(database_url, "boss@example.com"))["id"])
    for method, path in (
        ("POST", f"/orgs/{org}/invitations/{boss_id}/resend"),
        ("DELETE", f"/orgs/{org}/invitations/{boss_id}"),
    ):
        r = await client.request(method, f"{API}{path}", headers=recruiter.auth)
        assert r.status_code == 403, (method, r.text)
        assert problem(r)["code"] == "permission_not_held"
    row = await invitation_row(database_url, "boss@example.com")
    assert row["revoked_at"] is None
    assert row["invited_by"] == uuid.UUID(owner.user_id)

    token = await last_token(database_url, "boss@example.com", "invited you")
    boss = await person(client, database_url, "boss@example.com")
    await invite(client, database_url, org, owner, "boss2@example.com", ["admin"])
    boss2_id = str((await invitation_row(database_url, "boss2@example.com"))["id"])
    assert (await client.post(accept_url(token), headers=boss.auth)).status_code == 200
    # An admin who joined through an admin invitation may re-arm one.
    r = await client.post(f"{API}/orgs/{org}/invitations/{boss2_id}/resend", headers=boss.auth)
    assert r.status_code == 200
    # The address became a member meanwhile (a member's e-mail change, done directly).
    await fetch(
        database_url,
        "UPDATE identity.users SET email = 'boss2@example.com' WHERE email = 'rec@example.com'",
    )
    r = await client.post(f"{API}/orgs/{org}/invitations/{boss2_id}/resend", headers=owner.auth)
    assert r.status_code == 409
    assert problem(r)["code"] == "already_member"


async def test_invitation_paths_follow_the_tenancy_rule(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    owner, org, _admin = await owner_admin(client, database_url)
    await invite(client, database_url, org, owner, "bob@example.com")
    inv = str((await invitation_row(database_url, "bob@example.com"))["id"])
    member = await join(client, database_url, org, owner, "member@example.com")
    stranger = await person(client, database_url, "stranger@example.com")
    elsewhere = (await create_org(client, stranger, "Elsewhere"))["id"]
    paths = [
        ("GET", f"/orgs/{org}/invitations"),
        ("DELETE", f"/orgs/{org}/invitations/{inv}"),
        ("POST", f"/orgs/{org}/invitations/{inv}/resend"),
    ]
    nowhere = str(uuid.uuid4())
    for method, path in paths:
        unknown = await client.request(
            method, f"{API}{path.replace(org, nowhere)}", headers=stranger.auth
        )
        assert unknown.status_code == 404
        r = await client.request(method, f"{API}{path}", headers=stranger.auth)
        assert r.status_code == 404, (method, path)
        assert (problem(r)["code"], problem(r)["detail"]) == (
            problem(unknown)["code"],
            problem(unknown)["detail"],
        )
        r = await client.request(method, f"{API}{path}", headers=member.auth)
        assert r.status_code == 403, (method, path)
        body = problem(r)
        assert body["code"] == "permission_denied"
        assert body["extra"] == {"permission": "identity.invitations.manage"}
    # Another organisation's invitation id under the stranger's own organisation: 404.
    for method, path in paths[1:]:
        r = await client.request(
            method, f"{API}{path.replace(org, elsewhere)}", headers=stranger.auth
        )
        assert r.status_code == 404, (method, path)
        assert problem(r)["code"] == "not_found"
    r = await client.get(f"{API}/orgs/{elsewhere}/invitations", headers=stranger.auth)
    assert r.json()["items"] == []
    row = await invitation_row(database_url, "bob@example.com")
    assert row["revoked_at"] is None
    assert len(await queued_mail(database_url, "bob@example.com")) == 1


async def test_an_acceptance_waits_for_a_demotion_in_progress(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    """The inviter's roles are read ``FOR SHARE``: a demotion not yet committed holds the
    acceptance until it commits, and the acceptance then sees the demoted inviter.
    (A live server: the test client would block this loop while the request waits.)"""
    client = live_client
    owner, org, admin = await owner_admin(client, database_url)
    token = await invite(client, database_url, org, admin, "alt@example.com", ["admin"])
    alt = await person(client, database_url, "alt@example.com")
    roles = await roles_by_name(client, org, owner)
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        demotion = conn.transaction()
        await demotion.start()
        await conn.execute(
            "DELETE FROM identity.member_roles WHERE user_id = $1", uuid.UUID(admin.user_id)
        )
        await conn.execute(
            "INSERT INTO identity.member_roles (organisation_id, user_id, role_id) "
            "VALUES ($1, $2, $3)",
            uuid.UUID(org),
            uuid.UUID(admin.user_id),
            uuid.UUID(roles["member"]["id"]),
        )
        accepting = asyncio.create_task(client.post(accept_url(token), headers=alt.auth))
        deadline = time.monotonic() + 10
        while not await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ):
            assert not accepting.done(), (await accepting).text
            assert time.monotonic() < deadline, "the acceptance never waited for the demotion"
            await asyncio.sleep(0.01)
        await demotion.commit()
    finally:
        await conn.close()
    r = await accepting
    assert r.status_code == 422, r.text
    assert problem(r)["code"] == "invitation_revoked"


async def test_a_role_losing_the_right_to_invite_withdraws_its_holders_invitations(
    client: AsyncTestClient[Litestar], database_url: str, settings: Settings
) -> None:
    """A role's permissions changed, or an inviter's account disabled (in every
    organisation at once): what no longer stands is withdrawn then; invitations others
    sent stay."""
    owner, org, admin = await owner_admin(client, database_url)
    recruiter_role, member_keys = await recruiter(client, org, owner)
    rec = await join(client, database_url, org, owner, "rec@example.com", ["Recruiter"])
    by_recruiter = await invite(client, database_url, org, rec, "carol@example.com")
    by_admin = await invite(client, database_url, org, admin, "dave@example.com")
    elsewhere = (await create_org(client, admin, "Beta"))["id"]
    by_admin_elsewhere = await invite(client, database_url, elsewhere, admin, "erin@example.com")

    r = await client.patch(
        f"{API}/orgs/{org}/roles/{recruiter_role}",
        json={"permissions": member_keys},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    carol = await person(client, database_url, "carol@example.com")
    await assert_withdrawn_at_once(client, database_url, org, carol, by_recruiter, actor=owner)
    pending = await client.get(f"{API}/orgs/{org}/invitations", headers=owner.auth)
    assert [i["email"] for i in pending.json()["items"]] == ["dave@example.com"]

    # The admin's account is disabled by an operator: nothing they sent stands, anywhere.
    output = await asyncio.to_thread(_users_cli, settings, "disable", "admin@example.com")
    assert "disabled" in output.lower(), output
    dave = await person(client, database_url, "dave@example.com")
    await assert_withdrawn_at_once(client, database_url, org, dave, by_admin, actor=None)
    erin = await person(client, database_url, "erin@example.com")
    r = await client.post(accept_url(by_admin_elsewhere), headers=erin.auth)
    assert (r.status_code, problem(r)["code"]) == (422, "invalid_token")


def _users_cli(settings: Settings, *args: str) -> str:
    env = {
        "HUB_DATABASE_URL": settings.database_url or "",
        "HUB_REDIS_URL": settings.redis_url or "",
    }
    result = CliRunner().invoke(hub_main, ["users", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.output
