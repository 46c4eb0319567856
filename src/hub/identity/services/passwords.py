"""argon2id hashing, always in a worker thread so a login storm never blocks the loop."""

from __future__ import annotations

import os
from typing import Any

import anyio
import anyio.to_thread
import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from hub.identity.domain.passwords import is_unusable, normalise_password
from hub.identity.domain.settings import IdentitySettings


class PasswordHasher:
    """argon2-cffi releases the GIL while hashing, so threads give real parallelism; the
    limiter (one slot per core) bounds memory (19 MiB a hash) and keeps a storm of
    logins from starving every other thread-pool user."""

    def __init__(self, settings: IdentitySettings) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=settings.password_hash_time_cost,
            memory_cost=settings.password_hash_memory_kib,
            parallelism=settings.password_hash_parallelism,
            hash_len=32,
            salt_len=16,
            type=argon2.Type.ID,
        )
        self._limiter: anyio.CapacityLimiter | None = None
        self._dummy_hash: str | None = None

    async def _run(self, fn: Any, *args: Any) -> Any:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(max(1, os.cpu_count() or 1))
        return await anyio.to_thread.run_sync(fn, *args, limiter=self._limiter)

    async def hash(self, password: str) -> str:
        return str(await self._run(self._hasher.hash, normalise_password(password)))

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return bool(self._hasher.verify(password_hash, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def verify(self, password_hash: str, password: str) -> bool:
        if is_unusable(password_hash):
            # As long as a real check, so the time does not tell this account apart.
            await self.verify_dummy(password)
            return False
        return bool(await self._run(self._verify, password_hash, normalise_password(password)))

    async def warm_up(self) -> None:
        """Make the dummy hash at start-up, so the first unknown-account login is not the
        one request that takes twice as long."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash("not a real password: timing equaliser")

    async def verify_dummy(self, password: str) -> None:
        """Spend the time of a real verification, for accounts that do not exist."""
        await self.warm_up()
        assert self._dummy_hash is not None
        await self.verify(self._dummy_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return bool(self._hasher.check_needs_rehash(password_hash))
        except InvalidHashError:
            return True
