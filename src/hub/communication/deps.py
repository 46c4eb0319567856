"""Route guards of communication's controllers."""

from __future__ import annotations

from typing import Any, cast

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from hub.kernel.errors import Forbidden
from hub.kernel.openapi import answers
from hub.kernel.security import require_principal


@answers(401, 403)
async def people_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """The inbox and personal preferences belong to a person: an API key (a machine
    acting for its owner) neither reads nor changes them."""
    principal = await require_principal(cast(Any, connection))
    if principal.api_key_id is not None:
        raise Forbidden(
            "The inbox and notification preferences need a signed-in person, not an API key.",
            code="session_required",
        )
