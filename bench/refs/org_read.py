"""A bare Litestar app answering a permission-checked read the leanest way: PyJWT, the
membership query and the organisation's row on raw asyncpg.

The yardstick for the hub's ``GET /api/v1/orgs/{orgId}`` (permission
``identity.org.read``). It verifies the hub's own access token (as ``jwt_read`` does:
``BENCH_JWKS``, ``BENCH_JWT_ISSUER``, ``BENCH_JWT_AUDIENCE``), reads the caller's
membership with the hub's query (memberships of an organisation not scheduled for
deletion, left-joined with their roles, one row per role), decides the permission from
the roles (a built-in role grants reads; a custom role must list the key; none: 403, no
membership: 404), then reads the organisation and
answers its id, name and the caller's role names. No revocation check, rate limit, access
log or metrics. Run: ``uvicorn --factory bench.refs.org_read:create_app``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import jwt
from litestar import Litestar, Request, get
from litestar.datastructures import State
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException

from bench.refs.jwt_read import REQUIRED, _keys

PERMISSION = "identity.org.read"
SELECT_MEMBERSHIP = """
SELECT m.user_id, r.id AS role_id, r.name, r.builtin, r.permissions
  FROM identity.memberships m
  JOIN identity.organisations o ON o.id = m.organisation_id
  LEFT JOIN identity.member_roles mr
    ON mr.organisation_id = m.organisation_id AND mr.user_id = m.user_id
  LEFT JOIN identity.roles r ON r.id = mr.role_id
 WHERE m.organisation_id = $1 AND m.user_id = $2 AND o.deletion_scheduled_at IS NULL
 ORDER BY r.id
"""
SELECT_ORGANISATION = "SELECT id, name FROM identity.organisations WHERE id = $1"
#: Built-in roles whose patterns cover every read (owner, admin: everything; member and
#: auditor: ``*.read``).
READERS = {"owner", "admin", "member", "auditor"}


def create_app() -> Litestar:
    dsn = os.environ["BENCH_DATABASE_URL"]
    issuer = os.environ["BENCH_JWT_ISSUER"]
    audience = os.environ["BENCH_JWT_AUDIENCE"]
    keys = _keys()
    only_key = next(iter(keys.values())) if len(keys) == 1 else None

    def subject(request: Request[Any, Any, Any]) -> uuid.UUID:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise NotAuthorizedException()
        key = only_key or keys.get(jwt.get_unverified_header(token).get("kid", ""))
        if key is None:
            raise NotAuthorizedException()
        try:
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

    @get("/orgs/{org_id:uuid}")
    async def organisation(
        org_id: uuid.UUID, request: Request[Any, Any, Any], state: State
    ) -> dict[str, Any]:
        user_id = subject(request)
        async with state.pool.acquire() as conn:
            roles = await conn.fetch(SELECT_MEMBERSHIP, org_id, user_id)
            if not roles:
                raise NotFoundException()
            held = [r for r in roles if r["role_id"] is not None]
            if not any(r["builtin"] in READERS or PERMISSION in r["permissions"] for r in held):
                raise PermissionDeniedException()
            row = await conn.fetchrow(SELECT_ORGANISATION, org_id)
        return {"id": row["id"], "name": row["name"], "roles": [r["name"] for r in held]}

    @asynccontextmanager
    async def pool(app: Litestar) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(
            dsn,
            min_size=1,
            max_size=10,
            server_settings={"application_name": "bench-org-read", "jit": "off"},
        )
        try:
            yield
        finally:
            await app.state.pool.close()

    @get("/ready", sync_to_thread=False)
    def ready() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar(
        route_handlers=[organisation, ready], lifespan=[pool], debug=False, logging_config=None
    )
