"""The reverse-proxy configuration of the split deployment sends every public route of each
context to that context's service, and no internal route anywhere: checked through a real
nginx, against the route table of each context (so a new route cannot be forgotten)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from hub.app import create_app, load_settings
from tests.e2e.nginx import nginx, nginx_skip_reason
from tests.support import free_port

pytestmark = [pytest.mark.e2e]

CONTEXTS = ("identity", "content", "communication", "workflow")
REMOTES = {
    "HUB_REMOTE_IDENTITY_URL": "http://127.0.0.1:1",
    "HUB_REMOTE_CONTENT_URL": "http://127.0.0.1:1",
    "HUB_REMOTE_COMMUNICATION_URL": "http://127.0.0.1:1",
}
SAMPLE = {"uuid": "0190f1f2-0000-7000-8000-000000000001", "int": "3", "str": "abc", "path": "x"}
#: Served by every process alike (routed to the default service), or never public.
KERNEL_PATHS = ("/internal", "/api/docs", "/api/openapi", "/health", "/ready", "/metrics")
_PARAM = re.compile(r"\{[a-z_]+:([a-z]+)\}")


def public_paths(context: str) -> set[str]:
    """Concrete request paths of every route a process serving only ``context`` adds."""
    remotes = {k: v for k, v in REMOTES.items() if context not in k.lower()}
    environ = {"HUB_CONTEXTS": context, **remotes}
    settings = load_settings(
        environ=environ,
        database_url="postgresql://x@127.0.0.1/x",
        redis_url="redis://127.0.0.1:1/0",
    )
    app = create_app(settings, configure_logs=False)
    paths = set()
    for route in app.routes:
        if route.path.startswith(KERNEL_PATHS):
            continue
        paths.add(_PARAM.sub(lambda m: SAMPLE[m.group(1)], route.path))
    return paths


class _Named(BaseHTTPRequestHandler):
    name = ""

    def _answer(self) -> None:
        body = self.server.name.encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _answer

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def echo_services() -> Iterator[dict[str, int]]:
    """One tiny HTTP server per context (and the default), answering its own name."""
    servers: dict[str, ThreadingHTTPServer] = {}
    for name in (*CONTEXTS, "default"):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Named)
        server.name = name  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers[name] = server
    try:
        yield {name: s.server_address[1] for name, s in servers.items()}
    finally:
        for server in servers.values():
            server.shutdown()
            server.server_close()


def test_the_workflow_service_alone_serves_the_pack_routes() -> None:
    pack_paths = {"/api/v1/packs", f"/api/v1/orgs/{SAMPLE['uuid']}/pack"}
    assert pack_paths <= public_paths("workflow")
    for context in ("identity", "content", "communication"):
        assert not pack_paths & public_paths(context), context


def test_every_public_route_reaches_its_contexts_service(
    echo_services: dict[str, int], tmp_path: Path
) -> None:
    reason = nginx_skip_reason()
    if reason is not None:
        pytest.skip(reason)
    upstreams = {f"HUB_{name.upper()}": f"127.0.0.1:{port}" for name, port in echo_services.items()}
    with nginx(tmp_path / "nginx", free_port(), upstreams) as base:
        wrong = []
        for context in CONTEXTS:
            for path in sorted(public_paths(context)):
                got = httpx.get(base + path, timeout=5).text
                if got != context:
                    wrong.append(f"{path}: {got} instead of {context}")
        assert wrong == []
        # Domain packs are applied where workflow runs (the engine calls the other
        # contexts' configuration interfaces remotely), and reach that service.
        org = SAMPLE["uuid"]
        assert httpx.get(f"{base}/api/v1/packs", timeout=5).text == "workflow"
        assert httpx.put(f"{base}/api/v1/orgs/{org}/pack", timeout=5).text == "workflow"
        assert httpx.get(f"{base}/api/v1/orgs/{org}/packs-x", timeout=5).text == "identity"
        # Internal calls are never routed from outside; the rest goes to the default.
        assert httpx.post(base + "/internal/v1/identity/membership").status_code == 404
        assert httpx.get(base + "/health").text == "default"
        assert httpx.get(base + "/api/openapi.json").text == "default"
