"""What a caller sees when the other service is slow, down or wrong: retries for reads only,
a circuit breaker that fails fast and recovers, 503 problem+json for the public client; and
the internal endpoints themselves: service token required, strict arguments, out of the
public OpenAPI document, correlation ids carried across."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.app import create_app, load_settings
from hub.identity.api import IdentityApi, IdentityAuthentication
from hub.kernel.clock import MovableClock
from hub.kernel.errors import DependencyUnavailable
from hub.kernel.remote.interface import describe
from hub.kernel.remote.tokens import ServiceTokens, service_key
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from tests.integration.identity.support import API, bearer, signed_in
from tests.integration.split.support import adapter, remote_client
from tests.support import LiveServer, free_port, problem

IDENTITY_API = describe("identity", IdentityApi, "identity_api")
AUTHENTICATION = describe("identity", IdentityAuthentication, "identity_authentication")


class Partition(httpx.AsyncHTTPTransport):
    """A real HTTP transport with a switch that cuts the network (connection refused),
    counting the attempts that reached it."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.attempts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        return await super().handle_async_request(request)


def service_headers(settings: Settings) -> dict[str, str]:
    token = ServiceTokens(service_key(settings.secret_key, settings.service_key)).token()
    return {"authorization": f"Service {token}"}


async def test_reads_retry_writes_do_not_and_the_breaker_opens_then_recovers(
    live_server: LiveServer, live_client: httpx.AsyncClient, database_url: str, kernel: Kernel
) -> None:
    alice = await signed_in(live_client, database_url, "alice@example.com")
    alice_id = uuid.UUID(alice["userId"])
    clock = MovableClock()
    network = Partition()
    client = remote_client(
        kernel,
        "identity",
        live_server.url,
        clock=clock,
        transport=network,
        retries=2,
        breaker_failures=3,
        breaker_reset_s=30,
    )
    api: IdentityApi = adapter(IDENTITY_API, client)
    auth: IdentityAuthentication = adapter(AUTHENTICATION, client)
    summary = await api.resolve_principal(alice_id)
    assert summary is not None
    assert summary.email == "alice@example.com"
    assert network.attempts == 1

    network.down = True
    network.attempts = 0
    with pytest.raises(DependencyUnavailable) as err:
        await api.resolve_principal(alice_id)  # a read: tried 1 + 2 times
    assert err.value.status_code == 503
    assert err.value.extra == {"dependency": "identity service"}
    assert err.value.headers["Retry-After"]
    assert network.attempts == 3
    # Jittered exponential backoff between them: up to 50 ms, then up to 100 ms.
    waits = client.sleep.delays
    assert len(waits) == 2
    assert 0 <= waits[0] <= 0.05
    assert 0 <= waits[1] <= 0.1
    assert await client.state() == "opened"  # three consecutive failures

    network.attempts = 0
    network.down = False  # back, but the breaker is open: no attempt until the reset period
    with pytest.raises(DependencyUnavailable):
        await api.resolve_principal(alice_id)
    with pytest.raises(DependencyUnavailable):
        await auth.api_key_holder("hub_x", "203.0.113.9")
    assert network.attempts == 0

    clock.advance(seconds=31)  # half-open: one trial call, which succeeds and closes it
    assert await api.resolve_principal(alice_id) == summary
    assert network.attempts == 1
    assert await client.state() == "closed"

    network.down = True
    network.attempts = 0
    with pytest.raises(DependencyUnavailable):
        await auth.api_key_holder("hub_x", "203.0.113.9")  # a write: tried once
    assert network.attempts == 1


async def test_the_public_client_gets_503_problem_json_when_identity_is_unreachable(
    settings: Settings, client: AsyncTestClient[Litestar], database_url: str
) -> None:
    tokens = await signed_in(client, database_url, "bob@example.com")
    split = load_settings(
        environ={
            "HUB_CONTEXTS": "content,communication,workflow",
            "HUB_REMOTE_IDENTITY_URL": f"http://127.0.0.1:{free_port()}",  # nobody listens
            "HUB_REMOTE_TIMEOUT_MS": "200",
            "HUB_REMOTE_RETRIES": "0",
        },
        env="test",
        data_dir=settings.data_dir,
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        log_level="WARNING",
    )
    app = create_app(split, configure_logs=False)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as other:
        r = await other.get(f"{API}/documents", headers=bearer(tokens["accessToken"]))
        assert r.status_code == 503, r.text
        body = problem(r)  # type: ignore[arg-type]
        assert body["code"] == "dependency_unavailable"
        assert body["extra"] == {"dependency": "identity service"}
        assert r.headers["retry-after"]
        # Identity's own routes are not served here at all.
        assert (await other.post(f"{API}/auth/login", json={})).status_code == 404


async def test_internal_endpoints_need_a_service_token_and_exact_arguments(
    settings: Settings, client: AsyncTestClient[Litestar], database_url: str
) -> None:
    alice = await signed_in(client, database_url, "carol@example.com")
    path = "/internal/v1/identity/resolve_principal"
    body = {"user_id": alice["userId"]}
    refused = await client.post(path, json=body)
    assert refused.status_code == 401
    assert problem(refused)["code"] == "invalid_service_token"  # type: ignore[arg-type]
    forged = await client.post(path, json=body, headers={"authorization": "Service 1.hub.x"})
    assert forged.status_code == 401

    headers = service_headers(settings)
    r = await client.post(path, json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["email"] == "carol@example.com"

    wrong = await client.post(path, json={"user_id": "nope"}, headers=headers)
    assert wrong.status_code == 400
    assert problem(wrong)["code"] == "malformed_call"  # type: ignore[arg-type]
    extra = await client.post(path, json={**body, "admin": True}, headers=headers)
    assert extra.status_code == 400
    unknown = await client.post("/internal/v1/identity/drop_tables", json={}, headers=headers)
    assert unknown.status_code == 404
    assert problem(unknown)["code"] == "unknown_operation"  # type: ignore[arg-type]


async def test_the_trace_id_of_the_caller_becomes_the_request_id(
    settings: Settings, client: AsyncTestClient[Litestar]
) -> None:
    trace = uuid.uuid4().hex
    r = await client.post(
        "/internal/v1/identity/display_info",
        json={"user_ids": []},
        headers={**service_headers(settings), "traceparent": f"00-{trace}-{'1' * 16}-01"},
    )
    assert r.status_code == 200
    assert r.json() == {}
    assert r.headers["x-request-id"] == trace
    # An explicit X-Request-ID wins; a malformed traceparent is ignored.
    r = await client.get("/health", headers={"x-request-id": "abc", "traceparent": "00-zz"})
    assert r.headers["x-request-id"] == "abc"


async def test_internal_api_is_out_of_the_public_document_and_has_its_own(
    settings: Settings, client: AsyncTestClient[Litestar]
) -> None:
    public = (await client.get("/api/openapi.json")).json()
    assert not [p for p in public["paths"] if p.startswith("/internal")]
    assert (await client.get("/internal/v1/openapi.json")).status_code == 401
    r = await client.get("/internal/v1/openapi.json", headers=service_headers(settings))
    assert r.status_code == 200
    doc: dict[str, Any] = msgspec.json.decode(r.content)
    membership = doc["paths"]["/internal/v1/identity/membership"]["post"]
    assert membership["x-idempotent"] is True
    assert doc["paths"]["/internal/v1/communication/notify"]["post"]["x-idempotent"] is False
    assert doc["paths"]["/internal/v1/content/set_metadata"]["post"]["operationId"] == (
        "content.set_metadata"
    )
    params = membership["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    name = params.rsplit("/", 1)[-1]
    assert set(doc["components"]["schemas"][name]["required"]) == {
        "organisation_id",
        "user_id",
        "api_key_id",
    }
