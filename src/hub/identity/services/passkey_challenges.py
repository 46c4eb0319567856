"""Challenges of passkey ceremonies, kept server-side in Redis: single use, short-lived.

The browser gets a challenge id beside the WebAuthn options and hands it back with the
authenticator's answer. Taking a challenge deletes it (``GETDEL``, atomic across
processes), so an answer can be checked once: a replayed assertion finds nothing, even
while its signature would still verify. A challenge knows what it was issued for
(registration, sign-in, second factor, step-up) and for whom, so one issued for one
ceremony cannot complete another.
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

CHALLENGE_PREFIX = "hub_pkc_"
_KEY = "hub:passkey:challenge:"

REGISTER = "register"
SIGN_IN = "sign_in"
SECOND_FACTOR = "second_factor"
REAUTHENTICATE = "reauthenticate"


class Pending(msgspec.Struct, frozen=True, kw_only=True):
    purpose: str
    challenge: bytes
    #: The account the ceremony is for; None for a discoverable sign-in.
    user_id: uuid.UUID | None = None
    #: SHA-256 of the MFA token a second-factor challenge belongs to.
    bound_to: str | None = None


def fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _key(challenge_id: str) -> str:
    return _KEY + fingerprint(challenge_id)


@dataclass(eq=False)
class PasskeyChallenges:
    redis: Redis
    settings: IdentitySettings

    async def issue(
        self, purpose: str, *, user_id: uuid.UUID | None = None, bound_to: str | None = None
    ) -> tuple[str, bytes]:
        """A new challenge (32 random bytes) and the id the client answers with."""
        challenge = secrets.token_bytes(32)
        challenge_id = new_token(CHALLENGE_PREFIX)
        pending = Pending(purpose=purpose, challenge=challenge, user_id=user_id, bound_to=bound_to)
        await self.redis.set(
            _key(challenge_id),
            msgspec.msgpack.encode(pending),
            ex=self.settings.webauthn_challenge_ttl_seconds,
        )
        return challenge_id, challenge

    async def take(self, challenge_id: str, purpose: str) -> Pending | None:
        """The challenge, consumed; None when unknown, expired, used or for another purpose."""
        raw = await self.redis.getdel(_key(challenge_id))
        if raw is None:
            return None
        pending = msgspec.msgpack.decode(cast(bytes, raw), type=Pending)
        return pending if pending.purpose == purpose else None
