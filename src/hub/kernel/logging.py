"""Structured logging (structlog) with a request id on every line.

Console output in development, one JSON object per line in production. The request id
comes from a well-formed ``X-Request-ID`` header or is generated, is bound to the
context (so every log line of the request carries it) and echoed back.

Errors are logged the same way in both formats: a plain traceback (no frame locals, which
held request bodies and passwords), the innermost frames of each chained exception only,
and at most :data:`MAX_TRACEBACK_CHARS` characters, so logging an error costs about a
millisecond of the event loop instead of the second a rich traceback with locals took.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any

import msgspec
import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from uuid_utils.compat import uuid7

from hub.kernel.acting import acting_scope

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
#: Keys whose values are replaced before a line is written, wherever they appear.
_SECRET_KEYS = frozenset(
    {
        "password",
        "new_password",
        "current_password",
        "token",
        "refresh_token",
        "access_token",
        "secret",
        "authorization",
        "api_key",
        "code",
        "smtp_url",
        "smtp_urls",
        "storage_url",
        "database_url",
        "redis_url",
        "secret_key",
        "cookie",
    }
)


#: Frames kept per exception of a chain (the innermost: where it went wrong).
MAX_TRACEBACK_FRAMES = 16
#: Longest traceback written; past it the middle is cut (the head says what was being
#: done, the tail what failed).
MAX_TRACEBACK_CHARS = 12_000

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def format_exception(exc_info: ExcInfo) -> str:
    """A bounded plain-text traceback: no locals, at most :data:`MAX_TRACEBACK_FRAMES`
    frames per exception and :data:`MAX_TRACEBACK_CHARS` characters."""
    exc_type, exc, tb = exc_info
    rendered = traceback.TracebackException(
        exc_type, exc, tb, limit=-MAX_TRACEBACK_FRAMES, capture_locals=False
    )
    text = "".join(rendered.format()).rstrip("\n")
    if len(text) <= MAX_TRACEBACK_CHARS:
        return text
    head = MAX_TRACEBACK_CHARS // 4
    tail = MAX_TRACEBACK_CHARS - head
    cut = len(text) - head - tail
    return f"{text[:head]}\n[… {cut} characters cut …]\n{text[-tail:]}"


def _console_traceback(sio: Any, exc_info: ExcInfo) -> None:
    sio.write("\n" + format_exception(exc_info))


#: The processor chain every logger uses. Refilled in place by :func:`configure_logging`,
#: so a logger that was already used (structlog caches it on first use) follows along.
_PROCESSORS: list[Any] = []


def _redact(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key in list(event_dict):
        if key.lower() in _SECRET_KEYS:
            event_dict[key] = "[redacted]"
    return event_dict


class _NamedLogger:
    """structlog's native output (no stdlib ``logging`` on the way) with a logger name.

    The stdlib route (LogRecord, handler lock, formatter, ``json.dumps``) cost ~65 µs per
    access line, about a third of a whole hub request (bench/README.md); this route writes
    the rendered line straight to the stream. Library logs (uvicorn, SQLAlchemy, dramatiq)
    still come through stdlib logging, rendered by the same processors.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def msg(self, message: str | bytes) -> None:
        # sys.stderr is looked up per line (not bound at creation) because loggers are
        # cached on first use and the stream may be replaced later (tests, daemons).
        stream = sys.stderr
        if isinstance(message, bytes):
            buffer = getattr(stream, "buffer", None)
            if buffer is not None:
                buffer.write(message + b"\n")
                buffer.flush()
                return
            message = message.decode()
        stream.write(message + "\n")
        stream.flush()

    log = debug = info = warning = warn = error = critical = exception = fatal = failure = msg


def _named_logger(*args: Any) -> _NamedLogger:
    return _NamedLogger(str(args[0]) if args else "hub")


_json = msgspec.json.Encoder()


def _json_bytes(event_dict: dict[str, Any], **_: Any) -> bytes:
    return _json.encode(event_dict)


def _json_text(event_dict: dict[str, Any], **_: Any) -> str:
    return _json.encode(event_dict).decode()


def configure_logging(level: str = "INFO", fmt: str = "console") -> None:
    """One renderer for structlog's own lines and for stdlib (library) records."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
        # Both formats: never the renderers' own (console's shows every frame's locals).
        structlog.processors.ExceptionRenderer(format_exception),
    ]
    native_renderer: Any
    stdlib_renderer: Any
    if fmt == "json":
        native_renderer = structlog.processors.JSONRenderer(serializer=_json_bytes)
        stdlib_renderer = structlog.processors.JSONRenderer(serializer=_json_text)
    else:
        native_renderer = stdlib_renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=_console_traceback
        )
    numeric_level = logging.getLevelName(level.upper())
    if not isinstance(numeric_level, int):
        numeric_level = logging.INFO
    _PROCESSORS[:] = [*shared, native_renderer]
    structlog.configure(
        processors=_PROCESSORS,
        logger_factory=_named_logger,
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                stdlib_renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric_level)
    # httpx logs every request's URL at INFO: a webhook URL may carry its receiver's token.
    for noisy in ("uvicorn.access", "asyncio", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


#: A path segment that carries a secret: Hub's prefixed tokens (``hub_inv_…``), or any long
#: opaque value that is not a UUID. Logged paths replace it, so a token in a URL (an
#: invitation link, say) never reaches the logs.
_SECRET_SEGMENT = re.compile(
    r"(?<=/)(?:hub_[a-z]+_[A-Za-z0-9_-]+|"
    r"(?![0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}(?:/|$))[A-Za-z0-9_-]{32,})(?=/|$)"
)


def loggable_path(path: str) -> str:
    return _SECRET_SEGMENT.sub("[redacted]", path)


_TRACEPARENT_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")


def _trace_id(traceparent: str) -> str | None:
    match = _TRACEPARENT_RE.match(traceparent.strip().lower())
    if match is None or match.group(1) == "0" * 32 or match.group(2) == "0" * 16:
        return None
    return match.group(1)


def new_request_id() -> str:
    return uuid7().hex


class RequestContextMiddleware:
    """Pure ASGI: request id in and out, one access log line per request."""

    def __init__(self, app: ASGIApp, client_address: Callable[[Scope], str] | None = None) -> None:
        self.app = app
        self.log = structlog.get_logger("hub.access")
        #: Resolves the caller's address (trusted proxies applied) for the acting scope.
        self.client_address = client_address

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = None
        trace_id = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if _REQUEST_ID_RE.match(candidate):
                    request_id = candidate
            elif name == b"traceparent":
                # W3C trace context: a request another service (or a tracing proxy) started
                # keeps its trace id as this request's id when no X-Request-ID names one.
                trace_id = _trace_id(value.decode("latin-1"))
        if request_id is None:
            request_id = trace_id
        if request_id is None:
            request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        header = (b"x-request-id", request_id.encode())

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            # Filled by the principal dependencies; read when events are published.
            address = self.client_address(scope) if self.client_address is not None else None
            with acting_scope(request_id=request_id, client_address=address):
                await self.app(scope, receive, send_wrapper)
        finally:
            self.log.info(
                "request",
                method=scope.get("method"),
                path=loggable_path(scope["path"]),
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            structlog.contextvars.clear_contextvars()
