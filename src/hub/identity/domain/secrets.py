"""Opaque secrets (tokens, recovery codes) and how they are stored: hashed, or sealed.

Every token identity hands out carries at least 256 bits from :mod:`secrets`, so storing
its SHA-256 is enough: nothing can be guessed back from the hash, and a lookup by hash
takes the same time whether or not the token exists.

What depends on ``HUB_SECRET_KEY`` (sealed values, keyed hashes) also accepts the keys of
``HUB_SECRET_KEY_PREVIOUS``, so the key can be rotated: new values always use the current
key, old ones are opened or verified with whichever configured key made them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from hub.kernel import sealing as kernel_sealing

# Re-exported: identity's sealers raise the kernel's error; key ids are the kernel's.
from hub.kernel.sealing import UnsealableError as UnsealableError
from hub.kernel.sealing import key_id as key_id

RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 10
RECOVERY_CODE_COUNT = 10


def new_token(prefix: str) -> str:
    """A bearer secret; the prefix lets secret scanners and humans recognise it."""
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


#: Identity derived its keys before the kernel had a sealer: its own salt keeps what it
#: sealed and hashed then opening and verifying.
_SALT = b"hub.identity"


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A 256-bit key for one purpose, so no two uses of ``HUB_SECRET_KEY`` share a key."""
    return kernel_sealing.derive_key(secret, purpose, salt=_SALT)


class Sealer(kernel_sealing.Sealer):
    """The kernel's AES-256-GCM sealer under identity's keys (private keys, TOTP secrets,
    SSO client credentials): ``secret`` seals, it and each of ``previous`` open."""

    def __init__(self, secret: bytes, purpose: str, *, previous: Sequence[bytes] = ()) -> None:
        super().__init__([secret, *previous], purpose, salt=_SALT)


def sealer_for_token(token: str) -> Sealer:
    """A sealer only the holder of ``token`` can open (refresh-token successors)."""
    return Sealer(token.encode("utf-8"), "refresh-successor")


def keyed_hash(key: bytes, value: str) -> bytes:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).digest()


@dataclass(frozen=True)
class SecretKey:
    """One configured secret key: ``HUB_SECRET_KEY`` or one of ``HUB_SECRET_KEY_PREVIOUS``."""

    id: str
    secret: bytes


def secret_keys(current: str, previous: Sequence[str] = ()) -> tuple[SecretKey, ...]:
    """The current key first, then the previous ones in the order given, repeats dropped."""
    keys: list[SecretKey] = []
    for text in (current, *previous):
        secret = text.encode()
        if all(k.secret != secret for k in keys):
            keys.append(SecretKey(key_id(secret), secret))
    return tuple(keys)


class KeyedHash:
    """HMAC-SHA256 for one purpose: made with the current key, checked against every
    configured key. A keyed hash cannot be re-made without its plaintext, so rows keep the
    id of the key that made them until a use (which shows the plaintext) upgrades them."""

    def __init__(self, keys: Sequence[SecretKey], purpose: str) -> None:
        self._keys = tuple((k.id, derive_key(k.secret, purpose)) for k in keys)

    @property
    def key_id(self) -> str:
        """The id of the current key, stored next to every hash made now."""
        return self._keys[0][0]

    def digest(self, value: str) -> bytes:
        return keyed_hash(self._keys[0][1], value)

    def digests(self, value: str) -> list[bytes]:
        """``value`` under every configured key, current first (to look a hash up)."""
        return [keyed_hash(key, value) for _, key in self._keys]

    def matching_key(self, value: str, stored: bytes) -> str | None:
        """The id of the configured key under which ``value`` hashes to ``stored``."""
        found: str | None = None
        for kid, key in self._keys:
            if hmac.compare_digest(keyed_hash(key, value), stored) and found is None:
                found = kid
        return found


def new_recovery_codes() -> list[str]:
    """Ten codes of ten characters (~49 bits each) without look-alike characters."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def normalise_recovery_code(code: str) -> str:
    """Case and separators do not matter; a character outside ASCII letters and digits
    (``str.isalnum`` accepts other scripts) makes the code match nothing."""
    kept = "".join(ch for ch in code.lower() if ch not in " -")
    if not (kept.isascii() and kept.isalnum()):
        return ""
    return kept


class IdentitySecrets:
    """Every key identity derives from ``HUB_SECRET_KEY``, one per purpose, so a value
    sealed or hashed for one purpose is useless for another; the keys of
    ``HUB_SECRET_KEY_PREVIOUS`` still open and verify what they made."""

    def __init__(self, secret_key: str, previous: Sequence[str] = ()) -> None:
        self.keys = secret_keys(secret_key, previous)
        current, *older = (k.secret for k in self.keys)
        self.totp = Sealer(current, "totp-secrets", previous=older)
        self.signing_keys = Sealer(current, "signing-keys", previous=older)
        #: Client ids and secrets of single sign-on identity providers.
        self.sso_clients = Sealer(current, "sso-client-credentials", previous=older)
        #: ID tokens kept for the logout hint of sessions signed in through a provider.
        self.sso_id_tokens = Sealer(current, "sso-id-tokens", previous=older)
        self.recovery_codes = KeyedHash(self.keys, "recovery-codes")
        self.binding = KeyedHash(self.keys, "password-binding")
        self.api_keys = KeyedHash(self.keys, "api-keys")

    @property
    def key_id(self) -> str:
        return self.keys[0].id

    @property
    def previous_ids(self) -> tuple[str, ...]:
        return tuple(k.id for k in self.keys[1:])
