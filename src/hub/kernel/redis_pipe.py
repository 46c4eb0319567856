"""A lean Redis connection for the commands every request pays for.

redis-py's asyncio client costs ~60-115 µs of CPU per command in the hub under load (pool
checkout, a connection per request in flight, its pure-Python reply parser, stream
objects); the rate limiter, the revocation check and the membership cache call Redis on
every API request, which made that a large share of a permission-checked read. This client
keeps one connection per process and pipelines every call on it: commands written in the
same event-loop turn go out in one ``write``, replies come back in order and complete the
callers' futures from ``data_received``. The protocol itself (packing commands, parsing
replies) is hiredis's, the C parser redis-py also uses. Nothing else (no pool, no retries,
no pub/sub): a failed connection fails the calls in flight with
:class:`redis.exceptions.ConnectionError` and the next call reconnects.

:class:`RedisPipe` runs any command (``await pipe(b"EXISTS", key)``); :class:`ScriptPipe`
runs one Lua script over a pipe of its own or a shared one. ``redis://`` (TCP,
password/username, db) and ``unix://`` URLs; other schemes (TLS) go through redis-py
instead (:func:`command_runner`, :func:`script_runner`).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import deque
from collections.abc import Sequence
from typing import Any, Protocol, cast

import hiredis
from redis.asyncio import Redis
from redis.connection import parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError, TimeoutError


class ScriptRunner(Protocol):
    """Runs the script it was made for: ``await runner(keys, args)`` -> its reply."""

    async def __call__(self, keys: Sequence[str], args: Sequence[bytes | str | int]) -> Any: ...

    async def close(self) -> None: ...


class CommandRunner(Protocol):
    """Runs one Redis command: ``await runner(b"EXISTS", key)`` -> its reply (bytes for
    strings, as redis-py without ``decode_responses``); an error reply raises
    :class:`redis.exceptions.ResponseError`."""

    async def __call__(self, *parts: bytes | str | int) -> Any: ...

    async def close(self) -> None: ...


class RedisPyCommands:
    """The command interface over redis-py (TLS and anything else the pipe does not speak)."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def __call__(self, *parts: bytes | str | int) -> Any:
        return await self._redis.execute_command(*parts)  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        """The client is shared (the kernel's); its owner closes it."""


class RedisPyScript:
    """The same interface over redis-py (TLS and anything else the pipe does not speak)."""

    def __init__(self, redis: Redis, script: str) -> None:
        self._script = redis.register_script(script)
        self._redis = redis

    async def __call__(self, keys: Sequence[str], args: Sequence[bytes | str | int]) -> Any:
        return await self._script(keys=list(keys), args=list(args), client=self._redis)

    async def close(self) -> None:
        """The client is shared (the kernel's); its owner closes it."""


def _pipeable(url: str) -> bool:
    return url.startswith(("redis://", "unix://"))


def command_runner(url: str, redis: Redis, *, timeout: float = 2.0) -> CommandRunner:
    """A :class:`RedisPipe` for ``redis://`` and ``unix://``, else redis-py (bounded by the
    client's own timeout)."""
    if _pipeable(url):
        return RedisPipe(url, timeout=timeout)
    return RedisPyCommands(redis)


def script_runner(
    url: str,
    script: str,
    redis: Redis,
    *,
    timeout: float = 2.0,
    pipe: CommandRunner | None = None,
) -> ScriptRunner:
    """``script`` on ``pipe`` when given (:func:`script_on`), else a :class:`ScriptPipe` of
    its own for ``redis://`` and ``unix://``, else redis-py's script (bounded by the
    client's own timeout)."""
    if pipe is not None:
        return script_on(pipe, redis, script)
    if _pipeable(url):
        return ScriptPipe(url, script, timeout=timeout)
    return RedisPyScript(redis, script)


def script_on(pipe: CommandRunner, redis: Redis, script: str) -> ScriptRunner:
    """``script`` on the shared connection ``pipe`` when it is a :class:`RedisPipe`, else
    (TLS) on redis-py's client ``redis``."""
    if isinstance(pipe, RedisPipe):
        return ScriptPipe(pipe, script)
    return RedisPyScript(redis, script)


def _command(*parts: bytes | str | int) -> bytes:
    return cast(bytes, hiredis.pack_command(cast(Any, parts)))


def _reader() -> hiredis.Reader:
    """hiredis's RESP parser: error replies come back as :class:`ResponseError` values (one
    bad reply fails only its caller), a protocol error raises."""
    return hiredis.Reader(protocolError=RedisConnectionError, replyError=ResponseError)


class _Connection(asyncio.Protocol):
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.transport: asyncio.Transport | None = None
        self.waiters: deque[asyncio.Future[Any]] = deque()
        self.outgoing: list[bytes] = []
        self.reader = _reader()
        self.closed = False
        self.last_progress = 0.0
        self.watchdog: asyncio.TimerHandle | None = None
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def send(self, command: bytes) -> asyncio.Future[Any]:
        if self.closed:
            raise RedisConnectionError("connection to Redis closed")
        future = self.loop.create_future()
        if not self.waiters:
            self.last_progress = time.monotonic()
            if self.watchdog is None:
                self.watchdog = self.loop.call_later(self.timeout, self._watch)
        self.waiters.append(future)
        if not self.outgoing:
            self.loop.call_soon(self._flush)
        self.outgoing.append(command)
        return future

    def _flush(self) -> None:
        if self.outgoing and self.transport is not None and not self.closed:
            self.transport.write(b"".join(self.outgoing))
        self.outgoing.clear()

    def _watch(self) -> None:
        """Abort a connection on which a reply is overdue (a hung or partitioned Redis)."""
        self.watchdog = None
        if not self.waiters or self.closed:
            return
        overdue = self.last_progress + self.timeout - time.monotonic()
        if overdue <= 0:
            self._fail(TimeoutError(f"no reply from Redis within {self.timeout} s"))
            if self.transport is not None:
                self.transport.abort()
            return
        self.watchdog = self.loop.call_later(overdue, self._watch)

    def data_received(self, data: bytes) -> None:
        reader, waiters = self.reader, self.waiters
        try:
            reader.feed(data)
            while (value := reader.gets()) is not False:
                future = waiters.popleft()
                if not future.done():
                    future.set_result(value)
        except (RedisConnectionError, IndexError) as exc:
            self._fail(RedisConnectionError(f"unreadable reply from Redis: {exc}"))
            if self.transport is not None:
                self.transport.abort()
            return
        self.last_progress = time.monotonic()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(RedisConnectionError(f"connection to Redis lost: {exc or 'closed'}"))

    def _fail(self, error: Exception) -> None:
        self.closed = True
        if self.watchdog is not None:
            self.watchdog.cancel()
            self.watchdog = None
        while self.waiters:
            future = self.waiters.popleft()
            if not future.done():
                future.set_exception(error)


class RedisPipe:
    """``await pipe(*parts)``: one command over one pipelined connection, made on first
    use and again after it failed."""

    def __init__(self, url: str, *, timeout: float = 2.0) -> None:
        options: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
        self.timeout = timeout
        self._path: str | None = options.get("path")
        self._host: str = options.get("host", "localhost")
        self._port: int = int(options.get("port", 6379))
        self._handshake: list[bytes] = []
        password, username = options.get("password"), options.get("username")
        if password:
            auth = (username.encode(), password.encode()) if username else (password.encode(),)
            self._handshake.append(_command(b"AUTH", *auth))
        if int(options.get("db", 0)):
            self._handshake.append(_command(b"SELECT", str(options["db"]).encode()))
        self._connection: _Connection | None = None
        self._connecting: asyncio.Future[_Connection] | None = None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        connection = _Connection(self.timeout)
        try:
            async with asyncio.timeout(self.timeout):
                if self._path is not None:
                    await loop.create_unix_connection(lambda: connection, self._path)
                else:
                    await loop.create_connection(lambda: connection, self._host, self._port)
                replies = [connection.send(command) for command in self._handshake]
                for reply in replies:
                    answer = await reply
                    if isinstance(answer, ResponseError):
                        raise RedisConnectionError(f"Redis refused the handshake: {answer}")
        except BaseException:
            if connection.transport is not None:
                connection.transport.abort()
            raise
        return connection

    async def _ready(self) -> _Connection:
        connection = self._connection
        if connection is not None and not connection.closed:
            if connection.loop is asyncio.get_running_loop():
                return connection
            # Another event loop (a test's app served from a new loop): start afresh.
            self._connection = None
        if self._connecting is None or self._connecting.get_loop() is not (
            asyncio.get_running_loop()
        ):
            self._connecting = asyncio.ensure_future(self._connect())
        connecting = self._connecting
        try:
            connection = await asyncio.shield(connecting)
        except OSError as exc:
            raise RedisConnectionError(f"cannot connect to Redis: {exc}") from exc
        finally:
            if self._connecting is connecting and connecting.done():
                self._connecting = None
        self._connection = connection
        return connection

    async def send(self, command: bytes) -> Any:
        """The reply to one packed command; an error reply is returned, not raised."""
        connection = self._connection
        if connection is None or connection.closed or connection.loop is not _running_loop():
            connection = await self._ready()
        return await connection.send(command)

    async def __call__(self, *parts: bytes | str | int) -> Any:
        reply = await self.send(_command(*parts))
        if isinstance(reply, ResponseError):
            raise reply
        return reply

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and connection.transport is not None:
            connection.transport.close()


class ScriptPipe:
    """``await script(keys, args)``: ``EVALSHA`` of one script over a :class:`RedisPipe`
    (``EVAL`` once when Redis does not know the script yet, e.g. after a restart).

    Given a URL it has a connection of its own (closed with it); given a pipe it shares
    that one (closed by its owner), so the commands of one request batch with others'."""

    def __init__(self, pipe: str | RedisPipe, script: str, *, timeout: float = 2.0) -> None:
        self._owned = isinstance(pipe, str)
        self._pipe = RedisPipe(pipe, timeout=timeout) if isinstance(pipe, str) else pipe
        self._body = script.encode()
        self._sha = hashlib.sha1(self._body, usedforsecurity=False).hexdigest().encode()

    @property
    def timeout(self) -> float:
        return self._pipe.timeout

    async def __call__(self, keys: Sequence[str], args: Sequence[bytes | str | int]) -> Any:
        reply = await self._pipe.send(_command(b"EVALSHA", self._sha, len(keys), *keys, *args))
        if isinstance(reply, ResponseError):
            if not str(reply).startswith("NOSCRIPT"):
                raise reply
            reply = await self._pipe.send(_command(b"EVAL", self._body, len(keys), *keys, *args))
            if isinstance(reply, ResponseError):
                raise reply
        return reply

    async def close(self) -> None:
        if self._owned:
            await self._pipe.close()


_running_loop = asyncio.get_running_loop
