"""The shape of an API key: ``hub_ak_<public id>_<secret>``.

The public id finds the row with an index lookup; the secret (256 random bits) is only
ever compared as a keyed hash. Because the secret is high-entropy, HMAC-SHA256 is as
safe as a slow password hash here and costs microseconds per request.
"""

from __future__ import annotations

import hmac
import re
import secrets

from hub.identity.domain.secrets import keyed_hash

PREFIX = "hub_ak_"
_PUBLIC_ID_BYTES = 8
_SHAPE = re.compile(r"^hub_ak_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


def new_api_key() -> tuple[str, str, str]:
    """``(full key, public id, secret)`` for a new key."""
    public_id = secrets.token_hex(_PUBLIC_ID_BYTES)
    secret = secrets.token_urlsafe(32)
    return f"{PREFIX}{public_id}_{secret}", public_id, secret


def parse_api_key(key: str) -> tuple[str, str] | None:
    """``(public id, secret)``, or None when ``key`` cannot be one of ours."""
    match = _SHAPE.match(key)
    if match is None:
        return None
    return match.group(1), match.group(2)


def display_prefix(public_id: str) -> str:
    """What a listing shows so a person can tell keys apart without the secret."""
    return f"{PREFIX}{public_id}"


def secret_hash(key: bytes, secret: str) -> bytes:
    return keyed_hash(key, secret)


def secret_matches(key: bytes, secret: str, stored: bytes) -> bool:
    return hmac.compare_digest(keyed_hash(key, secret), stored)
