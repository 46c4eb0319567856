"""Access tokens (short-lived JWTs) the kernel verifies with the public keys alone."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime

import jwt

from hub.identity.services.keys import KeyRing
from hub.kernel.security import ACCESS_TOKEN_TYPE
from hub.kernel.settings import Settings


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_in: int


@dataclass(eq=False)
class AccessTokens:
    keys: KeyRing
    settings: Settings

    async def issue(
        self,
        *,
        user_id: uuid.UUID,
        session_id: uuid.UUID,
        auth_time: datetime,
        amr: list[str],
        is_platform_admin: bool,
        not_after: int | None = None,
    ) -> AccessToken:
        """``not_after``: seconds the session has left (its maximum age); the token never
        outlives it."""
        key = await self.keys.active()
        now = int(time.time())
        ttl = self.settings.access_token_ttl_seconds
        if not_after is not None:
            ttl = max(1, min(ttl, not_after))
        claims: dict[str, object] = {
            "iss": self.settings.token_issuer,
            "aud": self.settings.jwt_audience,
            "sub": str(user_id),
            "sid": str(session_id),
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "auth_time": int(auth_time.timestamp()),
            "amr": amr,
        }
        if is_platform_admin:
            claims["adm"] = True
        token = jwt.encode(
            claims,
            key.private_key,
            algorithm=key.algorithm,
            headers={"kid": key.kid, "typ": ACCESS_TOKEN_TYPE},
        )
        return AccessToken(token=token, expires_in=ttl)
