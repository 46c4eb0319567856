"""The kernel's live resources for one process, and the runtime each context is bound to.

:class:`Kernel` owns what a process shares (settings, database, Redis, authenticator,
permission catalogue, tenancy rule, clock). :meth:`Kernel.bind` hands a context a
:class:`ContextRuntime` that knows only that context: its store (reads and a unit of work
on its own outbox), its settings section, and the shared clock and Redis. A context's
services factory receives that runtime once at start-up and wires its use cases from it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis

from hub.kernel.cache import create_redis
from hub.kernel.clock import Clock, wall_clock
from hub.kernel.db import Database, UnitOfWork
from hub.kernel.idempotency import IdempotentWrites
from hub.kernel.jobs import JobSpec, queue_job
from hub.kernel.mail import MailMessage, MailTransport, queue_mail
from hub.kernel.mail_failover import mail_transport
from hub.kernel.permissions import PermissionRegistry
from hub.kernel.ratelimit import RateLimiter
from hub.kernel.redis_pipe import CommandRunner, ScriptRunner, command_runner, script_on
from hub.kernel.remote.client import RemoteClient
from hub.kernel.security import Authenticator, build_authenticator
from hub.kernel.semantic import SemanticSearch
from hub.kernel.settings import Settings
from hub.kernel.store import Store
from hub.kernel.tenancy import Tenancy

if TYPE_CHECKING:
    from hub.kernel.contexts import ContextModule


@dataclass
class Kernel:
    settings: Settings
    database_url: str
    redis_url: str
    clock: Clock = wall_clock
    db: Database = field(init=False)
    redis: Redis = field(init=False)
    #: The lean pipelined Redis connection for what every request pays (rate limit,
    #: revocation check, membership cache): ``hub.kernel.redis_pipe``.
    redis_pipe: CommandRunner = field(init=False)
    permissions: PermissionRegistry = field(default_factory=PermissionRegistry)
    security: Authenticator = field(init=False)
    tenancy: Tenancy = field(init=False)
    rate_limits: RateLimiter = field(init=False)
    idempotent_writes: IdempotentWrites = field(init=False)
    #: Where mail goes: the SMTP providers in order with their breakers, or the dev mailbox.
    mail_transport: MailTransport = field(init=False)
    #: Every context's services by dependency name (filled by ``hub.kernel.wiring``).
    services: dict[str, Any] = field(default_factory=dict)
    #: Meaning-based ranking for search, provided by a context (``hub.kernel.semantic``).
    semantic: SemanticSearch = field(default_factory=SemanticSearch)
    #: HTTP clients of the contexts served elsewhere (closed with the kernel).
    remote_clients: list[RemoteClient] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.db = Database(
            self.database_url,
            pool_size=self.settings.db_pool_size,
            max_overflow=self.settings.db_max_overflow,
            echo=self.settings.db_echo,
            timeout_s=self.settings.db_timeout_ms / 1000,
        )
        redis_timeout_s = self.settings.redis_timeout_ms / 1000
        self.redis = create_redis(self.redis_url, timeout_s=redis_timeout_s)
        self.redis_pipe = command_runner(self.redis_url, self.redis, timeout=redis_timeout_s)
        self.security = build_authenticator(self.settings, self.redis, pipe=self.redis_pipe)
        self.tenancy = Tenancy()
        self.rate_limits = RateLimiter.from_settings(
            self.settings, self.redis_url, self.redis, pipe=self.redis_pipe
        )
        self.idempotent_writes = IdempotentWrites(self.redis, self.settings.idempotency_ttl_seconds)
        self.mail_transport = mail_transport(self.settings, self.redis, self.clock)

    def now(self) -> datetime:
        """The kernel clock's time, read through ``self.clock`` at each call: what the
        contexts' services are given (``ContextRuntime.clock``), so a test that sets
        ``kernel.clock`` moves every context's time at once."""
        return self.clock()

    def script(self, source: str) -> ScriptRunner:
        """A Lua script run on the lean connection (``await script(keys, args)``), for a
        per-request hot path."""
        return script_on(self.redis_pipe, self.redis, source)

    def bind(self, module: ContextModule) -> ContextRuntime:
        return ContextRuntime(
            name=module.name,
            kernel=self,
            store=Store(self.db, module.outbox),
            config=self.settings.section(module.name) if module.settings is not None else None,
        )

    async def close(self) -> None:
        for client in self.remote_clients:
            await client.close()
        await self.rate_limits.close()
        await self.redis_pipe.close()
        await self.redis.aclose()
        await self.db.dispose()


@dataclass(frozen=True)
class ContextRuntime:
    """What one context is given: the kernel's resources, bound to that context."""

    name: str
    kernel: Kernel
    store: Store
    #: The context's own settings section (``ContextModule.settings``), or None.
    config: Any = None

    @property
    def settings(self) -> Settings:
        return self.kernel.settings

    @property
    def redis(self) -> Redis:
        return self.kernel.redis

    @property
    def clock(self) -> Clock:
        return self.kernel.now

    def script(self, source: str) -> ScriptRunner:
        """A Lua script on the kernel's lean Redis connection (:meth:`Kernel.script`)."""
        return self.kernel.script(source)

    @property
    def tenancy(self) -> Tenancy:
        return self.kernel.tenancy

    @property
    def semantic(self) -> SemanticSearch:
        """The process's semantic ranking slot (one context provides, another reads)."""
        return self.kernel.semantic

    @property
    def mail_transport(self) -> MailTransport:
        """The kernel's mail transport, for a context that sends (and logs) mail itself."""
        return self.kernel.mail_transport

    def uow(self) -> UnitOfWork:
        return self.store.uow()

    @staticmethod
    def queue_job(uow: UnitOfWork, target: JobSpec | str, *args: Any, **kwargs: Any) -> uuid.UUID:
        """Run a job once ``uow`` commits (``hub.kernel.jobs.queue_job``)."""
        return queue_job(uow, target, *args, **kwargs)

    def mail(self, uow: UnitOfWork, message: MailMessage) -> uuid.UUID:
        """Send a mail once ``uow`` commits (``hub.kernel.mail.queue_mail``: queued sealed
        under ``HUB_SECRET_KEY``)."""
        return queue_mail(uow, message, settings=self.settings)
