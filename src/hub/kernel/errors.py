"""RFC 9457 problem details for every error the API can return.

One shape for everything (``type``, ``title``, ``status``, ``detail``, ``code``, plus
``errors`` for validation and ``requestId`` for support) so a frontend needs one error
path. Nothing internal (stack trace, SQL, file path, exception text of an unexpected
error) ever reaches the client: unexpected errors are logged server-side with the
request id and answered with a generic 500. A dependency that is down or too slow is no
bug: whatever error it surfaces as (asyncpg, SQLAlchemy, redis-py), the answer is 503
``dependency_unavailable`` naming it, with ``Retry-After`` (:class:`DependencyUnavailable`).
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import msgspec
import redis.exceptions
import sqlalchemy.exc
import structlog
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    SerializationException,
    ValidationException,
)
from litestar.exceptions.http_exceptions import (
    ClientException,
    InternalServerException,
    MethodNotAllowedException,
    RequestEntityTooLarge,
)

from hub.kernel.logging import loggable_path

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://hub.dev/problems/"

log = structlog.get_logger("hub.errors")


class FieldError(msgspec.Struct, rename="camel", omit_defaults=True):
    field: str
    message: str
    source: str | None = None


class Problem(msgspec.Struct, rename="camel", omit_defaults=True):
    """The body of every error response (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None
    extra: dict[str, Any] | None = None


class AppError(Exception):
    """A business-level refusal raised by services; controllers never build responses."""

    status_code: int = 400
    code: str = "bad_request"
    title: str | None = None

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        errors: list[FieldError] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.errors = errors
        self.extra = extra
        self.headers = headers or {}


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"


class Invalid(AppError):
    status_code = 422
    code = "validation_failed"


#: Seconds a client is told to wait after a dependency failed (``Retry-After``).
DEPENDENCY_RETRY_AFTER_S = 5


class DependencyUnavailable(AppError):
    """A dependency (``database``, ``redis``) did not answer in time or refused the
    connection: 503 with ``Retry-After`` and ``extra.dependency`` naming it. The request
    failed closed; nothing of it was committed."""

    status_code = 503
    code = "dependency_unavailable"

    def __init__(self, dependency: str) -> None:
        super().__init__(
            f"The {dependency} is unavailable; retry in a few seconds.",
            extra={"dependency": dependency},
            headers={"Retry-After": str(DEPENDENCY_RETRY_AFTER_S)},
        )
        self.dependency = dependency


_STATUS_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(
    request: Request[Any, Any, Any],
    *,
    status: int,
    code: str,
    detail: str,
    title: str | None = None,
    errors: list[FieldError] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Problem]:
    request_id = request.scope.get("state", {}).get("request_id")
    body = Problem(
        type=PROBLEM_TYPE_BASE + code.replace("_", "-"),
        title=title or _title(status),
        status=status,
        detail=detail,
        code=code,
        # Redacted like the access log: a token in the path (an invitation link) must not
        # come back in an error body that clients log and paste into bug reports.
        instance=loggable_path(request.url.path),
        request_id=request_id,
        errors=errors,
        extra=extra,
    )
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


#: msgspec's message for an absent required field; Litestar reports it at the enclosing
#: object (``data`` for the body itself), which names no field a client can fix.
_MISSING_FIELD = re.compile(r"^Object missing required field `([^`]+)`")


def _validation_errors(extra: Any) -> list[FieldError]:
    out: list[FieldError] = []
    if isinstance(extra, list):
        for item in extra:
            if isinstance(item, dict):
                key = str(item.get("key") or item.get("field") or "body")
                message = str(item.get("message", "invalid value"))
                source = str(item["source"]) if item.get("source") else None
                missing = _MISSING_FIELD.match(message)
                if missing and source == "body":
                    # "data" is the body itself; a nested object's path is kept as prefix.
                    key = missing[1] if key == "data" else f"{key}.{missing[1]}"
                out.append(FieldError(field=key, message=message, source=source))
    return out


def handle_app_error(request: Request[Any, Any, Any], exc: AppError) -> Response[Problem]:
    if isinstance(exc, DependencyUnavailable):
        # An outage, not a bug: one line, no traceback (a thousand requests fail alike).
        cause = exc.__cause__
        log.warning(
            "dependency_unavailable",
            dependency=exc.dependency,
            error=f"{type(cause).__name__}: {_first_line(str(cause))}" if cause else None,
        )
    return problem_response(
        request,
        status=exc.status_code,
        code=exc.code,
        detail=exc.detail,
        title=exc.title,
        errors=exc.errors,
        extra=exc.extra,
        headers=exc.headers,
    )


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    headers = dict(exc.headers or {})
    if isinstance(exc, ValidationException):
        return problem_response(
            request,
            status=400,
            code="validation_failed",
            detail=exc.detail or "The request is invalid.",
            errors=_validation_errors(exc.extra) or None,
            headers=headers,
        )
    if status == 400 and isinstance(exc.__cause__, SerializationException):
        # Litestar reports an undecodable body as ClientException raised from the decoder's error
        return problem_response(
            request,
            status=400,
            code="malformed_body",
            detail="The request body is not valid JSON: " + _first_line(exc.detail),
            errors=[FieldError(field="body", message=_first_line(exc.detail), source="body")],
            headers=headers,
        )
    if isinstance(exc, RequestEntityTooLarge):
        limit = (
            request.route_handler.resolve_request_max_body_size() if _has_handler(request) else None
        )
        detail = "The request body is larger than this endpoint accepts."
        if limit:
            detail = f"The request body exceeds the limit of {limit} bytes."
        return problem_response(request, status=413, code="payload_too_large", detail=detail)
    if isinstance(exc, NotFoundException):
        return problem_response(
            request, status=404, code="not_found", detail="No resource at this address."
        )
    if isinstance(exc, MethodNotAllowedException):
        return problem_response(
            request,
            status=405,
            code="method_not_allowed",
            detail="This method is not allowed here.",
            headers=headers,
        )
    if isinstance(exc, NotAuthorizedException):
        return problem_response(
            request,
            status=401,
            code="unauthorized",
            detail=exc.detail or "Authentication required.",
            headers=headers,
        )
    if isinstance(exc, PermissionDeniedException):
        return problem_response(
            request,
            status=403,
            code="forbidden",
            detail=exc.detail or "Not allowed.",
        )
    if isinstance(exc, InternalServerException) and (invalid := _body_field_error(exc)):
        return problem_response(
            request,
            status=400,
            code="validation_failed",
            detail="The request body is invalid.",
            errors=[invalid],
        )
    code = _STATUS_CODES.get(status, "error")
    if status >= 500:
        # Litestar's own 5xx details may carry internals; answer generically.
        log.error("http_server_error", status=status, detail=exc.detail, exc_info=exc)
        return problem_response(
            request, status=status, code=code, detail="The server could not complete the request."
        )
    detail = exc.detail if isinstance(exc, ClientException) and exc.detail else _title(status)
    return problem_response(request, status=status, code=code, detail=detail, headers=headers)


#: msgspec's "<message> - at `$.data.<field>`" for a request body that failed validation.
_BODY_ERROR = re.compile(r"^(?P<message>.+) - at `\$\.data\.(?P<field>[^`]+)`$")


def _body_field_error(exc: InternalServerException) -> FieldError | None:
    """A body field Litestar mistook for a dependency failure.

    Litestar tells client errors from dependency errors by the failing key, and for a
    nested body field that key is the field's own name: a body field named like an
    injected service (``roles`` beside the ``roles`` dependency) made an invalid body a
    500. The cause's path says it was the body.
    """
    match = _BODY_ERROR.match(str(exc.__cause__)) if exc.__cause__ is not None else None
    if match is None or not isinstance(exc.__cause__, msgspec.ValidationError):
        return None
    return FieldError(field=match["field"], message=match["message"], source="body")


def _first_line(text: str) -> str:
    return text.splitlines()[0][:200] if text else ""


def _has_handler(request: Request[Any, Any, Any]) -> bool:
    try:
        return request.route_handler is not None
    except Exception:
        return False


#: asyncpg's errors for a server that is gone, restarting or full (its other errors are
#: about the statement and stay 500s or the services' own answers).
_DATABASE_DOWN: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    sqlalchemy.exc.TimeoutError,  # no pooled connection came free in time
)
_REDIS_DOWN: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def dependency_of(exc: BaseException) -> str | None:
    """``"database"`` or ``"redis"`` when ``exc``, or an error that caused it, says that
    dependency is unreachable or too slow; else None."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 8:
        if isinstance(current, DependencyUnavailable):
            return current.dependency
        if isinstance(current, _DATABASE_DOWN):
            return "database"
        if isinstance(current, _REDIS_DOWN):
            return "redis"
        current = current.__cause__ or getattr(current, "orig", None) or current.__context__
        seen += 1
    return None


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    dependency = dependency_of(exc)
    if dependency is not None:
        unavailable = DependencyUnavailable(dependency)
        unavailable.__cause__ = exc
        return handle_app_error(request, unavailable)
    log.exception("unhandled_error", exc_type=type(exc).__name__)
    return problem_response(
        request,
        status=500,
        code="internal_error",
        detail="The server could not complete the request. Quote the request id to support.",
    )


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    AppError: handle_app_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
