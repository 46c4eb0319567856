"""/auth/sessions: the caller's signed-in devices."""

from __future__ import annotations

import uuid

from litestar import delete, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from hub.identity.deps import PeopleController
from hub.identity.schemas import SessionOut
from hub.identity.services.sessions import SessionService
from hub.kernel.pagination import DEFAULT_LIMIT, Page
from hub.kernel.security import Principal
from hub.kernel.web import Cursor, Limit, page_as


class SessionController(PeopleController):
    path = "/auth/sessions"
    tags = ["Identity: sessions"]

    @get(operation_id="listSessions", summary="The caller's active sessions, newest first")
    async def list_sessions(
        self,
        principal: NamedDependency[Principal],
        sessions: NamedDependency[SessionService],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[SessionOut]:
        return page_as(await sessions.list(principal, limit=limit, cursor=cursor), SessionOut)

    @delete(
        "/{session_id:uuid}",
        status_code=204,
        operation_id="revokeSession",
        summary="Sign a session out (its access and refresh tokens stop working at once)",
    )
    async def revoke_session(
        self,
        session_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        sessions: NamedDependency[SessionService],
    ) -> None:
        await sessions.revoke(principal, session_id, reason="revoked_by_user")
