"""A bare Litestar app answering ``/auth/me`` the leanest way: PyJWT + one raw asyncpg query.

The yardstick for the hub's ``GET /api/v1/auth/me``. It verifies the very access tokens
the hub issues (ES256, minted by the hub's login): ``BENCH_JWKS`` holds the hub's
``/.well-known/jwks.json`` document, ``BENCH_JWT_ISSUER`` and ``BENCH_JWT_AUDIENCE`` the
values the hub signs with. Then ``SELECT id, email, display_name FROM identity.users WHERE
id = $1`` on a raw asyncpg pool (``BENCH_DATABASE_URL``), as the asyncpg-read reference
reads. Run: ``uvicorn --factory bench.refs.jwt_read:create_app``.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import jwt
from litestar import Litestar, Request, get
from litestar.datastructures import State
from litestar.exceptions import NotAuthorizedException

SELECT_USER = "SELECT id, email, display_name FROM identity.users WHERE id = $1"
#: What the hub requires of an access token besides a valid signature.
REQUIRED = ["exp", "iat", "iss", "aud", "sub", "sid"]


def _keys() -> dict[str, Any]:
    document = json.loads(os.environ["BENCH_JWKS"])
    return {k["kid"]: jwt.PyJWK(k).key for k in document["keys"]}


def create_app() -> Litestar:
    dsn = os.environ["BENCH_DATABASE_URL"]
    issuer = os.environ["BENCH_JWT_ISSUER"]
    audience = os.environ["BENCH_JWT_AUDIENCE"]
    keys = _keys()
    only_key = next(iter(keys.values())) if len(keys) == 1 else None

    def claims(token: str) -> dict[str, Any]:
        key = only_key
        if key is None:
            key = keys.get(jwt.get_unverified_header(token).get("kid", ""))
        if key is None:
            raise NotAuthorizedException()
        return jwt.decode(
            token,
            key,
            algorithms=["ES256"],
            audience=audience,
            issuer=issuer,
            leeway=10,
            options={"require": REQUIRED},
        )

    @get("/auth/me")
    async def me(request: Request[Any, Any, Any], state: State) -> dict[str, Any]:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise NotAuthorizedException()
        try:
            user_id = uuid.UUID(claims(token)["sub"])
        except (jwt.InvalidTokenError, ValueError):
            raise NotAuthorizedException() from None
        row = await state.pool.fetchrow(SELECT_USER, user_id)
        if row is None:
            raise NotAuthorizedException()
        return {"id": row["id"], "email": row["email"], "displayName": row["display_name"]}

    @asynccontextmanager
    async def pool(app: Litestar) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(
            dsn,
            min_size=1,
            max_size=10,
            server_settings={"application_name": "bench-jwt-read", "jit": "off"},
        )
        try:
            yield
        finally:
            await app.state.pool.close()

    @get("/ready", sync_to_thread=False)
    def ready() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar(route_handlers=[me, ready], lifespan=[pool], debug=False, logging_config=None)
