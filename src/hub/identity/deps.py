"""Route guards of identity's controllers, and the base of its people-only controllers."""

from __future__ import annotations

from typing import Any, cast

from litestar import Controller
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from hub.identity.services.access import SESSION_REQUIRED_DETAIL
from hub.kernel.errors import Forbidden
from hub.kernel.openapi import answers
from hub.kernel.security import require_principal
from hub.kernel.web import BEARER


@answers(401, 403)
async def people_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard of the endpoints that act on a person's own account (profile, password,
    sessions, second factor, API keys, administration): a leaked API key must not be
    able to enrol an attacker's authenticator or revoke its owner's sessions.

    Decided from the authenticated principal, never from the raw headers: whatever form
    the credentials took, a principal resolved from an API key carries its key id.
    """
    principal = await require_principal(cast(Any, connection))
    if principal.api_key_id is not None:
        raise Forbidden(SESSION_REQUIRED_DETAIL, code="session_required")


class PeopleController(Controller):
    """Routes a person calls with a session's access token, never with an API key."""

    guards = [people_only]
    security = BEARER
