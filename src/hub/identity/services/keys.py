"""Access-token signing keys: generated on first start, sealed at rest, rotated by CLI.

The newest unretired key signs. ``rotate`` retires it and adds a new one; a retired key
stays published (and so keeps verifying) until every token it signed has expired, which
is the token lifetime plus the leeway plus how long another process may keep signing
with a cached key.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, or_, select, text, update

from hub.identity.domain.secrets import Sealer
from hub.identity.domain.settings import IdentitySettings
from hub.identity.models import SigningKey
from hub.kernel.settings import Settings
from hub.kernel.store import Store

ALGORITHM = "ES256"
_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('identity.signing_keys'))")


@dataclass(frozen=True)
class ActiveKey:
    kid: str
    algorithm: str
    private_key: Any


@dataclass(frozen=True)
class PublishedKey:
    kid: str
    created_at: datetime
    retired_at: datetime | None
    jwk: dict[str, Any]


def _new_key(sealer: Sealer) -> SigningKey:
    kid = datetime.now(UTC).strftime("%Y%m%d") + "-" + secrets.token_hex(4)
    private_key = ec.generate_private_key(ec.SECP256R1())
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    jwk.update({"kid": kid, "alg": ALGORITHM, "use": "sig"})
    return SigningKey(
        kid=kid,
        algorithm=ALGORITHM,
        public_jwk=jwk,
        private_key_sealed=sealer.seal(pem, context=kid.encode()),
    )


class KeyRing:
    def __init__(
        self, store: Store, settings: Settings, config: IdentitySettings, sealer: Sealer
    ) -> None:
        self.store = store
        self.config = config
        self.settings = settings
        self.sealer = sealer
        self._active: ActiveKey | None = None
        self._loaded_at = float("-inf")
        #: Called when this process starts signing with a key it had not seen (so its own
        #: verifier learns the key before the first token signed with it comes back).
        self.on_new_key: Callable[[], Awaitable[None]] | None = None

    @property
    def publish_window(self) -> timedelta:
        s = self.settings
        return timedelta(
            seconds=s.access_token_ttl_seconds
            + s.jwt_leeway_seconds
            + self.config.signing_key_cache_seconds
            + 60
        )

    async def ensure(self) -> None:
        """Create the first key unless one exists (concurrent starts create one only)."""
        async with self.store.uow() as uow:
            await uow.session.execute(_LOCK)
            active = await uow.session.scalar(
                select(SigningKey.kid).where(SigningKey.retired_at.is_(None)).limit(1)
            )
            if active is None:
                uow.session.add(_new_key(self.sealer))
            await uow.commit()

    async def rotate(self) -> str:
        """Retire the signing key and start signing with a new one; returns the new kid."""
        async with self.store.uow() as uow:
            await uow.session.execute(_LOCK)
            await uow.session.execute(
                update(SigningKey)
                .where(SigningKey.retired_at.is_(None))
                .values(retired_at=func.now())
            )
            key = _new_key(self.sealer)
            uow.session.add(key)
            await uow.commit()
        self._loaded_at = float("-inf")
        return key.kid

    async def published(self) -> list[PublishedKey]:
        cutoff = datetime.now(UTC) - self.publish_window
        rows = await self.store.all(
            select(
                SigningKey.kid,
                SigningKey.created_at,
                SigningKey.retired_at,
                SigningKey.public_jwk,
            )
            .where(or_(SigningKey.retired_at.is_(None), SigningKey.retired_at > cutoff))
            .order_by(SigningKey.created_at.desc())
        )
        return [PublishedKey(r.kid, r.created_at, r.retired_at, dict(r.public_jwk)) for r in rows]

    async def jwks(self) -> list[dict[str, Any]]:
        return [key.jwk for key in await self.published()]

    async def active(self) -> ActiveKey:
        """The signing key, re-read at most every ``signing_key_cache_seconds``."""
        fresh = time.monotonic() - self._loaded_at < self.config.signing_key_cache_seconds
        if self._active is not None and fresh:
            return self._active
        row = await self.store.first(
            select(SigningKey.kid, SigningKey.algorithm, SigningKey.private_key_sealed)
            .where(SigningKey.retired_at.is_(None))
            .order_by(SigningKey.created_at.desc())
            .limit(1)
        )
        if row is None:
            await self.ensure()
            return await self.active()
        if self._active is None or self._active.kid != row.kid:
            pem = self.sealer.open(row.private_key_sealed, context=row.kid.encode())
            self._active = ActiveKey(
                kid=row.kid,
                algorithm=row.algorithm,
                private_key=serialization.load_pem_private_key(pem, password=None),
            )
            if self.on_new_key is not None:
                await self.on_new_key()
        self._loaded_at = time.monotonic()
        return self._active
