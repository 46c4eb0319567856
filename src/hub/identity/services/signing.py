"""Signing keys in one process: the key ring that signs and the verifier that must know
every key the ring might sign with before a token made with it comes back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.identity.services.keys import KeyRing
from hub.kernel.security import TokenVerifier


@dataclass(eq=False)
class SigningKeys:
    ring: KeyRing
    verifier: TokenVerifier

    async def start(self) -> None:
        """Make sure a signing key exists and hand the kernel's verifier the public keys."""
        await self.ring.ensure()
        self.verifier.use_key_loader(self.public_keys)
        self.ring.on_new_key = self.verifier.reload_keys
        await self.verifier.reload_keys()

    async def public_keys(self) -> list[dict[str, Any]]:
        return await self.ring.jwks()

    async def rotate(self) -> str:
        await self.ring.ensure()
        kid = await self.ring.rotate()
        await self.verifier.reload_keys()
        return kid
