"""HTTP pieces every context's controllers share: security requirements, client info, the
``Idempotency-Key`` header, and turning service results into response bodies."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Request, Response
from litestar.params import HeaderParameter, QueryParameter

from hub.kernel.idempotency import KEY_PATTERN, MAX_KEY_LENGTH, IdempotentWrites
from hub.kernel.pagination import CURSOR_PATTERN, DEFAULT_LIMIT, MAX_CURSOR_LENGTH, MAX_LIMIT, Page

T = TypeVar("T")

#: OpenAPI security requirement of endpoints only a signed-in person may call.
BEARER: list[dict[str, list[str]]] = [{"BearerToken": []}]
#: Endpoints machine clients may call too: a bearer token or an API key.
BEARER_OR_KEY: list[dict[str, list[str]]] = [{"BearerToken": []}, {"ApiKey": []}]

_MAX_USER_AGENT = 512


@dataclass(frozen=True)
class ClientInfo:
    """Where a request came from (proxy-aware address, user agent)."""

    ip: str
    user_agent: str


def provide_client_info(request: Request[Any, Any, Any]) -> ClientInfo:
    """Dependency ``client_info``."""
    user_agent = ""
    for name, value in request.scope["headers"]:
        if name == b"user-agent":
            user_agent = value.decode("latin-1")[:_MAX_USER_AGENT]
            break
    ip = request.app.state.kernel.security.client_address.of(request.scope)
    return ClientInfo(ip=ip, user_agent=user_agent)


#: ``Idempotency-Key`` request header of writes a client may retry.
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        pattern=KEY_PATTERN,
        description="Retry-safe writes: a repeated key replays the first response for 24 h "
        "(the same key with another body is a 422, while the first still runs a 409).",
    ),
]

#: ``?limit=`` of every list: the page size. Out of range is a 400, never silently clamped.
Limit = Annotated[
    int,
    QueryParameter(
        ge=1,
        le=MAX_LIMIT,
        description=f"Items per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}).",
    ),
]

#: ``?cursor=`` of every list: the previous page's ``nextCursor``, as given. A string of
#: another shape is a 400; one of this shape the server did not issue is a 422.
Cursor = Annotated[
    str | None,
    QueryParameter(
        min_length=1,
        max_length=MAX_CURSOR_LENGTH,
        pattern=CURSOR_PATTERN,
        description="The `nextCursor` of the previous page; omit it for the first page.",
    ),
]


class Idempotency:
    """Dependency ``idempotency``: runs a write at most once per key, caller and operation,
    and answers a retry with the first response (header ``Idempotent-Replayed: true``)."""

    def __init__(self, writes: IdempotentWrites) -> None:
        self.writes = writes

    async def respond(
        self,
        *,
        key: str | None,
        caller: uuid.UUID,
        operation: str,
        request: Any,
        produce: Callable[[], Awaitable[T]],
        result_type: type[T],
        status_code: int = 201,
    ) -> Response[T]:
        out, replayed = await self.writes.once(
            key=key,
            caller=caller,
            operation=operation,
            request=request,
            produce=produce,
            result_type=result_type,
        )
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return Response(out, status_code=status_code, headers=headers)


def to_schema(obj: Any, schema: type[T], **extra: Any) -> T:
    """One conversion from a domain object, ORM row or mapping to its wire struct.

    Attributes are matched by their Python names; ``extra`` adds or overrides fields that
    the object does not carry (e.g. the caller's roles in an organisation).
    """
    if isinstance(obj, Mapping):
        obj = SimpleNamespace(**obj, **extra)
    elif extra:
        obj = _Overlay(obj, extra)
    return msgspec.convert(obj, schema, from_attributes=True)


def overlay(obj: Any, **extra: Any) -> Any:
    """``obj`` with ``extra`` attributes added or replaced, as :func:`to_schema` reads it: a
    service answers a row plus what it computed beside it (the caller's roles...) without
    a type that copies the row's fields."""
    return _Overlay(obj, extra)


def to_schemas(objs: Iterable[Any], schema: type[T]) -> list[T]:
    return [msgspec.convert(o, schema, from_attributes=True) for o in objs]


def page_as(page: Page[Any], schema: type[T]) -> Page[T]:
    """A page of domain objects as a page of wire structs (``Page[T]``, the one envelope)."""
    return Page(
        items=[to_schema(item, schema) for item in page.items],
        limit=page.limit,
        next_cursor=page.next_cursor,
    )


class _Overlay:
    __slots__ = ("_base", "_extra")

    def __init__(self, base: Any, extra: dict[str, Any]) -> None:
        self._base = base
        self._extra = extra

    def __getattr__(self, name: str) -> Any:
        extra = object.__getattribute__(self, "_extra")
        if name in extra:
            return extra[name]
        return getattr(object.__getattribute__(self, "_base"), name)
