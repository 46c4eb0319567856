"""Litestar dependency providers of identity's controllers."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler

from hub.identity.services.access import SESSION_REQUIRED_DETAIL
from hub.identity.services.container import Identity
from hub.identity.services.runtime import ClientInfo
from hub.kernel.errors import Forbidden

_MAX_USER_AGENT = 512


def identity_of(state: State) -> Identity:
    """Identity's services, read from app state rather than injected: Litestar resolves
    sibling dependencies in an anyio task group, which costs more per request than the
    rest of a cheap handler like ``GET /auth/me``."""
    return Identity.of(state.kernel)


def provide_client_info(request: Request[Any, Any, Any]) -> ClientInfo:
    """``client_info``: the caller's address (proxy-aware) and user agent."""
    user_agent = ""
    for name, value in request.scope["headers"]:
        if name == b"user-agent":
            user_agent = value.decode("latin-1")[:_MAX_USER_AGENT]
            break
    ip = identity_of(request.app.state).client_address.of(request.scope)
    return ClientInfo(ip=ip, user_agent=user_agent)


def people_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard of the endpoints that act on a person's own account (profile, password,
    sessions, second factor, API keys, administration): a leaked API key must not be
    able to enrol an attacker's authenticator or revoke its owner's sessions."""
    for name, value in connection.scope["headers"]:
        if name == b"x-api-key" or (name == b"authorization" and value[:7].lower() == b"apikey "):
            raise Forbidden(SESSION_REQUIRED_DETAIL, code="session_required")


DEPENDENCIES: dict[str, Provide] = {
    "client_info": Provide(provide_client_info, sync_to_thread=False),
}
