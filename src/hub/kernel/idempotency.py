"""``Idempotency-Key``: a retried write returns its first response instead of acting twice.

The key is remembered per caller and operation in Redis for ``HUB_IDEMPOTENCY_TTL_SECONDS``
with a fingerprint of the request and the response it produced. A replay with the same
body gets that response again; the same key with another body is a 422; a replay while
the first request is still running is a 409 (retry later). A failed request (an error
response) forgets its key, so the client may retry it.

Limit: the response is stored right after the change commits; a process dying in that
gap lets a retry act again after the 60-second pending mark expires.

In the kernel because every context has retryable writes (organisations, invitations,
uploads, notifications).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import msgspec
from redis.asyncio import Redis

from hub.kernel.errors import Conflict, Invalid

T = TypeVar("T")

_PREFIX = "hub:idem:"
_PENDING_SECONDS = 60
MAX_KEY_LENGTH = 255
#: Visible ASCII, spaces only inside (HTTP strips them at the ends); the OpenAPI document
#: states the same pattern, so a key the document allows is never refused.
KEY_PATTERN = r"^[!-~](?:[ -~]*[!-~])?$"
_KEY = re.compile(KEY_PATTERN)


class _Stored(msgspec.Struct, frozen=True):
    fingerprint: str
    body: bytes | None = None


class IdempotentWrites:
    def __init__(self, redis: Redis, ttl_seconds: int) -> None:
        self.redis = redis
        self.ttl_seconds = ttl_seconds

    @staticmethod
    def fingerprint(operation: str, *parts: Any) -> str:
        return hashlib.sha256(msgspec.json.encode([operation, *parts])).hexdigest()

    async def once(
        self,
        *,
        key: str | None,
        caller: uuid.UUID,
        operation: str,
        request: Any,
        produce: Callable[[], Awaitable[T]],
        result_type: type[T],
    ) -> tuple[T, bool]:
        """``(response, replayed)``. Without a key, simply runs ``produce``."""
        if key is None:
            return await produce(), False
        if len(key) > MAX_KEY_LENGTH or not _KEY.match(key):
            raise Invalid(
                "The Idempotency-Key header must be 1 to 255 visible ASCII characters.",
                code="invalid_idempotency_key",
                status_code=400,
            )
        fingerprint = self.fingerprint(operation, request)
        scope = hashlib.sha256(f"{caller}\0{operation}\0{key}".encode()).hexdigest()
        redis_key = _PREFIX + scope
        pending = msgspec.msgpack.encode(_Stored(fingerprint=fingerprint))
        if not await self.redis.set(redis_key, pending, nx=True, ex=_PENDING_SECONDS):
            raw = await self.redis.get(redis_key)
            if raw is None:  # expired between the two calls: treat as in progress
                raise _in_progress()
            stored = msgspec.msgpack.decode(cast(bytes, raw), type=_Stored)
            if stored.fingerprint != fingerprint:
                raise Invalid(
                    "This Idempotency-Key was already used for a different request.",
                    code="idempotency_key_reused",
                )
            if stored.body is None:
                raise _in_progress()
            return msgspec.json.decode(stored.body, type=result_type), True
        try:
            result = await produce()
        except BaseException:
            await self.redis.delete(redis_key)
            raise
        done = _Stored(fingerprint=fingerprint, body=msgspec.json.encode(result))
        await self.redis.set(redis_key, msgspec.msgpack.encode(done), ex=self.ttl_seconds)
        return result, False


def _in_progress() -> Conflict:
    return Conflict(
        "A request with this Idempotency-Key is still being processed; retry shortly.",
        code="idempotency_key_in_progress",
    )
