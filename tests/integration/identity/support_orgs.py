"""Helpers for the organisation tests: people, organisations, invitations, API keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.integration.identity.support import (
    API,
    bearer,
    last_token,
    signed_in,
)


@dataclass
class Person:
    email: str
    user_id: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return bearer(self.token)


async def person(client: Any, database_url: str, email: str) -> Person:
    """A verified, signed-in user."""
    tokens = await signed_in(client, database_url, email)
    return Person(email=email, user_id=tokens["userId"], token=tokens["accessToken"])


async def create_org(client: Any, owner: Person, name: str = "Acme") -> dict[str, Any]:
    r = await client.post(f"{API}/orgs", json={"name": name}, headers=owner.auth)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def invite(
    client: Any, database_url: str, org_id: str, inviter: Person, email: str, roles: Any = None
) -> str:
    """Invite ``email`` and return the token from the e-mailed link."""
    body: dict[str, Any] = {"email": email}
    if roles is not None:
        body["roles"] = roles
    r = await client.post(f"{API}/orgs/{org_id}/invitations", json=body, headers=inviter.auth)
    assert r.status_code == 201, r.text
    return await last_token(database_url, email.strip().lower(), "invited you")


async def join(
    client: Any,
    database_url: str,
    org_id: str,
    inviter: Person,
    email: str,
    roles: Any = None,
) -> Person:
    """A new user who accepted an invitation to the organisation."""
    member = await person(client, database_url, email)
    token = await invite(client, database_url, org_id, inviter, email, roles)
    r = await client.post(f"{API}/invitations/{token}/accept", headers=member.auth)
    assert r.status_code == 200, r.text
    return member


async def roles_by_name(client: Any, org_id: str, who: Person) -> dict[str, dict[str, Any]]:
    r = await client.get(f"{API}/orgs/{org_id}/roles", headers=who.auth)
    assert r.status_code == 200, r.text
    return {role["name"]: role for role in r.json()["items"]}


async def member_roles(client: Any, org_id: str, who: Person, user_id: str) -> list[str]:
    r = await client.get(f"{API}/orgs/{org_id}/members", headers=who.auth)
    assert r.status_code == 200, r.text
    (member,) = [m for m in r.json()["items"] if m["userId"] == user_id]
    return sorted(role["name"] for role in member["roles"])


async def api_key(
    client: Any, who: Person, permissions: list[str], organisation_id: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "robot", "permissions": permissions}
    if organisation_id is not None:
        body["organisationId"] = organisation_id
    r = await client.post(f"{API}/auth/api-keys", json=body, headers=who.auth)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created
