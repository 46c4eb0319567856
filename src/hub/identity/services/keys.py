"""Access-token signing keys: generated on first start, sealed at rest, rotated by CLI.

The newest unretired key signs. ``rotate`` retires it and adds a new one; a retired key
stays published (and so keeps verifying) until every token it signed has expired, which
is the token lifetime plus the leeway plus how long another process may keep signing
with a cached key.

A signing key no configured ``HUB_SECRET_KEY`` opens (the key changed without listing the
old one in ``HUB_SECRET_KEY_PREVIOUS``) is retired and replaced instead of failing every
sign-in: its public key stays published, so the tokens it signed keep verifying.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, or_, select, text, update

from hub.identity.domain.secrets import Sealer, UnsealableError
from hub.identity.domain.settings import IdentitySettings
from hub.identity.models import SigningKey
from hub.kernel.db import UnitOfWork
from hub.kernel.settings import Settings
from hub.kernel.store import Store

ALGORITHM = "ES256"
_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('identity.signing_keys'))")

log = structlog.get_logger("hub.identity")


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


def _new_key(sealer: Sealer) -> tuple[SigningKey, Any]:
    """A new signing-key row and its private key."""
    kid = datetime.now(UTC).strftime("%Y%m%d") + "-" + secrets.token_hex(4)
    private_key = ec.generate_private_key(ec.SECP256R1())
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    jwk.update({"kid": kid, "alg": ALGORITHM, "use": "sig"})
    row = SigningKey(
        kid=kid,
        algorithm=ALGORITHM,
        public_jwk=jwk,
        private_key_sealed=sealer.seal(pem, context=kid.encode()),
    )
    return row, private_key


async def _replace_key(uow: UnitOfWork, sealer: Sealer) -> tuple[SigningKey, Any]:
    """Retire the signing key in use and add a new one in ``uow``."""
    await uow.session.execute(
        update(SigningKey).where(SigningKey.retired_at.is_(None)).values(retired_at=func.now())
    )
    key, private_key = _new_key(sealer)
    uow.session.add(key)
    return key, private_key


#: The signing key: the newest unretired one.
_SIGNING = (
    select(SigningKey.kid, SigningKey.algorithm, SigningKey.private_key_sealed)
    .where(SigningKey.retired_at.is_(None))
    .order_by(SigningKey.created_at.desc())
    .limit(1)
)


def _opened(sealer: Sealer, row: Any) -> ActiveKey:
    """The signing key of ``row``; :class:`UnsealableError` when no configured key opens it."""
    pem = sealer.open(row.private_key_sealed, context=row.kid.encode())
    return ActiveKey(
        kid=row.kid,
        algorithm=row.algorithm,
        private_key=serialization.load_pem_private_key(pem, password=None),
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
                uow.session.add(_new_key(self.sealer)[0])
            await uow.commit()

    async def rotate(self) -> str:
        """Retire the signing key and start signing with a new one; returns the new kid."""
        async with self.store.uow() as uow:
            await uow.session.execute(_LOCK)
            key, _ = await _replace_key(uow, self.sealer)
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
        row = await self.store.first(_SIGNING)
        if row is None:
            await self.ensure()
            return await self.active()
        if self._active is None or self._active.kid != row.kid:
            try:
                self._active = _opened(self.sealer, row)
            except UnsealableError:
                self._active = await self._replace_unreadable()
            if self.on_new_key is not None:
                await self.on_new_key()
        self._loaded_at = time.monotonic()
        return self._active

    async def _replace_unreadable(self) -> ActiveKey:
        """Retire the signing key, which no configured key opens, and sign with a new one.

        Decided again under the lock: processes meeting the same unreadable key at once
        replace it once (the later ones find the replacement and open it).
        """
        async with self.store.uow() as uow:
            await uow.session.execute(_LOCK)
            row = (await uow.session.execute(_SIGNING)).first()
            if row is not None:
                try:
                    active = _opened(self.sealer, row)
                except UnsealableError:
                    log.error(
                        "signing_key_unreadable",
                        kid=row.kid,
                        problem=(
                            "sealed under a HUB_SECRET_KEY that is neither the current key "
                            "nor listed in HUB_SECRET_KEY_PREVIOUS; retired it and signing "
                            "with a new key (tokens it signed keep verifying). "
                            "README: Rotating HUB_SECRET_KEY"
                        ),
                    )
                else:
                    await uow.commit()
                    return active
            key, private_key = await _replace_key(uow, self.sealer)
            await uow.commit()
        return ActiveKey(kid=key.kid, algorithm=key.algorithm, private_key=private_key)
