"""One contract, two implementations: what other contexts get from identity is the same from
the in-process facade and from the remote adapter talking to a real ``hub run --contexts
identity`` process (its internal endpoints, service token, msgspec on the wire)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.app import context_modules
from hub.identity.api import ApiKeyHolder, IdentityApi, IdentityAuthentication, UserDisplay
from hub.identity.facade import IdentityFacade
from hub.identity.models import outbox
from hub.kernel.remote.interface import describe
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.kernel.store import Store
from hub.kernel.wiring import assemble
from tests.integration.identity.support import API
from tests.integration.identity.support_orgs import api_key, create_org, join, person
from tests.integration.split.support import adapter, hub_process, remote_client

pytestmark = [pytest.mark.slow]

IDENTITY_API = describe("identity", IdentityApi, "identity_api")
AUTHENTICATION = describe("identity", IdentityAuthentication, "identity_authentication")


@pytest.fixture(scope="module")
def identity_service(base_settings: Settings) -> Iterator[str]:
    """Base URL of a second process serving identity alone (same database and Redis)."""
    with hub_process(base_settings, "identity") as (_, base):
        yield base


@pytest.fixture(params=["facade", "remote"])
def implementation(request: pytest.FixtureRequest, kernel: Kernel, app: Litestar) -> str:
    return str(request.param)


def identity_api(kind: str, kernel: Kernel, request: pytest.FixtureRequest) -> IdentityApi:
    if kind == "facade":
        return IdentityFacade(Store(kernel.db, outbox))
    base = request.getfixturevalue("identity_service")
    api: IdentityApi = adapter(IDENTITY_API, remote_client(kernel, "identity", base))
    return api


def authentication(
    kind: str, kernel: Kernel, app: Litestar, request: pytest.FixtureRequest
) -> IdentityAuthentication:
    if kind == "facade":
        assemble(kernel, context_modules())  # this kernel's own services, on this loop
        found: IdentityAuthentication = kernel.services["identity_authentication"]
        return found
    base = request.getfixturevalue("identity_service")
    remote: IdentityAuthentication = adapter(
        AUTHENTICATION, remote_client(kernel, "identity", base)
    )
    return remote


async def test_users_resolve_and_display_alike(
    implementation: str,
    request: pytest.FixtureRequest,
    client: AsyncTestClient[Litestar],
    database_url: str,
    kernel: Kernel,
) -> None:
    api = identity_api(implementation, kernel, request)
    alice = await person(client, database_url, "alice@example.com")
    alice_id = uuid.UUID(alice.user_id)
    summary = await api.resolve_principal(alice_id)
    assert summary is not None
    assert summary.id == alice_id
    assert summary.email == "alice@example.com"
    assert summary.email_verified
    assert await api.resolve_principal(uuid.uuid4()) is None
    info = await api.display_info([alice_id, uuid.uuid4(), alice_id])
    assert info == {
        alice_id: UserDisplay(
            id=alice_id, display_name="Alice", email="alice@example.com", active=True
        )
    }
    assert await api.display_info([]) == {}


async def test_memberships_permissions_and_holders_alike(
    implementation: str,
    request: pytest.FixtureRequest,
    client: AsyncTestClient[Litestar],
    database_url: str,
    kernel: Kernel,
) -> None:
    api = identity_api(implementation, kernel, request)
    owner = await person(client, database_url, "owner@example.com")
    org_id = (await create_org(client, owner))["id"]
    auditor = await join(client, database_url, org_id, owner, "aud@example.com", ["auditor"])
    member = await join(client, database_url, org_id, owner, "mem@example.com")
    outsider = await person(client, database_url, "out@example.com")
    org = uuid.UUID(org_id)
    ids = {p.email: uuid.UUID(p.user_id) for p in (owner, auditor, member, outsider)}

    mine = await api.membership(org, ids["owner@example.com"], api_key_id=None)
    assert mine is not None
    assert mine.is_owner
    assert mine.allows("content.documents.delete")
    assert await api.membership(org, ids["out@example.com"], api_key_id=None) is None
    assert await api.membership(uuid.uuid4(), ids["owner@example.com"], api_key_id=None) is None
    assert await api.has_permission(
        org, ids["aud@example.com"], "content.audit.read", api_key_id=None
    )
    assert not await api.has_permission(
        org, ids["mem@example.com"], "content.audit.read", api_key_id=None
    )
    assert await api.members_with_permission(org, "content.audit.read") == sorted(
        [ids["owner@example.com"], ids["aud@example.com"]]
    )
    assert await api.members_with_role(org, "Auditor") == [ids["aud@example.com"]]
    assert await api.members_with_role(org, "nonexistent") == []
    assert sorted(await api.members_of(org)) == sorted(
        ids[e] for e in ("owner@example.com", "aud@example.com", "mem@example.com")
    )
    assert await api.organisations_of(ids["mem@example.com"]) == [org]
    assert await api.organisations_of(ids["out@example.com"]) == []
    assert {r.builtin for r in await api.roles_of(org)} >= {"owner", "admin", "member", "auditor"}

    created = await api_key(client, owner, ["identity.org.read"])
    key_id = uuid.UUID(created["id"])
    scoped = await api.membership(org, ids["owner@example.com"], api_key_id=key_id)
    assert scoped is not None
    assert scoped.scopes == frozenset({"identity.org.read"})
    assert not scoped.allows("identity.org.update")
    await client.delete(f"{API}/auth/api-keys/{created['id']}", headers=owner.auth)
    assert await api.membership(org, ids["owner@example.com"], api_key_id=key_id) is None


async def test_api_keys_and_verification_keys_alike(
    implementation: str,
    request: pytest.FixtureRequest,
    client: AsyncTestClient[Litestar],
    app: Litestar,
    database_url: str,
    kernel: Kernel,
) -> None:
    auth = authentication(implementation, kernel, app, request)
    owner = await person(client, database_url, "keys@example.com")
    created: dict[str, Any] = await api_key(client, owner, ["identity.org.read"])
    holder = await auth.api_key_holder(created["key"], "203.0.113.7")
    assert holder == ApiKeyHolder(
        user_id=uuid.UUID(owner.user_id), api_key_id=uuid.UUID(created["id"])
    )
    assert await auth.api_key_holder("hub_not-a-key", "203.0.113.7") is None
    keys = await auth.verification_keys()
    jwks = (await client.get("/.well-known/jwks.json")).json()["keys"]
    assert {k["kid"] for k in keys} == {k["kid"] for k in jwks}
