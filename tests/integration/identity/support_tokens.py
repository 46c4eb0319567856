"""Minting tokens with the app's own signing key, for claims a real flow cannot produce
quickly (an old ``auth_time``)."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
from litestar import Litestar


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


async def with_claims(app: Litestar, token: str, **changes: Any) -> str:
    """``token`` re-signed by the app's current key with some claims changed.

    Only reads the key the app already holds in memory (its first issue loaded it), so it
    works from the test's event loop."""
    key = await app.state.kernel.services["signing_keys"].ring.active()
    return jwt.encode(
        {**claims_of(token), **changes},
        key.private_key,
        algorithm=key.algorithm,
        headers={"kid": key.kid, "typ": "at+jwt"},
    )
