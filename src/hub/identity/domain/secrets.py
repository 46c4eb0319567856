"""Opaque secrets (tokens, recovery codes) and how they are stored: hashed, or sealed.

Every token identity hands out carries at least 256 bits from :mod:`secrets`, so storing
its SHA-256 is enough: nothing can be guessed back from the hash, and a lookup by hash
takes the same time whether or not the token exists.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_SEAL_VERSION = b"\x01"
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 10
RECOVERY_CODE_COUNT = 10


def new_token(prefix: str) -> str:
    """A bearer secret; the prefix lets secret scanners and humans recognise it."""
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A 256-bit key for one purpose, so no two uses of ``HUB_SECRET_KEY`` share a key."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"hub.identity", info=purpose.encode()
    ).derive(secret)


class Sealer:
    """AES-256-GCM under a key derived for one purpose (private keys, TOTP secrets)."""

    def __init__(self, secret: bytes, purpose: str) -> None:
        self._aead = AESGCM(derive_key(secret, purpose))

    def seal(self, plaintext: bytes, *, context: bytes = b"") -> bytes:
        nonce = os.urandom(12)
        return _SEAL_VERSION + nonce + self._aead.encrypt(nonce, plaintext, context)

    def open(self, sealed: bytes, *, context: bytes = b"") -> bytes:
        if sealed[:1] != _SEAL_VERSION:
            raise ValueError("unknown sealed format")
        return self._aead.decrypt(sealed[1:13], sealed[13:], context)


def sealer_for_token(token: str) -> Sealer:
    """A sealer only the holder of ``token`` can open (refresh-token successors)."""
    return Sealer(token.encode("utf-8"), "refresh-successor")


def keyed_hash(key: bytes, value: str) -> bytes:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).digest()


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
    sealed or hashed for one purpose is useless for another."""

    def __init__(self, secret_key: str) -> None:
        secret = secret_key.encode()
        self.totp = Sealer(secret, "totp-secrets")
        self.signing_keys = Sealer(secret, "signing-keys")
        self.recovery_key = derive_key(secret, "recovery-codes")
        self.binding_key = derive_key(secret, "password-binding")
        self.api_key_hash_key = derive_key(secret, "api-keys")
