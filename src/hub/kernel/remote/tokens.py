"""Service credentials between the processes of one deployment: short-lived signed tokens.

A process calling another's internal endpoints sends ``Authorization: Service <token>``;
the token is ``<expiry>.<caller>.<signature>``, HMAC-SHA256 under the service key
(``HUB_SERVICE_KEY``, else one derived from ``HUB_SECRET_KEY``, which every process of a
deployment already shares). No database is shared and no user token is forwarded: the
callee learns only that another part of the hub asks, and until when it may. A leaked token
is good for :data:`TOKEN_TTL_S` at most.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable

#: How long a minted token is accepted; a caller mints a new one well before.
TOKEN_TTL_S = 60
#: A caller reuses its token until this little of its life is left.
_RENEW_BEFORE_S = 20
#: Clock difference between two hosts tolerated on expiry.
_LEEWAY_S = 5
_CALLER_RE = re.compile(r"^[a-z][a-z0-9+_-]{0,63}$")
_DERIVATION = b"hub service token v1"


def service_key(secret_key: str, explicit: str | None) -> bytes:
    """The key tokens are signed with: ``HUB_SERVICE_KEY`` when set, else derived from
    ``HUB_SECRET_KEY`` (a separate key per purpose, never the secret key itself)."""
    if explicit:
        return explicit.encode()
    return hmac.new(secret_key.encode(), _DERIVATION, hashlib.sha256).digest()


def _sign(key: bytes, payload: str) -> str:
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class ServiceTokens:
    """Mints (caller side) and checks (callee side) service tokens."""

    def __init__(
        self, key: bytes, *, caller: str = "hub", now: Callable[[], float] = time.time
    ) -> None:
        if not _CALLER_RE.match(caller):
            raise ValueError(f"caller name {caller!r} must be a lower-case word")
        self.key = key
        self.caller = caller
        self.now = now
        self._current: tuple[int, str] | None = None

    def token(self) -> str:
        """A token valid for :data:`TOKEN_TTL_S`, reused until it nears its expiry."""
        now = self.now()
        if self._current is None or self._current[0] - now < _RENEW_BEFORE_S:
            expiry = int(now) + TOKEN_TTL_S
            payload = f"{expiry}.{self.caller}"
            self._current = (expiry, f"{payload}.{_sign(self.key, payload)}")
        return self._current[1]

    def verify(self, token: str) -> str | None:
        """The caller's name when the token is genuine and current; else None."""
        parts = token.split(".")
        if len(parts) != 3 or not parts[0].isdigit() or not _CALLER_RE.match(parts[1]):
            return None
        payload = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(_sign(self.key, payload), parts[2]):
            return None
        expiry = int(parts[0])
        now = self.now()
        if expiry + _LEEWAY_S < now or expiry > now + TOKEN_TTL_S + _LEEWAY_S:
            return None
        return parts[1]
