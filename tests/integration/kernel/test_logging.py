"""Structured logs: one JSON object per line in production, a request id on every line of a
request, and secrets never written."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog
from litestar import Litestar, Request, get, post
from litestar.params import JSONBody
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from hub.app import create_app
from hub.kernel.logging import configure_logging
from hub.kernel.settings import Settings
from tests.support import LiveServer


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


@post("/test/explode", sync_to_thread=False)
def explode(data: JSONBody[dict[str, str]]) -> None:
    password = data["password"]  # a local holding a secret, as real handlers have
    nested_call(password)


def nested_call(secret: str) -> None:
    raise RuntimeError("something broke deep down")


@post("/test/explode-in-sql")
async def explode_in_sql(data: JSONBody[dict[str, str]], request: Request[Any, Any, Any]) -> None:
    async with request.app.state.kernel.db.read() as conn:
        await conn.execute(text("SELECT 1 / 0 WHERE :v <> ''"), {"v": data["password"]})


@pytest.mark.parametrize("path", ["/test/explode", "/test/explode-in-sql"])
@pytest.mark.parametrize("fmt", ["console", "json"])
async def test_an_unexpected_error_is_logged_briefly_without_locals_or_body(
    settings: Settings,
    clean_state: None,
    json_logs: None,
    capfd: pytest.CaptureFixture[str],
    fmt: str,
    path: str,
) -> None:
    """Rendering a traceback with frame locals printed the request body (password
    included) and took ~2,000 lines and over a second with the event loop blocked."""
    configure_logging("INFO", fmt)
    app: Litestar = create_app(
        settings, extra_route_handlers=[explode, explode_in_sql], configure_logs=False
    )
    with LiveServer(app) as server:
        async with httpx.AsyncClient(base_url=server.url) as http:
            started = time.perf_counter()
            r = await http.post(path, json={"email": "ada@example.com", "password": "hunter2-body"})
            elapsed = time.perf_counter() - started
    assert r.status_code == 500
    err = capfd.readouterr().err
    if path == "/test/explode":
        assert "RuntimeError" in err
        assert "something broke deep down" in err  # the error itself is there…
        assert "nested_call" in err  # …with its frames
    else:
        assert "division by zero" in err  # the database's message, not the values bound
    for leak in ("hunter2-body", "ada@example.com", "secret = "):
        assert leak not in err, leak
    assert "unhandled_error" in err
    assert len(err.splitlines()) < 150, len(err.splitlines())
    assert len(err) < 20_000, len(err)
    assert elapsed < 0.5, elapsed
