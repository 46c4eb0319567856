"""A bare Litestar app answering the inbox the leanest way: PyJWT + one raw asyncpg query.

The yardstick for the hub's ``GET /api/v1/notifications`` and ``/unread-count``. It
verifies the hub's own access tokens as ``bench/refs/jwt_read.py`` does (``BENCH_JWKS``,
``BENCH_JWT_ISSUER``, ``BENCH_JWT_AUDIENCE``), then runs the hub's statements in raw SQL on
an asyncpg pool (``BENCH_DATABASE_URL``): the newest 21 items not archived (a page of 20
and one to know whether there is more) with the same index, or the count of unread ones
(the partial index ``ix_inbox_unread``). No cursor, no envelope beyond ``items``.
Run: ``uvicorn --factory bench.refs.inbox_read:create_app``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import jwt
from litestar import Litestar, Request, get
from litestar.datastructures import State
from litestar.exceptions import NotAuthorizedException

from bench.refs.jwt_read import REQUIRED, _keys

PAGE = """
SELECT id, organisation_id, notification_id, category, priority, title, body, action_url,
       created_at, read_at, archived_at, snoozed_until
FROM communication.inbox_items
WHERE user_id = $1 AND archived_at IS NULL
ORDER BY created_at DESC, id DESC
LIMIT 21
"""
COUNT = """
SELECT count(*) FROM communication.inbox_items
WHERE user_id = $1 AND read_at IS NULL AND archived_at IS NULL
  AND (snoozed_until IS NULL OR snoozed_until <= $2)
"""


def create_app() -> Litestar:
    import os

    dsn = os.environ["BENCH_DATABASE_URL"]
    issuer = os.environ["BENCH_JWT_ISSUER"]
    audience = os.environ["BENCH_JWT_AUDIENCE"]
    keys = _keys()

    def user_of(request: Request[Any, Any, Any]) -> uuid.UUID:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise NotAuthorizedException()
        try:
            key = keys.get(jwt.get_unverified_header(token).get("kid", ""))
            if key is None:
                raise NotAuthorizedException()
            claims = jwt.decode(
                token,
                key,
                algorithms=["ES256"],
                audience=audience,
                issuer=issuer,
                leeway=10,
                options={"require": REQUIRED},
            )
            return uuid.UUID(claims["sub"])
        except (jwt.InvalidTokenError, ValueError):
            raise NotAuthorizedException() from None

    @get("/notifications")
    async def page(request: Request[Any, Any, Any], state: State) -> dict[str, Any]:
        rows = await state.pool.fetch(PAGE, user_of(request))
        items = [
            {
                "id": r["id"],
                "organisationId": r["organisation_id"],
                "notificationId": r["notification_id"],
                "category": r["category"],
                "priority": r["priority"],
                "title": r["title"],
                "body": r["body"],
                "actionUrl": r["action_url"],
                "createdAt": r["created_at"],
                "readAt": r["read_at"],
                "archivedAt": r["archived_at"],
                "snoozedUntil": r["snoozed_until"],
            }
            for r in rows[:20]
        ]
        return {"items": items, "limit": 20, "nextCursor": None}

    @get("/notifications/unread-count")
    async def count(request: Request[Any, Any, Any], state: State) -> dict[str, int]:
        now = dt.datetime.now(dt.UTC)
        return {"count": await state.pool.fetchval(COUNT, user_of(request), now)}

    @asynccontextmanager
    async def pool(app: Litestar) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(
            dsn,
            min_size=1,
            max_size=10,
            server_settings={"application_name": "bench-inbox-read", "jit": "off"},
        )
        try:
            yield
        finally:
            await app.state.pool.close()

    @get("/ready", sync_to_thread=False)
    def ready() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar(
        route_handlers=[page, count, ready], lifespan=[pool], debug=False, logging_config=None
    )
