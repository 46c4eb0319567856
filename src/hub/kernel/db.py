"""Database access: one async engine, a unit of work for writes, a lean path for reads.

Reads run on an AUTOCOMMIT connection: measured here, wrapping a single SELECT in
BEGIN…ROLLBACK cost ~1.8x the CPU of the bare query, and a read needs no transaction.
:meth:`Database.fetch` goes further for single selects (SQL compiled by SQLAlchemy, sent
by asyncpg directly; about half the CPU of :meth:`Database.read`, see bench/README.md).
Writes go through :class:`UnitOfWork`, which commits the state change and the events it
publishes (outbox rows) in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import weakref
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from types import SimpleNamespace, TracebackType
from typing import Any, Self

import asyncpg  # type: ignore[import-untyped]
import msgspec
import structlog
from sqlalchemy import Table, event, func, insert, text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.engine import ExceptionContext, Result, make_url
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

from hub.kernel.acting import current_acting, current_actor, current_organisation
from hub.kernel.errors import DependencyUnavailable
from hub.kernel.events import IntegrationEvent, event_payload
from hub.kernel.outbox import OUTBOX_CHANNEL

#: The default of HUB_DB_TIMEOUT_MS, for callers without settings at hand.
DEFAULT_TIMEOUT_S = 10.0


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
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.url = async_url(url)
        self.timeout_s = timeout_s
        connect_args = {
            "server_settings": {"application_name": application_name, "jit": "off"},
            # Client-side bounds (HUB_DB_TIMEOUT_MS): opening a connection, and every
            # statement, BEGIN and COMMIT. A frozen server answers no statement_timeout
            # and a Unix socket has no keepalive; only the client's clock ends the wait.
            "timeout": timeout_s,
            "command_timeout": timeout_s,
        }
        self.engine: AsyncEngine = create_async_engine(
            self.url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=timeout_s,
            pool_recycle=1800,
            pool_pre_ping=False,
            echo=echo,
            # A database error's message would otherwise carry the statement's values
            # (e-mail addresses, names, hashes) into the logs.
            hide_parameters=True,
            creator=self._new_connection,
        )
        sync_engine = self.engine.sync_engine
        cargs, cparams = sync_engine.dialect.create_connect_args(sync_engine.url)
        self._connect_with: tuple[Any, dict[str, Any]] = (cargs, {**cparams, **connect_args})
        event.listen(sync_engine, "handle_error", _unavailable_on_error)
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self._direct = _DirectReads(
            self.engine, connect_args, pool_size=pool_size, timeout_s=timeout_s
        )

    def _new_connection(self) -> Any:
        """The pool's creator: what the dialect does by default (URL arguments, adapter
        options), with a server that cannot be reached reported as unavailable. SQLAlchemy
        hands a failed connect to its error hook only when the driver raised a DB-API error,
        never for the timeouts and socket errors asyncpg raises while connecting."""
        cargs, cparams = self._connect_with
        dbapi: Any = self.engine.sync_engine.dialect.loaded_dbapi
        return dbapi.connect(*cargs, async_creator_fn=_connect_or_unavailable, **cparams)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection with no surrounding transaction, for single-statement reads."""
        async with self._autocommit.connect() as conn:
            yield conn

    async def fetch(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> Result[Any]:
        """Run one SELECT outside any transaction; its rows come back already buffered.

        Same rows, types and SQL errors as ``await conn.execute(statement, params)``
        inside :meth:`read`, for a fraction of its CPU (bench/README.md): the statement
        is compiled once per shape and its SQL goes straight to asyncpg, skipping
        SQLAlchemy's per-execution machinery, on a pool of its own (at most ``pool_size``
        connections, closed after 5 idle minutes) that makes excess requests wait instead
        of opening and closing overflow connections. When the server has dropped the
        pooled connections, they are replaced and the read runs once more. Meant for
        plain, side-effect-free selects (the connections are not reset between uses).
        Textual SQL, textual column matching, schema translation, execution options and
        ``HUB_DB_ECHO`` go through :meth:`read` instead. Returns a buffered
        :class:`sqlalchemy.engine.Result` (``.one_or_none()``, ``.scalars()``…); build hot
        statements once with ``bindparam()`` and pass ``params``, as building and hashing
        a statement per call is a large share of a read's cost.
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
        await self._direct.close()
        await self.engine.dispose()


class _DirectReads:
    """The machinery behind :meth:`Database.fetch`: what SQLAlchemy's execution context
    does for one positional SELECT on asyncpg, minus its overhead, on an asyncpg pool.

    Its own pool because SQLAlchemy's is what costs most under load: above
    ``pool_size`` requests in flight it opens overflow connections and closes them on
    return (a connect is milliseconds of CPU), or with no overflow it waits through
    ``asyncio.wait_for`` per checkout. Connections get the codecs the dialect gives its
    own, so rows decode alike. Relies on SQLAlchemy internals (compile cache, compiled
    parameter layout, result processors, error translation), so
    ``tests/integration/kernel/test_db_fetch.py`` compares it with the regular path:
    re-run it when upgrading SQLAlchemy.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        connect_args: Mapping[str, Any],
        *,
        pool_size: int,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self._timeout_s = timeout_s
        self._dialect: Any = engine.dialect
        self._hide_parameters = engine.sync_engine.hide_parameters
        self._echo = bool(engine.echo)
        cargs, cparams = self._dialect.create_connect_args(engine.url)
        cparams = {**cparams, **connect_args}
        cparams["statement_cache_size"] = cparams.pop("prepared_statement_cache_size", 100)
        self._connect: tuple[Any, dict[str, Any]] = (cargs, cparams)
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self._compiled: LRUCache[Any, Any] = LRUCache(500)
        #: compiled statement -> the metadata its rows are read with (keys, processors).
        self._metadata: weakref.WeakKeyDictionary[Any, SimpleResultMetaData] = (
            weakref.WeakKeyDictionary()
        )
        self._linting = self._dialect.compiler_linting | sql_compiler.WARN_LINTING

    async def fetch(self, statement: Any, params: Mapping[str, Any] | None) -> Result[Any] | None:
        if (
            self._echo
            or not isinstance(statement, Select | CompoundSelect)
            or statement.get_execution_options()
        ):
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

        pool = self._pool or await self._open()
        for attempt in (1, 2):
            try:
                return await self._run(pool, compiled, sql, args)
            except _CONNECTION_LOST as exc:
                # The server dropped pooled connections (restart, failover, idle kill):
                # replace them all, as SQLAlchemy invalidates its pool, and read again
                # once on a fresh one; a select has nothing to undo.
                await pool.expire_connections()
                if attempt == 2:
                    raise DependencyUnavailable("database") from exc
            except (TimeoutError, OSError) as exc:
                # No connection in time (pool wait, connect), or no answer in time.
                raise DependencyUnavailable("database") from exc
            except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                raise self._translate(exc, sql, args) from exc
        raise AssertionError("unreachable")

    async def _run(
        self, pool: asyncpg.Pool, compiled: Any, sql: str, args: list[Any]
    ) -> Result[Any]:
        # asyncpg's pool closes a connection on release when it died or fails to reset.
        async with pool.acquire(timeout=self._timeout_s) as conn:
            try:
                metadata = self._metadata.get(compiled)
                if metadata is None:
                    prepared = await conn.prepare(sql)
                    metadata = self._describe(compiled, prepared.get_attributes())
                    self._metadata[compiled] = metadata
                    records = await prepared.fetch(*args)
                else:
                    records = await conn.fetch(sql, *args)
            except TimeoutError:
                # The statement timed out (command_timeout): asyncpg is cancelling it over
                # a new connection, and releasing would wait for that cancel, which a frozen
                # server never acknowledges. Drop the connection instead.
                conn.terminate()
                raise
        return IteratorResult(metadata, iter(records))

    async def _open(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                cargs, cparams = self._connect
                self._pool = await asyncpg.create_pool(
                    *cargs,
                    **cparams,
                    min_size=0,
                    max_size=self._pool_size,
                    max_inactive_connection_lifetime=300,
                    init=self._init_connection,
                    reset=_no_reset,
                )
            return self._pool

    async def _init_connection(self, conn: asyncpg.Connection) -> None:
        # The JSON/JSONB (and inet) codecs the dialect installs on its own connections.
        adapted = SimpleNamespace(_connection=conn)
        await self._dialect.setup_asyncpg_json_codec(adapted)
        await self._dialect.setup_asyncpg_jsonb_codec(adapted)
        if self._dialect._native_inet_types is False:
            await self._dialect._disable_asyncpg_inet_codecs(adapted)

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

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

    def _translate(self, exc: Exception, sql: str, args: list[Any]) -> Exception:
        """The exception SQLAlchemy would raise for this driver error."""
        dbapi = self._dialect.loaded_dbapi
        try:
            AsyncAdapt_asyncpg_connection._handle_exception_no_connection(dbapi, exc)
        except dbapi.Error as translated:
            error: Exception = DBAPIError.instance(
                sql,
                tuple(args),
                translated,
                dbapi.Error,
                hide_parameters=self._hide_parameters,
                dialect=self._dialect,
            )
            return error
        except Exception as other:
            return other
        return exc


#: A pooled connection found dead: the server closed it, or its protocol is stuck on
#: the error the server sent before closing it (asyncpg reports that as an internal error).
_CONNECTION_LOST = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.InternalClientError,
    ConnectionError,
)


#: The driver's errors that mean the server is unreachable or too slow, not that a
#: statement is wrong.
_UNREACHABLE = (
    TimeoutError,
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)


async def _connect_or_unavailable(*args: Any, **kwargs: Any) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(*args, **kwargs)
    except _UNREACHABLE as exc:
        raise DependencyUnavailable("database") from exc


def _unreachable_cause(exc: BaseException | None) -> BaseException | None:
    """``exc`` or the first error behind it (SQLAlchemy wraps the driver's) that says the
    server is unreachable or too slow; None when none does."""
    for _ in range(4):
        if exc is None or isinstance(exc, _UNREACHABLE):
            return exc
        exc = exc.__cause__
    return None


def _unavailable_on_error(context: ExceptionContext) -> BaseException | None:
    """SQLAlchemy's ``handle_error`` hook: a timeout, an unreachable server or a dropped
    connection becomes :class:`DependencyUnavailable` (503).

    A timed-out connection is dropped on the spot, not reset: SQLAlchemy would roll back
    (and asyncpg first wait for the statement's cancel), each another wait on a server that
    is not answering. Only that connection goes (``invalidate_pool_on_disconnect`` off):
    the others may be fine, and closing them all would make each next checkout wait for a
    goodbye a frozen server never sends. A dropped connection (server restarted) still
    invalidates the whole pool, as SQLAlchemy does by default: its siblings died with it.
    """
    error = _unreachable_cause(context.original_exception)
    if error is None and not context.is_disconnect:
        return None
    if isinstance(error, TimeoutError):
        connection = context.connection
        if connection is not None and not connection.invalidated:
            with contextlib.suppress(Exception):
                driver = connection.connection.driver_connection
                if driver is not None:
                    driver.terminate()
        context.invalidate_pool_on_disconnect = False
    context.is_disconnect = True
    return DependencyUnavailable("database")


async def _no_reset(_: asyncpg.Connection) -> None:
    """Skip asyncpg's reset query on release (a round trip per read): only compiled
    SELECTs run on these connections, and they leave no session state to undo."""


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

        Stamping: an event without a correlation id inherits the one of the request or job
        being served, so the logs of every job it causes can be joined back to that
        request; one without an actor or organisation id inherits the caller and the
        organisation addressed (:mod:`hub.kernel.acting`). Values the service set win.
        """
        if not event.event_type:
            raise TypeError(f"{type(event).__name__} has no event_type")
        stamps: dict[str, Any] = {}
        if event.correlation_id is None:
            correlation_id = current_correlation_id()
            if correlation_id is not None:
                stamps["correlation_id"] = correlation_id
        if event.actor_id is None:
            actor_id = current_actor()
            if actor_id is not None:
                stamps["actor_id"] = actor_id
        if event.organisation_id is None:
            organisation_id = current_organisation()
            if organisation_id is not None:
                stamps["organisation_id"] = organisation_id
        acting = current_acting()
        if acting is not None:
            # Only an actor the scope names carries the scope's actor type along.
            if (
                event.actor_type is None
                and acting.actor_type is not None
                and (event.actor_id is None or event.actor_id == acting.actor_id)
            ):
                stamps["actor_type"] = acting.actor_type
            if event.request_id is None and acting.request_id is not None:
                stamps["request_id"] = acting.request_id
            if event.client_address is None and acting.client_address is not None:
                stamps["client_address"] = acting.client_address
        if stamps:
            event = msgspec.structs.replace(event, **stamps)
        self._events.append(event)

    @property
    def pending_events(self) -> tuple[IntegrationEvent, ...]:
        return tuple(self._events)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A nested transaction: when the block raises, its writes and the events published
        inside it are dropped and the rest of the unit goes on (for batches where one
        item's failure must not undo the others')."""
        mark = len(self._events)
        nested = await self.session.begin_nested()
        try:
            yield
        except BaseException:
            await nested.rollback()
            del self._events[mark:]
            raise
        await nested.commit()

    async def commit(self) -> None:
        session = self.session
        if self._events:
            rows = [
                {
                    "event_id": ev.event_id,
                    "event_type": ev.event_type,
                    "aggregate_key": ev.aggregate_key(),
                    "payload": event_payload(ev),
                    "correlation_id": ev.correlation_id,
                }
                for ev in self._events
            ]
            # The notification wakes the relay. PostgreSQL delivers it only if this
            # transaction commits and folds a transaction's identical notifications into
            # one, so sending it from RETURNING costs no extra round trip.
            await session.execute(_outbox_insert(self._outbox), rows)
        await session.commit()
        self._events.clear()
        self.committed = True


@functools.cache
def _outbox_insert(outbox: Table) -> Any:
    """One statement object per outbox, so SQLAlchemy compiles it once (a fresh
    ``insert().values(rows)`` per commit was compiled every time: ~40 % of its CPU)."""
    return insert(outbox).returning(func.pg_notify(OUTBOX_CHANNEL, outbox.schema or "public"))


def current_correlation_id() -> str | None:
    """The correlation id bound to this request or job's log context, if any."""
    bound = structlog.contextvars.get_contextvars()
    value = bound.get("correlation_id") or bound.get("request_id")
    return str(value) if value else None
