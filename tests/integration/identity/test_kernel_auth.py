"""The kernel's authentication as another context sees it: its own routes, the
``principal``/``optional_principal`` dependencies and the API-key extension point."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from litestar import Litestar, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.testing import AsyncTestClient

from hub.app import create_app
from hub.kernel.security import Principal
from hub.kernel.settings import Settings
from tests.integration.identity.support import bearer, signed_in
from tests.support import problem

KEY_USER = uuid.UUID("01900000-0000-7000-8000-000000000001")


@get("/test/whoami", sync_to_thread=False)
def whoami(principal: NamedDependency[Principal]) -> dict[str, str | None]:
    return {"user": str(principal.user_id), "key": str(principal.api_key_id)}


@get("/test/maybe", sync_to_thread=False)
def maybe(optional_principal: NamedDependency[Principal | None]) -> dict[str, str | None]:
    return {"user": str(optional_principal.user_id) if optional_principal else None}


@get("/test/use-keys")
async def use_keys(state: State) -> None:
    async def resolve(secret: str, client_ip: str) -> Principal | None:
        assert client_ip  # the kernel hands over the caller's address for throttling
        if secret != "hub_key_good":
            return None
        return Principal(user_id=KEY_USER, api_key_id=uuid.uuid4(), amr=("key",))

    state.kernel.security.use_api_keys(resolve)


@pytest.fixture
async def client(settings: Settings, clean_state: None) -> AsyncIterator[AsyncTestClient[Litestar]]:
    app = create_app(settings, extra_route_handlers=[whoami, maybe, use_keys], configure_logs=False)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as c:
        yield c


async def test_other_contexts_authenticate_with_the_kernel_dependencies(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    tokens = await signed_in(client, database_url, "ctx@example.com")
    r = await client.get("/test/whoami", headers=bearer(tokens["accessToken"]))
    assert r.json() == {"user": tokens["userId"], "key": "None"}
    assert (await client.get("/test/maybe")).json() == {"user": None}
    r = await client.get("/test/maybe", headers=bearer(tokens["accessToken"]))
    assert r.json() == {"user": tokens["userId"]}
    # Present but invalid credentials are an error, not an anonymous caller.
    r = await client.get("/test/maybe", headers=bearer("forged"))
    assert r.status_code == 401
    r = await client.get("/test/whoami")
    assert r.status_code == 401
    assert problem(r)["code"] == "authentication_required"


async def test_api_keys_are_refused_until_a_resolver_is_registered(
    client: AsyncTestClient[Litestar],
) -> None:
    r = await client.get("/test/whoami", headers={"X-API-Key": "hub_key_good"})
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_api_key"
    await client.get("/test/use-keys")
    for headers in ({"X-API-Key": "hub_key_good"}, {"Authorization": "ApiKey hub_key_good"}):
        r = await client.get("/test/whoami", headers=headers)
        assert r.status_code == 200
        assert r.json()["user"] == str(KEY_USER)
        assert r.json()["key"] != "None"
    r = await client.get("/test/whoami", headers={"X-API-Key": "hub_key_bad"})
    assert r.status_code == 401
