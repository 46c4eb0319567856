"""What other contexts get from identity: the in-process facade and the OpenAPI contract."""

from __future__ import annotations

import uuid

from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.identity.api import IdentityApi, UserDisplay
from hub.identity.facade import IdentityFacade
from hub.identity.models import outbox
from hub.kernel.runtime import Kernel
from hub.kernel.store import Store
from tests.integration.identity.support import signed_in, signed_up


async def test_facade_resolves_active_users_and_display_info(
    client: AsyncTestClient[Litestar], database_url: str, kernel: Kernel
) -> None:
    alice = await signed_in(client, database_url, "alice@example.com")
    await signed_up(client, database_url, "bob@example.com", name="Bob")
    api: IdentityApi = IdentityFacade(Store(kernel.db, outbox))
    alice_id = uuid.UUID(alice["userId"])
    summary = await api.resolve_principal(alice_id)
    assert summary is not None
    assert summary.email == "alice@example.com"
    assert summary.email_verified
    assert not summary.is_platform_admin
    assert not summary.mfa_enabled
    assert await api.resolve_principal(uuid.uuid4()) is None

    stranger = uuid.uuid4()
    info = await api.display_info([alice_id, stranger, alice_id])
    assert info == {
        alice_id: UserDisplay(
            id=alice_id, display_name="Alice", email="alice@example.com", active=True
        )
    }
    assert await api.display_info([]) == {}


async def test_openapi_documents_the_identity_contract(client: AsyncTestClient[Litestar]) -> None:
    doc = (await client.get("/api/openapi.json")).json()
    paths = doc["paths"]
    for path in (
        "/api/v1/auth/register",
        "/api/v1/auth/verify-email",
        "/api/v1/auth/login",
        "/api/v1/auth/mfa/verify",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/password/forgot",
        "/api/v1/auth/password/reset",
        "/api/v1/auth/password/change",
        "/api/v1/auth/me",
        "/api/v1/auth/sessions",
        "/api/v1/auth/sessions/{session_id}",
        "/api/v1/auth/mfa/totp/setup",
        "/api/v1/auth/mfa/totp/confirm",
        "/api/v1/auth/mfa/totp",
        "/api/v1/auth/mfa/recovery-codes",
        "/.well-known/jwks.json",
    ):
        assert path in paths, path
    login = paths["/api/v1/auth/login"]["post"]
    assert login["operationId"] == "login"
    schema = login["responses"]["200"]["content"]["application/json"]["schema"]
    assert "oneOf" in schema or "anyOf" in schema
    assert paths["/api/v1/auth/me"]["get"]["security"] == [{"BearerToken": []}]
    register_body = doc["components"]["schemas"]["RegisterIn"]["properties"]
    assert set(register_body) == {"email", "password", "displayName"}
