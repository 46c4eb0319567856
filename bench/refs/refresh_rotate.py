"""A bare Litestar app rotating refresh tokens the leanest way: raw asyncpg + PyJWT.

The yardstick for the hub's ``POST /api/v1/auth/refresh``. It does the same work on the
same tables (identity's ``refresh_tokens``, ``sessions`` and ``users``, so it rotates the
very tokens the hub's login issued), written straight in SQL: in one transaction, the
presented token's row joined with its session and user ``FOR UPDATE``, the successor
inserted, the old row marked rotated with the successor sealed (AES-256-GCM under a key
derived from the presented token, as the hub does for its grace window), the session's
``last_seen_at``/``ip`` updated; then an ES256 access token signed with PyJWT (a key of
its own, generated at start) and the hub's JSON answer. Not built: the grace window for a
token presented twice and reuse detection (a rotated token just gets 401) — the bench
never presents a rotated token. ``BENCH_DATABASE_URL`` names the database; issuer and
audience come from ``BENCH_JWT_ISSUER``/``BENCH_JWT_AUDIENCE``.
Run: ``uvicorn --factory bench.refs.refresh_rotate:create_app``.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from litestar import Litestar, Request, get, post
from litestar.datastructures import State
from litestar.exceptions import NotAuthorizedException

ACCESS_TTL = 900
REFRESH_TTL = timedelta(days=30)

SELECT_FOR_UPDATE = """
SELECT t.id, t.session_id, t.expires_at, t.rotated_at, s.auth_time, s.amr, s.revoked_at,
       u.id AS user_id, u.disabled_at, u.is_platform_admin
  FROM identity.refresh_tokens t
  JOIN identity.sessions s ON s.id = t.session_id
  JOIN identity.users u ON u.id = s.user_id
 WHERE t.token_hash = $1
   FOR UPDATE OF t
"""
INSERT_SUCCESSOR = """
INSERT INTO identity.refresh_tokens (id, session_id, token_hash, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5)
"""
MARK_ROTATED = (
    "UPDATE identity.refresh_tokens SET rotated_at = $2, successor_sealed = $3 WHERE id = $1"
)
TOUCH_SESSION = "UPDATE identity.sessions SET last_seen_at = $2, ip = $3 WHERE id = $1"


def _seal(token: str, plaintext: bytes) -> bytes:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"hub.identity", info=b"refresh-successor"
    ).derive(token.encode())
    nonce = os.urandom(12)
    return b"\x01" + nonce + AESGCM(key).encrypt(nonce, plaintext, b"")


def create_app() -> Litestar:
    dsn = os.environ["BENCH_DATABASE_URL"]
    issuer = os.environ["BENCH_JWT_ISSUER"]
    audience = os.environ["BENCH_JWT_AUDIENCE"]
    signing_key = ec.generate_private_key(ec.SECP256R1())
    kid = secrets.token_hex(8)

    @post("/auth/refresh", status_code=200)
    async def refresh(
        data: dict[str, Any], request: Request[Any, Any, Any], state: State
    ) -> dict[str, Any]:
        raw = data.get("refreshToken")
        if not isinstance(raw, str):
            raise NotAuthorizedException()
        now = datetime.now(UTC)
        successor = "hub_rt_" + secrets.token_urlsafe(32)
        async with state.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(SELECT_FOR_UPDATE, hashlib.sha256(raw.encode()).digest())
            if (
                row is None
                or row["rotated_at"] is not None
                or row["revoked_at"] is not None
                or row["disabled_at"] is not None
                or row["expires_at"] <= now
            ):
                raise NotAuthorizedException()
            expires_at = now + REFRESH_TTL
            await conn.execute(
                INSERT_SUCCESSOR,
                uuid.uuid4(),
                row["session_id"],
                hashlib.sha256(successor.encode()).digest(),
                now,
                expires_at,
            )
            await conn.execute(MARK_ROTATED, row["id"], now, _seal(raw, successor.encode()))
            client = request.client.host if request.client else ""
            await conn.execute(TOUCH_SESSION, row["session_id"], now, client)
        issued = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer,
            "aud": audience,
            "sub": str(row["user_id"]),
            "sid": str(row["session_id"]),
            "iat": issued,
            "nbf": issued,
            "exp": issued + ACCESS_TTL,
            "auth_time": int(row["auth_time"].timestamp()),
            "amr": [m for m in row["amr"].split(",") if m],
        }
        if row["is_platform_admin"]:
            claims["adm"] = True
        access = jwt.encode(
            claims, signing_key, algorithm="ES256", headers={"kid": kid, "typ": "at+jwt"}
        )
        return {
            "status": "authenticated",
            "accessToken": access,
            "expiresIn": ACCESS_TTL,
            "refreshToken": successor,
            "refreshExpiresIn": int(REFRESH_TTL.total_seconds()),
            "sessionId": row["session_id"],
            "userId": row["user_id"],
            "tokenType": "Bearer",
        }

    @asynccontextmanager
    async def pool(app: Litestar) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(
            dsn,
            min_size=1,
            max_size=10,
            server_settings={"application_name": "bench-refresh-rotate", "jit": "off"},
        )
        try:
            yield
        finally:
            await app.state.pool.close()

    @get("/ready", sync_to_thread=False)
    def ready() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar(
        route_handlers=[refresh, ready], lifespan=[pool], debug=False, logging_config=None
    )
