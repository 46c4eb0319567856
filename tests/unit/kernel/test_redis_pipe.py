"""The lean Redis connection (rate limit, revocation check, membership cache), against a
scripted stand-in for Redis: pipelined replies in order, replies split anywhere, NOSCRIPT,
errors, lost connections, silence, the AUTH/SELECT handshake, and commands and scripts
sharing one connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import hiredis
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError, TimeoutError

from hub.kernel.redis_pipe import RedisPipe, ScriptPipe

SCRIPT = "return {tonumber(ARGV[1]) * 2}"
#: What the stand-in answers a command with (the command's parts); None: stay silent.
Answer = Callable[[list[bytes]], bytes | None]


def double(command: list[bytes]) -> bytes:
    return b"*2\r\n:%d\r\n$2\r\nok\r\n" % (2 * int(command[-1]))


class FakeRedis:
    """A TCP server that reads RESP commands and answers each through ``answer``."""

    def __init__(self, answer: Answer, *, chunk: int = 0) -> None:
        self.answer = answer
        self.chunk = chunk
        self.commands: list[list[bytes]] = []
        self.connections = 0
        self.writers: list[asyncio.StreamWriter] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        parser = hiredis.Reader()  # a RESP command is an array of bulk strings, like a reply
        while data := await reader.read(65536):
            parser.feed(data)
            while (command := parser.gets()) is not False:
                self.commands.append(command)
                reply = self.answer(command)
                if reply is None:
                    continue
                if self.chunk:
                    for i in range(0, len(reply), self.chunk):
                        writer.write(reply[i : i + self.chunk])
                        await writer.drain()
                        await asyncio.sleep(0)
                else:
                    writer.write(reply)
        writer.close()

    def drop_connections(self) -> None:
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()


Serve = Callable[..., Awaitable[tuple[FakeRedis, int]]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[asyncio.Server] = []

    async def start(answer: Answer, **kw: int) -> tuple[FakeRedis, int]:
        fake = FakeRedis(answer, **kw)
        server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
        servers.append(server)
        return fake, server.sockets[0].getsockname()[1]

    yield start
    for server in servers:
        server.close()


def evalsha(fake: FakeRedis) -> list[list[bytes]]:
    return [c for c in fake.commands if c[0] == b"EVALSHA"]


async def test_concurrent_calls_share_one_connection_and_get_their_replies(serve: Serve) -> None:
    fake, port = await serve(double)
    pipe = ScriptPipe(f"redis://127.0.0.1:{port}", SCRIPT)
    try:
        replies = await asyncio.gather(*(pipe(["k"], [b"x", n]) for n in range(200)))
        assert replies == [[2 * n, b"ok"] for n in range(200)]
        assert fake.connections == 1
        first = evalsha(fake)[0]
        assert first[2:] == [b"1", b"k", b"x", b"0"]  # numkeys, keys, args
    finally:
        await pipe.close()


async def test_replies_split_anywhere_are_reassembled(serve: Serve) -> None:
    _, port = await serve(double, chunk=1)
    pipe = ScriptPipe(f"redis://127.0.0.1:{port}", SCRIPT)
    try:
        replies = await asyncio.gather(*(pipe([], [n]) for n in range(5)))
        assert replies == [[2 * n, b"ok"] for n in range(5)]
    finally:
        await pipe.close()


async def test_an_unknown_script_is_sent_whole_once(serve: Serve) -> None:
    def noscript_then_eval(command: list[bytes]) -> bytes:
        if command[0] == b"EVALSHA":
            return b"-NOSCRIPT No matching script. Please use EVAL.\r\n"
        return double(command)

    fake, port = await serve(noscript_then_eval)
    pipe = ScriptPipe(f"redis://127.0.0.1:{port}", SCRIPT)
    try:
        assert await pipe(["k"], [21]) == [42, b"ok"]
        assert [c[0] for c in fake.commands] == [b"EVALSHA", b"EVAL"]
        assert fake.commands[1][1] == SCRIPT.encode()
        assert fake.commands[1][2:] == fake.commands[0][2:]
    finally:
        await pipe.close()


async def test_an_error_reply_fails_only_its_call(serve: Serve) -> None:
    def answer(command: list[bytes]) -> bytes:
        if command[-1] == b"13":
            return b"-ERR user_script:1: bad luck\r\n"
        return double(command)

    _, port = await serve(answer)
    pipe = ScriptPipe(f"redis://127.0.0.1:{port}", SCRIPT)
    try:
        calls = (pipe([], [n]) for n in (12, 13, 14))
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert results[0] == [24, b"ok"]
        assert isinstance(results[1], ResponseError)
        assert "bad luck" in str(results[1])
        assert results[2] == [28, b"ok"]
        assert await pipe([], [1]) == [2, b"ok"]
    finally:
        await pipe.close()


async def test_a_lost_connection_fails_the_calls_in_flight_then_reconnects(serve: Serve) -> None:
    silent = True

    def answer(command: list[bytes]) -> bytes | None:
        return None if silent else double(command)

    fake, port = await serve(answer)
    pipe = ScriptPipe(f"redis://127.0.0.1:{port}", SCRIPT)
    try:
        pending = asyncio.ensure_future(pipe([], [1]))
        while not fake.commands:
            await asyncio.sleep(0.01)
        fake.drop_connections()
        with pytest.raises(RedisConnectionError):
            await pending
        silent = False
        assert await pipe([], [2]) == [4, b"ok"]
        assert fake.connections == 2
    finally:
        await pipe.close()


async def test_silence_is_a_timeout(serve: Serve) -> None:
    _, port = await serve(lambda command: None)
    pipe = ScriptPipe(f"redis://127.0.0.1:{port}", SCRIPT, timeout=0.2)
    try:
        with pytest.raises(TimeoutError):
            await pipe([], [1])
    finally:
        await pipe.close()


async def test_nothing_listening_is_a_connection_error() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    pipe = ScriptPipe(f"redis://127.0.0.1:{port}", SCRIPT)
    with pytest.raises(RedisConnectionError):
        await pipe([], [1])


async def test_password_and_database_are_sent_first(serve: Serve) -> None:
    def answer(command: list[bytes]) -> bytes:
        if command[0] == b"AUTH":
            return b"+OK\r\n" if command[1:] == [b"app", b"s3cret"] else b"-WRONGPASS\r\n"
        if command[0] == b"SELECT":
            return b"+OK\r\n"
        return double(command)

    fake, port = await serve(answer)
    pipe = ScriptPipe(f"redis://app:s3cret@127.0.0.1:{port}/12", SCRIPT)
    try:
        assert await pipe([], [5]) == [10, b"ok"]
        assert fake.commands[:2] == [[b"AUTH", b"app", b"s3cret"], [b"SELECT", b"12"]]
    finally:
        await pipe.close()
    refused = ScriptPipe(f"redis://app:wrong@127.0.0.1:{port}/12", SCRIPT)
    with pytest.raises(RedisConnectionError, match="WRONGPASS"):
        await refused([], [5])
    await refused.close()


async def test_scripts_and_commands_share_one_connection_that_their_owner_closes(
    serve: Serve,
) -> None:
    """The kernel's one pipe carries the rate limit, the revocation check and the
    membership cache: plain commands and scripts on it get their own replies, and closing a
    script that only borrows the pipe leaves it open."""

    def answer(command: list[bytes]) -> bytes:
        if command[0] == b"EXISTS":
            return b":1\r\n" if command[1] == b"revoked" else b":0\r\n"
        if command[0] == b"GET":
            return b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
        return double(command)

    fake, port = await serve(answer)
    pipe = RedisPipe(f"redis://127.0.0.1:{port}")
    script = ScriptPipe(pipe, SCRIPT)
    try:
        replies = await asyncio.gather(
            pipe(b"EXISTS", "revoked"), script([], [4]), pipe(b"EXISTS", "live")
        )
        assert replies == [1, [8, b"ok"], 0]
        with pytest.raises(ResponseError, match="WRONGTYPE"):
            await pipe(b"GET", "k")
        await script.close()
        assert await pipe(b"EXISTS", "revoked") == 1
        assert fake.connections == 1
    finally:
        await pipe.close()
