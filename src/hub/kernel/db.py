"""Database access: one async engine, a unit of work for writes, a lean path for reads.

Reads run on an AUTOCOMMIT connection: measured here, wrapping a single SELECT in
BEGIN…ROLLBACK cost ~1.8x the CPU of the bare query, and a read needs no transaction.
Writes go through :class:`UnitOfWork`, which commits the state change and the events it
publishes (outbox rows) in one transaction.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self

import msgspec
import structlog
from sqlalchemy import Table, func, insert, text
from sqlalchemy.engine import Result, make_url
from sqlalchemy.engine.result import IteratorResult, SimpleResultMetaData
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql import CompoundSelect, Executable, Select
from sqlalchemy.sql import compiler as sql_compiler
from sqlalchemy.util import LRUCache
from sqlalchemy.util.concurrency import greenlet_spawn

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
        self._direct = _DirectReads(self.engine)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection with no surrounding transaction, for single-statement reads."""
        async with self._autocommit.connect() as conn:
            yield conn

    async def fetch(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> Result[Any]:
        """Run one SELECT outside any transaction; its rows come back already buffered.

        Same rows, types and errors as ``await conn.execute(statement, params)`` inside
        :meth:`read`, for about half its CPU (bench/README.md): the statement is
        compiled once per shape and its SQL goes straight to asyncpg on a pooled
        connection, skipping SQLAlchemy's per-execution machinery. Meant for plain,
        side-effect-free selects; shapes the direct path does not take (textual column
        matching, schema translation, execution options) run through :meth:`read`.
        Returns a :class:`sqlalchemy.engine.Result` (``.one_or_none()``, ``.scalars()``…).
        """
        result = await self._direct.fetch(statement, params)
        if result is not None:
            return result
        async with self.read() as conn:
            return (await conn.execute(statement, params)).freeze()()

    def unit_of_work(self, outbox: Table) -> UnitOfWork:
        return UnitOfWork(self.sessionmaker, outbox)

    async def ping(self) -> None:
        async with self.read() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


class _DirectReads:
    """The machinery behind :meth:`Database.fetch`, mirroring what SQLAlchemy's
    execution context does for one positional SELECT on asyncpg, minus its overhead.

    Relies on SQLAlchemy internals (statement compile cache, compiled parameter
    layout, the asyncpg adapter's prepared-statement cache, error translation), so
    ``tests/integration/kernel/test_db_fetch.py`` compares it with the regular path:
    re-run it when upgrading SQLAlchemy.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine.sync_engine
        self._dialect: Any = engine.dialect
        self._compiled: LRUCache[Any, Any] = LRUCache(500)
        #: compiled statement -> the metadata its rows are read with (keys, processors).
        self._metadata: weakref.WeakKeyDictionary[Any, SimpleResultMetaData] = (
            weakref.WeakKeyDictionary()
        )
        self._linting = self._dialect.compiler_linting | sql_compiler.WARN_LINTING

    async def fetch(self, statement: Any, params: Mapping[str, Any] | None) -> Result[Any] | None:
        if not isinstance(statement, Select | CompoundSelect) or statement.get_execution_options():
            return None
        compiled: Any
        compiled, extracted, collected, _ = statement._compile_w_cache(
            self._dialect, compiled_cache=self._compiled, column_keys=[], linting=self._linting
        )
        if not _direct_shape(compiled):
            return None
        values: dict[str, Any] = compiled.construct_params(
            params, extracted_parameters=extracted, escape_names=False, _collected_params=collected
        )
        sql: str = compiled.string
        positions = compiled.positiontup or ()
        processors = compiled._bind_processors
        if compiled.literal_execute_params or compiled.post_compile_params:
            expanded = compiled._process_parameters_for_postcompile(values)
            sql, positions = expanded.statement, expanded.positiontup or ()
            processors = {**processors, **expanded.processors}
        args = [processors[k](values[k]) if k in processors else values[k] for k in positions]

        pooled: Any = await greenlet_spawn(self._engine.raw_connection)
        try:
            adapter = pooled.dbapi_connection
            prepared, attributes = await adapter._prepare(
                sql, self._dialect._invalidate_schema_cache_asof
            )
            records = await prepared.fetch(*args)
        except Exception as exc:
            error = self._translate(exc, pooled, sql, args)
            await greenlet_spawn(pooled.close)
            raise error from exc
        except BaseException:
            # Cancelled mid-query: the connection's state is unknown, so it is dropped
            # (outside a greenlet both calls are synchronous: nothing left to await).
            pooled.invalidate()
            pooled.close()
            raise
        await greenlet_spawn(pooled.close)
        metadata = self._metadata.get(compiled)
        if metadata is None:
            metadata = self._metadata[compiled] = self._describe(compiled, attributes)
        return IteratorResult(metadata, iter(records))

    def _describe(self, compiled: Any, attributes: Any) -> SimpleResultMetaData:
        """Row keys and result processors, as ``CursorResultMetaData`` would build them."""
        keys, extra, processors = [], [], []
        for (rendered, name, objects, type_), attribute in zip(
            compiled._result_columns, attributes, strict=True
        ):
            keys.append(rendered)
            extra.append((name, *objects) if name != rendered else tuple(objects))
            processors.append(type_._cached_result_processor(self._dialect, attribute.type.oid))
        # A name two columns answer to is ambiguous, as in SQLAlchemy's own results.
        names = [n for key, more in zip(keys, extra, strict=True) for n in {key, *more}]
        ambiguous = {n for n in names if isinstance(n, str) and names.count(n) > 1}
        return SimpleResultMetaData(
            keys,
            extra=extra,
            _processors=processors if any(processors) else None,
            _ambiguous_keys=frozenset(ambiguous) or None,
        )

    def _translate(self, exc: Exception, pooled: Any, sql: str, args: list[Any]) -> Exception:
        """The exception SQLAlchemy would raise, with its connection bookkeeping."""
        dbapi = self._dialect.loaded_dbapi
        try:
            pooled.dbapi_connection._handle_exception(exc)
        except dbapi.Error as translated:
            stale = (dbapi.InvalidCachedStatementError, dbapi.InternalServerError)
            if isinstance(translated, stale):
                self._dialect._invalidate_schema_cache()
            gone = bool(self._dialect.is_disconnect(translated, pooled.dbapi_connection, None))
            if gone:
                # As SQLAlchemy does: drop this connection and every older pooled one.
                self._engine.pool._invalidate(pooled, translated)
            error: Exception = DBAPIError.instance(
                sql,
                tuple(args),
                translated,
                dbapi.Error,
                hide_parameters=self._engine.hide_parameters,
                connection_invalidated=gone,
                dialect=self._dialect,
            )
            return error
        except Exception as other:
            return other
        return exc


def _direct_shape(compiled: Any) -> bool:
    """A positional select whose result columns line up one to one with its SQL."""
    return bool(
        compiled.positional
        and compiled._result_columns
        and compiled._ordered_columns
        and not compiled._textual_ordered_columns
        and not compiled._ad_hoc_textual
        and not compiled._loose_column_name_matching
        and not compiled.schema_translate_map
    )


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

    @property
    def schema(self) -> str:
        """The publishing context's schema (where its outbox and inbox live)."""
        return self._outbox.schema or "public"

    @property
    def outbox(self) -> Table:
        return self._outbox

    def publish(self, event: IntegrationEvent) -> None:
        """Queue an event; it is written to the outbox when (and only if) this commits.

        An event without a correlation id inherits the one of the request or job being
        served, so the logs of every job it causes can be joined back to that request.
        """
        if not event.event_type:
            raise TypeError(f"{type(event).__name__} has no event_type")
        if event.correlation_id is None:
            correlation_id = current_correlation_id()
            if correlation_id is not None:
                event = msgspec.structs.replace(event, correlation_id=correlation_id)
        self._events.append(event)

    @property
    def pending_events(self) -> tuple[IntegrationEvent, ...]:
        return tuple(self._events)

    async def commit(self) -> None:
        session = self.session
        if self._events:
            rows = [
                {
                    "event_id": ev.event_id,
                    "event_type": ev.event_type,
                    "aggregate_key": ev.aggregate_key(),
                    "payload": _as_json(ev),
                    "correlation_id": ev.correlation_id,
                }
                for ev in self._events
            ]
            # The notification wakes the relay. PostgreSQL delivers it only if this
            # transaction commits and folds a transaction's identical notifications into
            # one, so sending it from RETURNING costs no extra round trip.
            await session.execute(
                insert(self._outbox)
                .values(rows)
                .returning(func.pg_notify(OUTBOX_CHANNEL, self._outbox.schema or "public"))
            )
        await session.commit()
        self._events.clear()
        self.committed = True


def _as_json(event: IntegrationEvent) -> object:
    return msgspec.to_builtins(event)


def current_correlation_id() -> str | None:
    """The correlation id bound to this request or job's log context, if any."""
    bound = structlog.contextvars.get_contextvars()
    value = bound.get("correlation_id") or bound.get("request_id")
    return str(value) if value else None
