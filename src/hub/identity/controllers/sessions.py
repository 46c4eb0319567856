"""/auth/sessions: the caller's signed-in devices."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from hub.identity.controllers.convert import BEARER
from hub.identity.deps import identity_of, people_only
from hub.identity.schemas import SessionOut, SessionPage
from hub.kernel.security import Principal


class SessionController(Controller):
    path = "/auth/sessions"
    tags = ["Identity: sessions"]
    guards = [people_only]
    security = BEARER

    @get(operation_id="listSessions", summary="The caller's active sessions, newest first")
    async def list_sessions(
        self,
        principal: NamedDependency[Principal],
        state: State,
        limit: FromQuery[int | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> SessionPage:
        page = await identity_of(state).sessions.list(principal, limit=limit, cursor=cursor)
        return SessionPage(
            items=[
                SessionOut(
                    id=s.id,
                    created_at=s.created_at,
                    last_seen_at=s.last_seen_at,
                    auth_time=s.auth_time,
                    methods=s.methods,
                    user_agent=s.user_agent,
                    ip=s.ip,
                    current=s.current,
                )
                for s in page.items
            ],
            limit=page.limit,
            next_cursor=page.next_cursor,
        )

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
        state: State,
    ) -> None:
        await identity_of(state).sessions.revoke(principal, session_id, reason="revoked_by_user")
