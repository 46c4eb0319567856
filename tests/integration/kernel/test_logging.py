"""Structured logs: one JSON object per line in production, a request id on every line of a
request, and secrets never written."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from litestar import Litestar, get
from litestar.testing import AsyncTestClient

from hub.app import create_app
from hub.kernel.logging import configure_logging
from hub.kernel.settings import Settings


@get("/test/log", sync_to_thread=False)
def log_something() -> dict[str, str]:
    structlog.get_logger("hub.test").info("doing_work", password="hunter2", token="abc")
    return {"ok": "yes"}


@pytest.fixture
def json_logs() -> Iterator[None]:
    yield
    logging.getLogger().handlers[:] = []
    structlog.reset_defaults()


async def test_json_lines_carry_the_request_id_and_no_secrets(
    settings: Settings, clean_state: None, json_logs: None, capfd: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "json")  # after capfd is active, so the handler writes into it
    app: Litestar = create_app(settings, extra_route_handlers=[log_something], configure_logs=False)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        r = await client.get("/test/log", headers={"x-request-id": "req-42"})
    assert r.status_code == 200
    lines = [
        json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")
    ]
    work = [line for line in lines if line["event"] == "doing_work"]
    access = [line for line in lines if line["event"] == "request" and line["path"] == "/test/log"]
    assert work
    assert access
    assert work[0]["request_id"] == "req-42"
    assert access[0]["request_id"] == "req-42"
    assert access[0]["status"] == 200
    assert work[0]["password"] == "[redacted]"
    assert work[0]["token"] == "[redacted]"
    assert "hunter2" not in json.dumps(lines)
