"""HTTP side of the rate limits: route declarations, the middleware, the plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Literal, cast

import msgspec
from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.enums import ScopeType
from litestar.middleware import DefineMiddleware
from litestar.plugins import InitPlugin
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, Scope, Send

from hub.kernel.errors import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE, AppError, Problem
from hub.kernel.ratelimit.limiter import (
    BUCKETS,
    RATE_LIMITED,
    UNAVAILABLE,
    Bucket,
    RateLimited,
    RateLimiter,
    refusal_detail,
    verdicts_of,
)
from hub.kernel.settings import SettingsError

if TYPE_CHECKING:
    from hub.kernel.serving import Serving

#: The route ``opt`` key naming a bucket (or ``False``: not limited).
OPT_KEY: Final = "rate_limit"
_READ_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


def rate_limit(bucket: str | Literal[False]) -> dict[str, Any]:
    """Route ``opt`` for a bucket: ``@post("/messages", opt=rate_limit("sends"))``.

    ``rate_limit(False)`` exempts a route. Works on controllers and routers too (the
    innermost layer wins). An unknown name fails here, at import.
    """
    if bucket is not False and bucket not in BUCKETS:
        raise ValueError(f"unknown rate-limit bucket {bucket!r}; one of {', '.join(BUCKETS)}")
    return {OPT_KEY: bucket}


class RateLimitMiddleware:
    """Applies each route's bucket before the handler runs (route-level: installed as app
    middleware, so Litestar has already matched the route and merged its ``opt``).

    Pure ASGI and allocation-light: buckets are resolved once per (handler, method), keys
    are two string concatenations, headers one ``%`` format. The same script call reads
    the caller's session revocation mark (``EXISTS``) and hands it to the authenticator,
    so a signed-in request's revocation check costs no Redis round trip of its own.
    """

    def __init__(self, app: ASGIApp, *, serving: Serving, prefix: str) -> None:
        self.app = app
        #: The app's current kernel: its limiter and authenticator are read per request.
        self.serving = serving
        self.prefix = prefix
        self._routes: dict[tuple[Any, str], str | None] = {}

    def _bucket(self, scope: Scope, limiter: RateLimiter) -> Bucket | None:
        handler = scope.get("route_handler")
        method: str = scope["method"]  # type: ignore[typeddict-item]  # HTTP only
        try:
            name = self._routes[(handler, method)]
        except KeyError:
            name = self._routes[(handler, method)] = self._bucket_name(scope, handler, method)
        return None if name is None else limiter.buckets[name]

    def _bucket_name(self, scope: Scope, handler: Any, method: str) -> str | None:
        named = handler.opt.get(OPT_KEY) if handler is not None else None
        if named is None:
            path: str = scope.get("path_template") or scope["path"]
            if path == self.prefix or path.startswith(self.prefix + "/"):
                return "reads" if method in _READ_METHODS else "writes"
            return None
        return None if named is False else str(named)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        kernel = self.serving.kernel
        limiter, authenticator = kernel.rate_limits, kernel.security
        bucket = self._bucket(scope, limiter)
        if bucket is None:
            await self.app(scope, receive, send)
            return
        address = authenticator.client_address.of(scope)
        try:
            principal = await authenticator.identify(scope)  # type: ignore[arg-type]
        except AppError:
            principal = None  # bad credentials: the handler answers 401 if it needs any
        caller = probe = None
        if principal is not None:
            caller = (
                "u:" + principal.user_id.hex
                if principal.api_key_id is None
                else "k:" + principal.api_key_id.hex
            )
            probe = authenticator.revocation_probe(principal)
        result = await limiter.check(bucket, caller, address, probe=probe)
        if result is None:
            UNAVAILABLE.labels(bucket.name, "allowed").inc()
            await self.app(scope, receive, send)
            return
        if probe is not None and principal is not None:
            # The probe's answer comes last, after the policies' triples (see GCRA).
            authenticator.note_revocation(cast(dict[str, Any], scope), principal, bool(result[-1]))
        if caller is None:
            policy_header = bucket.anonymous_policy_header
            state = bucket.anonymous_state % (max(0, result[1]), result[2])
        else:
            policy_header = bucket.policy_header
            state = bucket.state % (max(0, result[1]), result[2], max(0, result[4]), result[5])
        extra = ((b"ratelimit-policy", policy_header), (b"ratelimit", state))
        if not result[0]:
            await self._refuse(scope, send, bucket, caller is not None, result, extra)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers")
                if isinstance(headers, list):
                    headers.extend(extra)
                else:
                    message["headers"] = [*(headers or ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _refuse(
        self,
        scope: Scope,
        send: Send,
        bucket: Bucket,
        has_caller: bool,
        result: list[int],
        extra: tuple[tuple[bytes, bytes], ...],
    ) -> None:
        """Answer 429 problem+json here: raising would let the metrics count a 500."""
        policies = (bucket.caller, bucket.address) if has_caller else (bucket.address,)
        verdicts = verdicts_of(result, policies)
        refused = max(verdicts, key=lambda v: v.retry_after_seconds)
        RATE_LIMITED.labels(refused.policy).inc()
        body = msgspec.json.encode(
            Problem(
                type=PROBLEM_TYPE_BASE + RateLimited.code.replace("_", "-"),
                title="Too Many Requests",
                status=429,
                detail=refusal_detail(refused),
                code=RateLimited.code,
                instance=scope["path"],
                request_id=scope.get("state", {}).get("request_id"),
                extra={"policy": refused.policy, "retryAfterSeconds": refused.retry_after_seconds},
            )
        )
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(refused.retry_after_seconds).encode()),
                *extra,
            ],
        }
        await send(start)
        await send({"type": "http.response.body", "body": body, "more_body": False})


class RateLimitPlugin(InitPlugin):
    """Installs the middleware (innermost of the app's, so metrics count 429s) and checks
    at start that every route names a known bucket. Nothing when rate limits are off."""

    def __init__(self, serving: Serving, *, prefix: str):
        self.serving = serving
        self.prefix = prefix

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        if not self.serving.kernel.rate_limits.enabled:
            return app_config
        app_config.middleware.append(
            DefineMiddleware(RateLimitMiddleware, serving=self.serving, prefix=self.prefix)
        )
        app_config.on_startup.append(check_routes)
        return app_config


def check_routes(app: Litestar) -> None:
    """Refuse to start when a route's ``opt`` names a bucket that does not exist."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            named = handler.opt.get(OPT_KEY)
            if named is not None and named is not False and named not in BUCKETS:
                raise SettingsError(
                    f"route {route.path} names rate-limit bucket {named!r}; "
                    f"known buckets: {', '.join(BUCKETS)}"
                )
