"""/auth/sessions: the caller's signed-in devices."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import delete, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from hub.identity.deps import PeopleController
from hub.identity.schemas import SessionOut, SessionsEndedOut
from hub.identity.services.sessions import SessionService
from hub.kernel.pagination import DEFAULT_LIMIT, Page
from hub.kernel.security import Principal
from hub.kernel.web import Cursor, Limit, page_as


class SessionController(PeopleController):
    path = "/auth/sessions"
    tags = ["Identity: sessions"]

    @get(
        operation_id="listSessions",
        summary="The caller's active sessions, newest first, with when each ends",
    )
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

    @delete(
        status_code=200,
        operation_id="revokeAllSessions",
        summary="Sign out everywhere: end every session of the caller at once",
        description="With keepCurrent=true the calling session stays signed in. API keys "
        "are not sessions and keep working.",
    )
    async def revoke_all_sessions(
        self,
        principal: NamedDependency[Principal],
        sessions: NamedDependency[SessionService],
        keep_current: Annotated[
            bool,
            QueryParameter(
                name="keepCurrent", required=False, description="Leave the calling session on"
            ),
        ] = False,
    ) -> SessionsEndedOut:
        ended = await sessions.revoke_all(principal, keep_current=keep_current)
        return SessionsEndedOut(sessions_ended=ended)
