"""What a single sign-on remembers between its steps, kept server-side in Redis: single
use, short-lived.

* The **state** of a sign-in: the ``state`` parameter sent to the provider names it; it
  holds the provider, the ``nonce`` the ID token must carry and the PKCE verifier.
  Taking it deletes it (``GETDEL``, atomic across processes), so a callback replayed
  with the same ``state`` finds nothing, and one whose state was never issued here
  (a forged or cross-site request) neither.
* A **pending link**: a sign-in met an existing account with the same verified
  address; the token handed back lets the account's owner confirm the link (with their
  password) within ``HUB_OIDC_LINK_TTL_SECONDS``, once.

Only SHA-256 fingerprints of the tokens are keys, so a Redis dump opens nothing.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import cast

import msgspec
from redis.asyncio import Redis

from hub.identity.domain.secrets import new_token
from hub.identity.domain.settings import IdentitySettings

LINK_PREFIX = "hub_ssl_"
_STATE_KEY = "hub:sso:state:"
_LINK_KEY = "hub:sso:link:"


class PendingSignIn(msgspec.Struct, frozen=True, kw_only=True):
    provider_id: uuid.UUID
    nonce: str
    code_verifier: str


class PendingLink(msgspec.Struct, frozen=True, kw_only=True):
    provider_id: uuid.UUID
    subject: str
    user_id: uuid.UUID
    email: str
    #: The provider's session (``sid``) of the sign-in that met the account.
    provider_session: str | None = None
    #: Its ID token (the hint of an RP-initiated logout).
    id_token: str | None = None


def _key(prefix: str, token: str) -> str:
    return prefix + hashlib.sha256(token.encode()).hexdigest()


@dataclass(eq=False)
class SsoState:
    redis: Redis
    settings: IdentitySettings

    async def begin(self, provider_id: uuid.UUID) -> tuple[str, PendingSignIn]:
        """A new ``state`` (256 bits), with a fresh nonce and PKCE verifier (RFC 7636:
        43 to 128 characters of the unreserved set; 43 from 32 random bytes)."""
        state = secrets.token_urlsafe(32)
        pending = PendingSignIn(
            provider_id=provider_id,
            nonce=secrets.token_urlsafe(32),
            code_verifier=secrets.token_urlsafe(48),
        )
        await self.redis.set(
            _key(_STATE_KEY, state),
            msgspec.msgpack.encode(pending),
            ex=self.settings.oidc_state_ttl_seconds,
        )
        return state, pending

    async def take(self, state: str) -> PendingSignIn | None:
        """The sign-in ``state`` names, consumed; None when unknown, expired or used."""
        raw = await self.redis.getdel(_key(_STATE_KEY, state))
        if raw is None:
            return None
        return msgspec.msgpack.decode(cast(bytes, raw), type=PendingSignIn)

    async def offer_link(self, link: PendingLink) -> str:
        token = new_token(LINK_PREFIX)
        await self.redis.set(
            _key(_LINK_KEY, token),
            msgspec.msgpack.encode(link),
            ex=self.settings.oidc_link_ttl_seconds,
        )
        return token

    async def peek_link(self, token: str) -> PendingLink | None:
        raw = await self.redis.get(_key(_LINK_KEY, token))
        if raw is None:
            return None
        return msgspec.msgpack.decode(cast(bytes, raw), type=PendingLink)

    async def close_link(self, token: str) -> bool:
        """Consume a pending link; False when another request consumed it first."""
        return bool(await self.redis.delete(_key(_LINK_KEY, token)))
