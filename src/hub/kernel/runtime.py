"""The kernel's live resources for one process: settings, database, Redis, registries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from hub.kernel.cache import create_redis
from hub.kernel.db import Database
from hub.kernel.permissions import PermissionRegistry
from hub.kernel.ratelimit import RateLimiter
from hub.kernel.security import Authenticator, build_authenticator
from hub.kernel.settings import Settings


@dataclass
class Kernel:
    settings: Settings
    database_url: str
    redis_url: str
    db: Database = field(init=False)
    redis: Redis = field(init=False)
    permissions: PermissionRegistry = field(default_factory=PermissionRegistry)
    security: Authenticator = field(init=False)
    rate_limits: RateLimiter = field(init=False)
    #: Per-process state a context builds at start-up (keyed by context name), so the
    #: kernel can carry it without knowing its type.
    extensions: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.db = Database(
            self.database_url,
            pool_size=self.settings.db_pool_size,
            max_overflow=self.settings.db_max_overflow,
            echo=self.settings.db_echo,
        )
        self.redis = create_redis(self.redis_url)
        self.security = build_authenticator(self.settings, self.redis)
        self.rate_limits = RateLimiter.from_settings(self.settings, self.redis_url, self.redis)

    async def close(self) -> None:
        await self.rate_limits.close()
        await self.redis.aclose()
        await self.db.dispose()
