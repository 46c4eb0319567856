"""The remote adapter: an object implementing a context's Protocol over HTTP.

:func:`remote_adapter` builds, from an :class:`~hub.kernel.remote.interface.Interface`, a
subclass of the Protocol whose every method posts its arguments (msgspec JSON) to
``<base>/internal/v1/<context>/<method>`` and decodes the declared result type. Callers
cannot tell it from the in-process facade: same signatures, same results, same errors.

Failure handling, in one place for every method:

- **credentials**: a short-lived service token (``hub.kernel.remote.tokens``);
- **timeout**: ``HUB_REMOTE_TIMEOUT_MS`` per attempt (connect, read, write, pool);
- **retries**: only for methods the Protocol marks ``@idempotent``, after a transport
  failure or a 5xx, ``HUB_REMOTE_RETRIES`` times with jittered exponential backoff; a write
  is tried once (repeating it could apply it twice);
- **circuit breaker**: purgatory's state machine per remote context, state in Redis on the
  kernel clock (``hub.kernel.mail_breaker``'s repository), shared by the processes that call
  it: ``HUB_REMOTE_BREAKER_FAILURES`` consecutive failures open it, and while open a call
  fails at once instead of waiting for a timeout; after ``HUB_REMOTE_BREAKER_RESET_S`` one
  trial call goes through;
- **errors**: a problem+json answer becomes the :class:`~hub.kernel.errors.AppError`
  subclass the facade raised (same status, code, detail, field errors, extra); an
  unreachable or open remote becomes :class:`~hub.kernel.errors.DependencyUnavailable`
  (503 problem+json with ``Retry-After`` to the public client).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import httpx
import msgspec
import structlog
from redis.asyncio import Redis

from hub.kernel.clock import Clock
from hub.kernel.errors import (
    AppError,
    Conflict,
    DependencyUnavailable,
    FieldError,
    Forbidden,
    Invalid,
    NotFound,
    Unauthorized,
)
from hub.kernel.mail_breaker import CircuitOpen, ProviderBreakers
from hub.kernel.remote.interface import Interface, Operation
from hub.kernel.remote.tokens import ServiceTokens
from hub.kernel.remote.tracing import outgoing_headers

log = structlog.get_logger("hub.remote")

BREAKER_PREFIX = "hub:remote:breaker:"
#: Codes the internal endpoints answer when the call itself is wrong (a deployment or
#: version mismatch, not the caller's input): never mapped to a client-facing 4xx.
PROTOCOL_CODES = frozenset({"invalid_service_token", "unknown_operation", "malformed_call"})
_MAX_BACKOFF_S = 2.0


class RemoteProtocolError(RuntimeError):
    """The remote refused the call itself (bad service token, unknown operation, arguments
    it cannot decode): two releases or two keys that do not match. A 500, logged."""


class _ServerFailed(Exception):
    """A 5xx answer: the remote is up but failing (counts for the breaker, retried if safe)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"status {status}")
        self.status = status


class _Problem(msgspec.Struct, rename="camel"):
    status: int = 0
    detail: str = ""
    code: str = ""
    title: str | None = None
    errors: list[FieldError] | None = None
    extra: dict[str, Any] | None = None


_BY_STATUS: dict[int, type[AppError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: Invalid,
}


def error_from_problem(status: int, body: bytes) -> AppError:
    """The typed error a problem+json answer stands for."""
    try:
        problem = msgspec.json.decode(body, type=_Problem)
    except msgspec.DecodeError:
        problem = _Problem(detail="The remote service refused the call.", code="bad_request")
    if problem.code in PROTOCOL_CODES:
        raise RemoteProtocolError(f"{problem.code}: {problem.detail}")
    cls = _BY_STATUS.get(status, AppError)
    error = cls(
        problem.detail,
        code=problem.code or None,
        status_code=status,
        errors=problem.errors,
        extra=problem.extra,
    )
    if problem.title:
        error.title = problem.title
    return error


def _counts(exc: BaseException) -> bool:
    """Whether an exception is the remote's fault (a breaker failure)."""
    return isinstance(exc, httpx.TransportError | _ServerFailed)


class RemoteClient:
    """Calls one remote context's internal endpoints (one pooled HTTP client)."""

    def __init__(
        self,
        context: str,
        base_url: str,
        *,
        tokens: ServiceTokens,
        redis: Redis,
        clock: Clock,
        timeout_s: float,
        retries: int,
        backoff_s: float,
        breaker_failures: int,
        breaker_reset_s: float,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.context = context
        self.tokens = tokens
        self.retries = retries
        self.backoff_s = backoff_s
        self.sleep = sleep
        self.http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
            headers={"accept": "application/json"},
        )
        self.breakers = ProviderBreakers(
            redis,
            failures=breaker_failures,
            reset_s=breaker_reset_s,
            clock=clock,
            counts=_counts,
            prefix=BREAKER_PREFIX,
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def state(self) -> str:
        """The breaker's state: ``closed``, ``opened`` or ``half-opened``."""
        return await self.breakers.state(self.context)

    async def call(self, interface: Interface, operation: Operation, params: Any) -> Any:
        body = msgspec.json.encode(params)
        path = interface.path(operation.name)
        attempts = 1 + (self.retries if operation.idempotent else 0)
        for attempt in range(attempts):
            try:
                response = await self._attempt(path, body)
            except CircuitOpen:
                log.warning("remote_circuit_open", context=self.context, operation=operation.name)
                raise DependencyUnavailable(f"{self.context} service") from None
            except (httpx.TransportError, _ServerFailed) as exc:
                if attempt + 1 < attempts:
                    delay = random.uniform(0, min(_MAX_BACKOFF_S, self.backoff_s * 2**attempt))
                    await self.sleep(delay)
                    continue
                log.warning(
                    "remote_call_failed",
                    context=self.context,
                    operation=operation.name,
                    error=f"{type(exc).__name__}: {exc}",
                    attempts=attempt + 1,
                )
                raise DependencyUnavailable(f"{self.context} service") from exc
            if response.status_code == 200:
                return msgspec.json.decode(response.content, type=operation.result)
            raise error_from_problem(response.status_code, response.content)
        raise AssertionError("unreachable")  # pragma: no cover (the loop returns or raises)

    async def _attempt(self, path: str, body: bytes) -> httpx.Response:
        breaker = await self.breakers.breaker(self.context)
        async with breaker:
            headers = outgoing_headers()
            headers["authorization"] = f"Service {self.tokens.token()}"
            headers["content-type"] = "application/json"
            response = await self.http.post(path, content=body, headers=headers)
            if response.status_code >= 500:
                # A 503 of the remote's own dependency (its database) is an outage too:
                # counted, retried if safe, reported as this service being unavailable.
                raise _ServerFailed(response.status_code)
            return response


def remote_adapter(interface: Interface, client: RemoteClient) -> Any:
    """An instance of a subclass of ``interface.protocol`` whose methods call ``client``."""
    namespace: dict[str, Any] = {
        op.name: _remote_method(interface, op) for op in interface.operations.values()
    }
    namespace["__doc__"] = (
        f"{interface.protocol.__name__} over HTTP ({interface.context} runs elsewhere)."
    )
    namespace["remote"] = client
    cls = type(f"Remote{interface.protocol.__name__}", (interface.protocol,), namespace)
    return cls()


def _remote_method(interface: Interface, operation: Operation) -> Callable[..., Any]:
    async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        params = operation.bind(args, kwargs)
        return await self.remote.call(interface, operation, params)

    method.__name__ = operation.name
    method.__qualname__ = f"Remote{interface.protocol.__name__}.{operation.name}"
    method.__doc__ = getattr(interface.protocol, operation.name).__doc__
    return method
