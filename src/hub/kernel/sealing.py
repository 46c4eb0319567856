"""Sealing values at rest: AES-256-GCM under a key derived from HUB_SECRET_KEY.

The kernel and every context store things a database or Redis reader must not be able to
use (mail requests carry live sign-up and reset links; TOTP secrets, signing keys, webhook
secrets, channel URLs). They all seal with this one sealer, built only on the
``cryptography`` package's AEAD (no hand-made cryptography).

Each purpose gets its own HKDF-SHA256 key, so a value sealed for one use never opens for
another; identity passes its own salt (it sealed before this module existed), so no key
the kernel derives equals one identity derives.
Values are sealed with ``HUB_SECRET_KEY`` and opened with it or any key of
``HUB_SECRET_KEY_PREVIOUS``: a key rotation does not strand what was sealed before it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hub.kernel.settings import Settings

#: First byte of a sealed value: the layout (version, 12-byte nonce, ciphertext + tag).
_VERSION = b"\x01"
_NONCE_BYTES = 12
_SALT = b"hub.kernel"
#: Key ids were first stored by identity (beside its keyed hashes); the derivation keeps its
#: salt so the ids already stored stay valid.
_KEY_ID_SALT = b"hub.identity"


class UnsealableError(ValueError):
    """No configured key opens the value: it was sealed under a key that is neither
    ``HUB_SECRET_KEY`` nor listed in ``HUB_SECRET_KEY_PREVIOUS``, or it was altered."""


def derive_key(secret: bytes, purpose: str, *, salt: bytes = _SALT) -> bytes:
    """A 256-bit key for one purpose (a context passes its own salt)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=purpose.encode()).derive(
        secret
    )


def key_id(secret: bytes) -> str:
    """A short public name for one secret key (8 hex digits), shown by ``hub secrets
    status`` and stored next to keyed hashes, so an operator can count what still depends
    on a previous key. An HKDF output of its own purpose: it tells nothing about the keys
    derived for other purposes."""
    return derive_key(secret, "key-id", salt=_KEY_ID_SALT)[:4].hex()


def configured_secrets(settings: Settings) -> list[bytes]:
    """``HUB_SECRET_KEY`` then each key of ``HUB_SECRET_KEY_PREVIOUS`` in order, repeats
    dropped: the order in which every sealer tries them (index 0 is the current key)."""
    keys: list[bytes] = []
    for secret in (settings.secret_key, *settings.secret_key_previous):
        raw = secret.encode()
        if raw not in keys:
            keys.append(raw)
    return keys


def configured_key_ids(settings: Settings) -> list[str]:
    """The :func:`key_id` of each configured key, in :func:`configured_secrets` order."""
    return [key_id(secret) for secret in configured_secrets(settings)]


class Sealer:
    """Seals with the first key, opens with any of them (current first).

    The AEAD tag decides which key made a value: a wrong key fails authentication, it never
    yields garbage. ``context`` (associated data) binds a value to where it is used.
    """

    def __init__(
        self, secrets: Sequence[str | bytes], purpose: str, *, salt: bytes = _SALT
    ) -> None:
        if not secrets:
            raise ValueError("a sealer needs at least one key")
        keys: list[bytes] = []
        for secret in secrets:
            raw = secret.encode() if isinstance(secret, str) else secret
            if raw not in keys:
                keys.append(raw)
        self._aeads = tuple(AESGCM(derive_key(k, purpose, salt=salt)) for k in keys)

    @classmethod
    def from_settings(cls, settings: Settings, purpose: str) -> Sealer:
        """``HUB_SECRET_KEY`` seals; it and ``HUB_SECRET_KEY_PREVIOUS`` open."""
        return cls(configured_secrets(settings), purpose)

    def seal(self, plaintext: bytes, *, context: bytes = b"") -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._aeads[0].encrypt(nonce, plaintext, context)

    def open(self, sealed: bytes, *, context: bytes = b"") -> bytes:
        """The plaintext, or :class:`UnsealableError` when no configured key opens it."""
        return self.unseal(sealed, context=context)[0]

    def unseal(self, sealed: bytes, *, context: bytes = b"") -> tuple[bytes, int]:
        """``(plaintext, which key opened it)``: 0 the current key, *n* the *n*-th previous
        one (what ``hub secrets rotate`` needs to know)."""
        if sealed[:1] != _VERSION or len(sealed) < 1 + _NONCE_BYTES + 16:
            raise UnsealableError("not a sealed value of a known format")
        nonce, body = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        for index, aead in enumerate(self._aeads):
            try:
                return aead.decrypt(nonce, body, context), index
            except InvalidTag:
                continue
        raise UnsealableError("no configured key opens this value")
