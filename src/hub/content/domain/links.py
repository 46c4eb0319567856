"""Share links and notes: the pure rules.

A share link's token is shown once and stored only as its SHA-256, so the table cannot
hand out working links; a link is found by hashing what the caller presents. A link is
usable while it is neither revoked nor expired and its document is not in the trash; any
other case looks exactly like an unknown token (a share URL must not reveal whether a
document exists).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

#: Days a link lives when the request names no expiry.
DEFAULT_LINK_DAYS = 7
#: The longest a link may live.
MAX_LINK_DAYS = 365
#: Random bytes of a token (43 characters of base64url).
TOKEN_BYTES = 32
#: Longest note text.
MAX_NOTE_CHARS = 10_000
#: People one note may mention.
MAX_MENTIONS = 20


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What the table keeps of a token (hex SHA-256): looked up, never compared in Python."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def expires_at(now: datetime, days: int | None) -> datetime:
    return now + timedelta(days=DEFAULT_LINK_DAYS if days is None else days)


def usable(
    *,
    now: datetime,
    expires: datetime,
    revoked: datetime | None,
    document_trashed: datetime | None,
) -> bool:
    return revoked is None and document_trashed is None and now < expires


def share_url(public_url: str, token: str) -> str:
    """The one URL a link is given as: ``{HUB_PUBLIC_URL}/api/v1/share/{token}``."""
    return f"{public_url.rstrip('/')}/api/v1/share/{token}"
