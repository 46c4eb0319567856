"""The tenancy rule every context follows, applied by the kernel from the route.

A route names the permission it needs (``guards=[permission("content.documents.read")]``)
and the kernel answers for it: a caller who is not a member of the organisation the route
addresses gets 404 (it learns nothing about that organisation), a member whose roles do
not grant the permission gets 403, and an API key is narrowed to its scopes. Resources
whose organisation is known only after loading them go through :meth:`Tenancy.authorise`,
the same rule in one call.

The kernel does not know what a membership is made of: identity plugs its lookup in at
start-up (:meth:`Tenancy.use`), as it does for API keys, so the kernel imports no context.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, cast

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from hub.kernel.errors import FieldError, Forbidden, Invalid, NotFound
from hub.kernel.openapi import answers
from hub.kernel.security import Principal, require_principal

_MEMBERSHIP_SCOPE_KEY = "hub.membership"


class Member(Protocol):
    """What the kernel needs of a membership: whether it grants a permission."""

    @property
    def organisation_id(self) -> uuid.UUID: ...

    def allows(self, permission: str) -> bool: ...


#: ``(principal, organisation_id) -> membership or None``; honours API-key scopes and
#: an API key's own organisation binding.
MembershipLookup = Callable[[Principal, uuid.UUID], Awaitable[Member | None]]


def organisation_not_found() -> NotFound:
    return NotFound("No such organisation.")


def permission_denied(permission: str) -> Forbidden:
    return Forbidden(
        "Your role in this organisation does not allow this.",
        code="permission_denied",
        extra={"permission": permission},
    )


class Tenancy:
    def __init__(self) -> None:
        self._lookup: MembershipLookup | None = None

    def use(self, lookup: MembershipLookup) -> None:
        self._lookup = lookup

    async def membership(self, principal: Principal, organisation_id: uuid.UUID) -> Member | None:
        if self._lookup is None:
            raise RuntimeError("no membership lookup registered (is identity wired?)")
        return await self._lookup(principal, organisation_id)

    async def authorise(
        self, principal: Principal, organisation_id: uuid.UUID, permission: str | None
    ) -> Member:
        """The caller's membership if it grants ``permission``: 404 outside, 403 inside."""
        member = await self.membership(principal, organisation_id)
        if member is None:
            raise organisation_not_found()
        if permission is not None and not member.allows(permission):
            raise permission_denied(permission)
        return member


def _organisation_of(connection: ASGIConnection[Any, Any, Any, Any]) -> uuid.UUID:
    """The organisation a request addresses: the ``org_id`` path parameter, else the
    ``organisationId`` query parameter."""
    value = connection.path_params.get("org_id")
    if isinstance(value, uuid.UUID):
        return value
    raw = connection.query_params.get("organisationId")
    try:
        return uuid.UUID(str(raw)) if raw else _missing_organisation()
    except ValueError:
        raise Invalid(
            "organisationId must be a UUID.",
            status_code=400,
            errors=[
                FieldError(field="organisationId", message="not a UUID", source="query"),
            ],
        ) from None


def _missing_organisation() -> uuid.UUID:
    raise Invalid(
        "organisationId is required.",
        status_code=400,
        errors=[FieldError(field="organisationId", message="required", source="query")],
    )


def permission(
    key: str | None,
) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]:
    """Route guard: the caller must be a member of the addressed organisation and, when
    ``key`` is given, hold that permission. The membership is kept for the handler
    (dependency ``membership``)."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = await require_principal(cast(Any, connection))
        tenancy: Tenancy = connection.app.state.kernel.tenancy
        member = await tenancy.authorise(principal, _organisation_of(connection), key)
        connection.scope[_MEMBERSHIP_SCOPE_KEY] = member  # type: ignore[literal-required]

    guard.__qualname__ = f"permission({key!r})"
    guard.permission = key  # type: ignore[attr-defined]
    # 401 unauthenticated, 404 outside the organisation, 403 inside without the permission;
    # the document's 400 for a malformed ?organisationId= is derived from the route.
    return answers(401, 403, 404)(guard)


def provide_membership(request: Request[Any, Any, Any]) -> Any:
    """Dependency ``membership``: what the route's ``permission`` guard found."""
    member = request.scope.get(_MEMBERSHIP_SCOPE_KEY)
    if member is None:
        raise RuntimeError("route reads `membership` but has no permission() guard")
    return member
