"""Liveness and readiness against the real database and Redis."""

from __future__ import annotations

import msgspec
from litestar.testing import AsyncTestClient

from hub.app import create_app
from hub.kernel.settings import Settings
from tests.support import problem


async def test_health_and_ready(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    assert (await client.get("/health")).json() == {"status": "ok"}
    r = await client.get("/ready")
    assert r.status_code == 200
    assert r.json() == {
        "status": "ready",
        "checks": {"database": "ok", "redis": "ok"},
    }


async def test_ready_names_the_failing_part(settings: Settings, clean_state: None) -> None:
    broken = msgspec.structs.replace(settings, redis_url="redis://127.0.0.1:1/0")
    app = create_app(broken, configure_logs=False)
    async with AsyncTestClient(app=app) as client:
        r = await client.get("/ready")
        assert r.status_code == 503
        body = problem(r)
        assert body["code"] == "not_ready"
        assert body["extra"]["checks"] == {"database": "ok", "redis": "unavailable"}
        assert "redis" in body["detail"]
        # liveness stays green: the process itself is fine
        assert (await client.get("/health")).status_code == 200
