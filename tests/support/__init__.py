"""Helpers shared by the test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import msgspec
import uvicorn
from litestar import Litestar


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """A real uvicorn serving the app on a loopback port, in a background thread.

    ``port``: a port chosen beforehand (e.g. so the app's ``HUB_PUBLIC_URL`` names it);
    ``http``: uvicorn's HTTP parser (``auto``, ``h11``, ``httptools``)."""

    def __init__(self, app: Litestar, port: int | None = None, *, http: str = "auto") -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=self.port,
                log_config=None,
                lifespan="on",
                http=http,  # type: ignore[arg-type]
                # Longer than any pause of a test between two requests (draining a worker
                # on a loaded machine): with uvicorn's 5 s, the server may close a pooled
                # connection just as the client reuses it (an httpx ReadError).
                timeout_keep_alive=120,
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("live server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def problem(response: httpx.Response) -> dict[str, Any]:
    """Assert a response is RFC 9457 problem+json and return its body."""
    assert response.headers["content-type"].startswith("application/problem+json"), (
        response.headers.get("content-type"),
        response.text,
    )
    body = msgspec.json.decode(response.content)
    for key in ("type", "title", "status", "detail", "code"):
        assert key in body, (key, body)
    assert body["status"] == response.status_code
    return body  # type: ignore[no-any-return]
