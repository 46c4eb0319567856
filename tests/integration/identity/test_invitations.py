"""Invitations: e-mailed single-use links for one address, expiry, reuse, superseding,
already-members, idempotent sending and throttled token guessing."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.kernel.mail import Mailbox
from hub.kernel.settings import Settings
from tests.integration.identity.support import API, fetch, link_token, queued_mail
from tests.integration.identity.support import events as outbox_events
from tests.integration.identity.support_orgs import (
    create_org,
    invite,
    member_roles,
    person,
)
from tests.support import problem


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(ip_lockout_threshold=6)


def accept_url(token: str) -> str:
    return f"{API}/invitations/{token}/accept"


async def test_only_the_invited_address_can_accept_once(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = await create_org(client, owner, "Acme")
    r = await client.post(
        f"{API}/orgs/{org['id']}/invitations",
        json={"email": "  Bob@Example.COM ", "roles": ["auditor"]},
        headers=owner.auth,
    )
    assert r.status_code == 201, r.text
    sent = r.json()
    assert sent["email"] == "bob@example.com"
    assert sent["roles"] == ["auditor"]
    assert "token" not in sent
    (mail,) = await queued_mail(database_url, "bob@example.com")
    assert mail["subject"] == "Alice invited you to Acme on Hub"
    assert "Acme" in mail["text"]
    assert "auditor" in mail["text"]
    token = link_token(mail)
    assert token.startswith("hub_inv_")
    (event,) = await outbox_events(database_url, "identity.invitation_sent")
    assert event["email"] == "bob@example.com"
    # Stored hashed: the token itself is nowhere in the table.
    rows = await fetch(database_url, "SELECT * FROM identity.invitations")
    assert token.encode() not in b"".join(str(dict(row)).encode() for row in rows)

    eve = await person(client, database_url, "eve@example.com")
    r = await client.post(accept_url(token), headers=eve.auth)
    assert r.status_code == 403
    assert problem(r)["code"] == "invitation_email_mismatch"
    assert (await client.get(f"{API}/orgs/{org['id']}", headers=eve.auth)).status_code == 404

    assert (await client.post(accept_url(token))).status_code == 401
    bob = await person(client, database_url, "bob@example.com")
    r = await client.post(accept_url(token), headers=bob.auth)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "organisationId": org["id"],
        "organisationName": "Acme",
        "roles": ["auditor"],
    }
    assert await member_roles(client, org["id"], owner, bob.user_id) == ["auditor"]
    added = (await outbox_events(database_url, "identity.member_added"))[-1]
    assert added["userId"] == bob.user_id
    assert added["via"] == "invitation"

    r = await client.post(accept_url(token), headers=bob.auth)
    assert r.status_code == 422
    assert problem(r)["code"] == "invalid_token"


async def test_expired_superseded_and_unknown_invitations_are_refused(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    bob = await person(client, database_url, "bob@example.com")

    expired = await invite(client, database_url, org, owner, "bob@example.com")
    await fetch(
        database_url, "UPDATE identity.invitations SET expires_at = now() - interval '1 second'"
    )
    r = await client.post(accept_url(expired), headers=bob.auth)
    assert r.status_code == 422
    assert problem(r)["code"] == "invalid_token"

    older = await invite(client, database_url, org, owner, "bob@example.com")
    newer = await invite(client, database_url, org, owner, "bob@example.com")
    assert older != newer
    assert (await client.post(accept_url(older), headers=bob.auth)).status_code == 422
    assert (await client.post(accept_url("hub_inv_made-up"), headers=bob.auth)).status_code == 422
    assert (await client.post(accept_url(newer), headers=bob.auth)).status_code == 200


async def test_members_cannot_be_invited_again(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    r = await client.post(
        f"{API}/orgs/{org}/invitations", json={"email": "OWNER@example.com"}, headers=owner.auth
    )
    assert r.status_code == 409
    assert problem(r)["code"] == "already_member"

    bob = await person(client, database_url, "bob@example.com")
    first = await invite(client, database_url, org, owner, "bob@example.com")
    # A second invitation from another organisation's point of view is independent...
    other = (await create_org(client, owner, "Other"))["id"]
    second = await invite(client, database_url, other, owner, "bob@example.com")
    assert (await client.post(accept_url(first), headers=bob.auth)).status_code == 200
    assert (await client.post(accept_url(second), headers=bob.auth)).status_code == 200
    r = await client.post(
        f"{API}/orgs/{org}/invitations", json={"email": "bob@example.com"}, headers=owner.auth
    )
    assert problem(r)["code"] == "already_member"

    for bad in ({"email": "not an address"}, {"email": "x@example.com", "roles": ["nope"]}):
        r = await client.post(f"{API}/orgs/{org}/invitations", json=bad, headers=owner.auth)
        assert r.status_code == 422, bad


async def test_a_retried_invitation_is_sent_once(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    headers = {**owner.auth, "Idempotency-Key": "invite-bob"}
    body = {"email": "bob@example.com"}
    first = await client.post(f"{API}/orgs/{org}/invitations", json=body, headers=headers)
    again = await client.post(f"{API}/orgs/{org}/invitations", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert len(await queued_mail(database_url, "bob@example.com")) == 1
    r = await client.post(
        f"{API}/orgs/{org}/invitations", json={"email": "carol@example.com"}, headers=headers
    )
    assert r.status_code == 422
    assert problem(r)["code"] == "idempotency_key_reused"


async def test_guessing_invitation_tokens_locks_the_address(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    bob = await person(client, database_url, "bob@example.com")
    token = await invite(client, database_url, org, owner, "bob@example.com")
    for _ in range(6):
        r = await client.post(accept_url(f"hub_inv_{uuid.uuid4().hex}"), headers=bob.auth)
        assert r.status_code == 422
    # Locked: even the right token is refused, with the same answer.
    r = await client.post(accept_url(token), headers=bob.auth)
    assert r.status_code == 422
    assert problem(r)["code"] == "invalid_token"
    locks = await outbox_events(database_url, "identity.login_locked")
    assert [lock["scope"] for lock in locks] == ["ip"]
    assert (await client.get(f"{API}/orgs/{org}", headers=bob.auth)).status_code == 404


async def test_the_invitation_mail_arrives_and_its_link_works(
    client: AsyncTestClient[Litestar], database_url: str, events: Any, mailbox: Mailbox
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = await create_org(client, owner, "Acme <Labs>")
    r = await client.post(
        f"{API}/orgs/{org['id']}/invitations",
        json={"email": "bob@example.com"},
        headers=owner.auth,
    )
    assert r.status_code == 201
    await events.drain()
    (mail,) = mailbox.list(to="bob@example.com")
    assert mail.subject == "Alice invited you to Acme <Labs> on Hub"
    assert mail.html is not None
    assert "Acme &lt;Labs&gt;" in mail.html
    (link,) = mail.links()
    assert link.startswith("http://127.0.0.1:8000/accept-invitation?token=hub_inv_")
    bob = await person(client, database_url, "bob@example.com")
    token = parse_qs(urlsplit(link).query)["token"][0]
    assert (await client.post(accept_url(token), headers=bob.auth)).status_code == 200


async def test_an_error_body_never_echoes_the_invitation_token(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    """The access log redacts tokens in paths; the problem's ``instance`` must too, or a
    token (valid for another address, or expired) ends up in client logs and bug reports."""
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    bob = await person(client, database_url, "bob@example.com")
    real = await invite(client, database_url, org, owner, "carol@example.com")
    made_up = "hub_inv_" + "x" * 43
    for token, status in ((made_up, 422), (real, 403)):
        r = await client.post(accept_url(token), headers=bob.auth)
        assert r.status_code == status, r.text
        assert token not in r.text
        assert problem(r)["instance"] == f"{API}/invitations/[redacted]/accept"
    # Anonymous: refused before any lookup, still redacted.
    r = await client.post(accept_url(real))
    assert r.status_code == 401
    assert real not in r.text
