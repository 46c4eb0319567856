"""The HTTP conventions every endpoint inherits: problem+json, limits, headers, docs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest
from litestar import Litestar, get, post
from litestar.params import JSONBody
from litestar.testing import AsyncTestClient

from hub.app import create_app
from hub.kernel.settings import Settings
from hub.kernel.structs import Schema
from tests.support import LiveServer, problem


class Address(Schema):
    city: str


class Echo(Schema):
    display_name: str
    count: int


class Resident(Schema):
    address: Address


@post("/test/echo", sync_to_thread=False)
def echo(data: JSONBody[Echo]) -> Echo:
    return data


@post("/test/nested", sync_to_thread=False)
def nested(data: JSONBody[Resident]) -> Resident:
    return data


@get("/test/boom", sync_to_thread=False)
def boom() -> None:
    raise RuntimeError("SELECT password FROM identity.users -- /srv/hub/secret.py")


@pytest.fixture
async def client(settings: Settings, clean_state: None) -> AsyncIterator[AsyncTestClient[Litestar]]:
    small = msgspec.structs.replace(
        settings, max_body_bytes=1024, cors_origins=("https://portal.example",)
    )
    app = create_app(small, extra_route_handlers=[echo, nested, boom], configure_logs=False)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as c:
        yield c


async def test_unknown_path_is_problem_404(client: AsyncTestClient[Litestar]) -> None:
    for path in ("/nope", "/api/v1/nope", "/api/nope"):
        r = await client.get(path)
        assert r.status_code == 404, path
        body = problem(r)
        assert body["code"] == "not_found"
        assert body["instance"] == path
        assert body["requestId"] == r.headers["x-request-id"]


async def test_wrong_method_is_problem_405(client: AsyncTestClient[Litestar]) -> None:
    r = await client.delete("/health")
    assert r.status_code == 405
    assert problem(r)["code"] == "method_not_allowed"


async def test_malformed_json_is_400_naming_the_problem(client: AsyncTestClient[Litestar]) -> None:
    r = await client.post(
        "/test/echo", content=b'{"displayName": "x",', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    body = problem(r)
    assert body["code"] == "malformed_body"
    assert "json" in body["detail"].lower()


async def test_validation_errors_list_each_field(client: AsyncTestClient[Litestar]) -> None:
    r = await client.post("/test/echo", json={"displayName": 5})
    assert r.status_code == 400
    body = problem(r)
    assert body["code"] == "validation_failed"
    fields = {e["field"] for e in body["errors"]}
    assert fields & {"displayName", "count"}, body
    ok = await client.post("/test/echo", json={"displayName": "Ada", "count": 2})
    assert ok.status_code == 201
    assert ok.json() == {"displayName": "Ada", "count": 2}


async def test_a_missing_field_is_named(client: AsyncTestClient[Litestar]) -> None:
    """Not "data" (the body as a whole): the client learns which field to add."""
    r = await client.post("/test/echo", json={"displayName": "Ada"})
    assert r.status_code == 400
    (error,) = problem(r)["errors"]
    assert error == {
        "field": "count",
        "message": "Object missing required field `count`",
        "source": "body",
    }
    inner = await client.post("/test/nested", json={"address": {}})
    assert inner.status_code == 400
    assert [e["field"] for e in problem(inner)["errors"]] == ["address.city"]


async def test_oversized_body_is_413_with_content_length(client: AsyncTestClient[Litestar]) -> None:
    payload = b'{"displayName": "' + b"x" * 5000 + b'", "count": 1}'
    r = await client.post(
        "/test/echo", content=payload, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert problem(r)["code"] == "payload_too_large"


async def test_unexpected_error_reveals_nothing(client: AsyncTestClient[Litestar]) -> None:
    r = await client.get("/test/boom")
    assert r.status_code == 500
    body = problem(r)
    assert body["code"] == "internal_error"
    for leak in ("SELECT", "password", "secret.py", "RuntimeError", "Traceback", "/srv"):
        assert leak not in r.text


async def test_security_headers_and_request_id(client: AsyncTestClient[Litestar]) -> None:
    r = await client.get("/health", headers={"x-request-id": "abc-123"})
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert r.headers["x-request-id"] == "abc-123"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in r.headers["content-security-policy"]
    forged = await client.get("/health", headers={"x-request-id": "bad id\nwith newline"})
    assert forged.headers["x-request-id"] != "bad id\nwith newline"


async def test_cors_only_for_configured_origins(client: AsyncTestClient[Litestar]) -> None:
    allowed = await client.options(
        "/api/v1/anything",
        headers={"origin": "https://portal.example", "access-control-request-method": "POST"},
    )
    assert allowed.headers.get("access-control-allow-origin") == "https://portal.example"
    denied = await client.get("/health", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in denied.headers


async def test_cors_exposes_the_headers_clients_read(client: AsyncTestClient[Litestar]) -> None:
    """A cross-origin script sees only listed headers: a replayed write must be visible."""
    r = await client.get("/health", headers={"origin": "https://portal.example"})
    exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
    assert {
        "idempotent-replayed",
        "retry-after",
        "x-request-id",
        "location",
        "ratelimit",
        "ratelimit-policy",
    } <= exposed


async def test_unknown_host_is_refused(client: AsyncTestClient[Litestar]) -> None:
    r = await client.get("/health", headers={"host": "evil.example"})
    assert r.status_code == 400
    assert problem(r)["code"] == "invalid_host"
    assert (await client.get("/health", headers={"host": "localhost:8000"})).status_code == 200


async def test_openapi_and_docs(client: AsyncTestClient[Litestar]) -> None:
    spec = await client.get("/api/openapi.json")
    assert spec.status_code == 200
    doc = spec.json()
    assert doc["openapi"].startswith("3.1")
    assert "/health" in doc["paths"]
    assert "/ready" in doc["paths"]
    docs = await client.get("/api/docs")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]


async def test_metrics_are_prometheus_text(client: AsyncTestClient[Litestar]) -> None:
    def ready_count(text: str) -> float:
        prefix = 'hub_requests_total{method="GET",path="/ready",status_code="200"} '
        lines = [ln for ln in text.splitlines() if ln.startswith(prefix)]
        return float(lines[0][len(prefix) :]) if lines else 0.0

    before = ready_count((await client.get("/metrics")).text)
    assert (await client.get("/ready")).status_code == 200
    await client.get("/ready")
    await client.get("/nope")
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert ready_count(r.text) == before + 2  # per route template and status
    assert 'hub_request_duration_seconds_bucket{le="0.005",method="GET",path="/ready"' in r.text
    assert 'path="/nope"' not in r.text  # unmatched paths are not a label value
    assert 'path="/health"' not in r.text  # opted out


async def test_oversized_body_is_413_without_content_length(
    settings: Settings, clean_state: None
) -> None:
    """Chunked upload (no Content-Length) through a real uvicorn: counted as it streams."""
    small = msgspec.structs.replace(settings, max_body_bytes=1024)
    app = create_app(small, extra_route_handlers=[echo], configure_logs=False)

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"displayName": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'", "count": 1}'

    with LiveServer(app) as server:
        async with httpx.AsyncClient(base_url=server.url) as http:
            r = await http.post(
                "/test/echo", content=chunks(), headers={"content-type": "application/json"}
            )
            assert "content-length" not in r.request.headers
            assert r.request.headers["transfer-encoding"] == "chunked"
            assert r.status_code == 413, r.text
            assert problem(r)["code"] == "payload_too_large"
            small_ok = await http.post("/test/echo", json={"displayName": "a", "count": 1})
            assert small_ok.status_code == 201
