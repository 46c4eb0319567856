"""HTTP hardening applied to every response: security headers, CORS and allowed hosts."""

from __future__ import annotations

import msgspec
from litestar.config.cors import CORSConfig
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, Scope, Send

from hub.kernel.errors import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE, Problem
from hub.kernel.settings import Settings

_API_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
#: JSON answers never need to run anything. The docs page (hub.kernel.docs) runs the hub's
#: own script bundle and nothing else: no inline script, no other origin; styles may be
#: inline (the bundle injects its stylesheet), images and fonts come as data: URIs.
_API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
_DOCS_CSP = (
    b"content-security-policy",
    b"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    b"base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
)
_HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


class SecurityHeadersMiddleware:
    """Pure ASGI (no per-request objects) so it costs next to nothing on the hot path."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        extra = list(_API_HEADERS)
        extra.append(_DOCS_CSP if scope["path"].startswith("/api/docs") else _API_CSP)
        if self.hsts:
            extra.append(_HSTS)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", ())}
                message["headers"] = [
                    *message.get("headers", ()),
                    *(h for h in extra if h[0] not in present),
                ]
            await send(message)

        await self.app(scope, receive, send_wrapper)


def cors_config(settings: Settings) -> CORSConfig | None:
    """CORS only for the origins listed in ``HUB_CORS_ORIGINS``; none means same-origin only."""
    if not settings.cors_origins:
        return None
    return CORSConfig(
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=[
            "Authorization",
            "Content-Type",
            "Idempotency-Key",
            "X-API-Key",
            "X-Request-ID",
        ],
        expose_headers=[
            "X-Request-ID",
            "Retry-After",
            "Location",
            "RateLimit",
            "RateLimit-Policy",
            # A browser client must see it to tell a replayed write from a new one.
            "Idempotent-Replayed",
        ],
        allow_credentials=True,
        max_age=600,
    )


class AllowedHostsMiddleware:
    """Refuse requests whose Host is not listed in ``HUB_ALLOWED_HOSTS`` (host-header attacks).

    Ports are ignored; ``*.example.com`` matches subdomains; ``*`` disables the check.
    Answers problem+json like every other error, before any routing happens.
    """

    def __init__(self, app: ASGIApp, *, allowed: tuple[str, ...]) -> None:
        self.app = app
        self.any = "*" in allowed
        self.exact = frozenset(h.lower() for h in allowed if not h.startswith("*."))
        self.suffixes = tuple(h[1:].lower() for h in allowed if h.startswith("*."))

    def allows(self, host: str) -> bool:
        if host.startswith("["):
            name = host.split("]", 1)[0] + "]"
        else:
            name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        name = name.lower()
        return name in self.exact or (bool(self.suffixes) and name.endswith(self.suffixes))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.any or scope["type"] not in (ScopeType.HTTP, ScopeType.WEBSOCKET):
            await self.app(scope, receive, send)
            return
        host = ""
        for name, value in scope["headers"]:
            if name == b"host":
                host = value.decode("latin-1")
                break
        if self.allows(host):
            await self.app(scope, receive, send)
            return
        if scope["type"] == ScopeType.WEBSOCKET:
            await send({"type": "websocket.close", "code": 1008, "reason": ""})
            return
        body = msgspec.json.encode(
            Problem(
                type=PROBLEM_TYPE_BASE + "invalid-host",
                title="Bad Request",
                status=400,
                detail="This host name is not served here.",
                code="invalid_host",
                request_id=scope.get("state", {}).get("request_id"),
            )
        )
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": 400,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
        await send(start)
        await send({"type": "http.response.body", "body": body, "more_body": False})
