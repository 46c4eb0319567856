"""The load generator: ``wrk`` when installed, else a lean asyncio HTTP/1.1 client.

Every target of one run is driven by the same generator with the same concurrency and
duration, so their figures compare. Both keep connections alive, hold a fixed number of
requests in flight and stop after a fixed time; both refuse anything but loopback.

A scenario describes what it sends with a :class:`Request`: a method, headers and either
fixed bodies (several are handed out in turn, e.g. one sign-in per bench account) or a
:class:`Chain`, where each request's body depends on the previous answer on the same
connection (refresh-token rotation). wrk cannot chain requests per connection, so chained
scenarios always run on the asyncio client.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

_LUA = Path(__file__).with_name("report.lua")
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class Chain(Protocol):
    """Per-connection request bodies that follow from the previous answer.

    ``slot`` is the connection's index (0 … connections - 1); each slot is its own chain,
    so concurrent connections never present the same credential.
    """

    def body(self, slot: int) -> bytes: ...

    def answered(self, slot: int, status: int, body: bytes) -> None: ...


@dataclass(frozen=True)
class Request:
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Fixed bodies: connection ``i`` of the asyncio client sends ``bodies[i % n]``; wrk
    #: hands them out round robin.
    bodies: tuple[bytes, ...] = ()
    chain: Chain | None = None
    #: The path to send to, when the scenario's is known only after setup (an id).
    path: str | None = None

    def body_for(self, slot: int) -> bytes | None:
        if self.chain is not None:
            return self.chain.body(slot)
        return self.bodies[slot % len(self.bodies)] if self.bodies else None


GET = Request()


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    duration_s: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0


class LoadGenerator:
    name: str

    def run(
        self, url: str, *, seconds: float, connections: int, request: Request = GET
    ) -> LoadResult:
        raise NotImplementedError


def _check_loopback(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in _LOOPBACK:
        raise ValueError(f"refusing to load a non-loopback address: {url}")


class Wrk(LoadGenerator):
    """One wrk thread: on a small machine every core wrk takes is one the server loses."""

    def __init__(self, binary: str, threads: int = 1) -> None:
        self.binary = binary
        self.threads = threads
        self.name = f"wrk ({threads} thread{'s' if threads > 1 else ''})"

    def run(
        self, url: str, *, seconds: float, connections: int, request: Request = GET
    ) -> LoadResult:
        _check_loopback(url)
        if request.chain is not None:
            raise ValueError("wrk cannot chain requests per connection; use the asyncio client")
        cmd = [
            self.binary,
            f"-t{self.threads}",
            f"-c{max(connections, self.threads)}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(_LUA),
        ]
        for name, value in request.headers.items():
            cmd += ["-H", f"{name}: {value}"]
        cmd.append(url)
        env = dict(os.environ)
        if request.method != "GET" or request.bodies:
            # report.lua builds the requests from these (JSON bodies hold no raw newline).
            env["BENCH_WRK_METHOD"] = request.method
            env["BENCH_WRK_BODIES"] = "\n".join(b.decode() for b in request.bodies)
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
        line = next((ln for ln in out.splitlines() if ln.startswith("BENCH_JSON ")), None)
        if line is None:
            raise RuntimeError(f"wrk printed no report:\n{out}")
        data = json.loads(line.removeprefix("BENCH_JSON "))
        return LoadResult(
            requests=data["requests"],
            errors=data["socket_errors"] + data["status_errors"],
            duration_s=data["duration_us"] / 1e6,
            p50_ms=data["p50_us"] / 1000,
            p99_ms=data["p99_us"] / 1000,
        )


class AsyncioClient(LoadGenerator):
    """Fallback: raw keep-alive HTTP/1.1 over asyncio streams (leaner than httpx/aiohttp,
    so the client steals less of the CPU the server is being measured on)."""

    name = "python asyncio"

    def run(
        self, url: str, *, seconds: float, connections: int, request: Request = GET
    ) -> LoadResult:
        _check_loopback(url)
        try:
            import uvloop

            return uvloop.run(self._run(url, seconds, connections, request))
        except ImportError:
            return asyncio.run(self._run(url, seconds, connections, request))

    async def _run(
        self, url: str, seconds: float, connections: int, request: Request
    ) -> LoadResult:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        lines = [f"{request.method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
        lines += [f"{k}: {v}" for k, v in request.headers.items()]
        head = "\r\n".join(lines).encode("latin-1")
        fixed = [_message(head, body) for body in request.bodies] or [_message(head, None)]
        chain = request.chain
        latencies: list[int] = []
        errors = 0
        started = time.perf_counter()
        deadline = started + seconds

        async def worker(slot: int) -> None:
            nonlocal errors
            reader, writer = await asyncio.open_connection(host, port)
            message = fixed[slot % len(fixed)]
            try:
                while time.perf_counter() < deadline:
                    if chain is not None:
                        message = _message(head, chain.body(slot))
                    t0 = time.perf_counter_ns()
                    writer.write(message)
                    status, body = await _response(reader)
                    latencies.append(time.perf_counter_ns() - t0)
                    if chain is not None:
                        chain.answered(slot, status, body)
                    if not 200 <= status < 400:
                        errors += 1
            except (OSError, asyncio.IncompleteReadError):
                errors += 1
            finally:
                writer.close()

        await asyncio.gather(*(worker(slot) for slot in range(connections)))
        elapsed = time.perf_counter() - started
        if len(latencies) < 2:
            return LoadResult(len(latencies), errors, elapsed, 0.0, 0.0)
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        return LoadResult(len(latencies), errors, elapsed, cuts[49] / 1e6, cuts[98] / 1e6)


def _message(head: bytes, body: bytes | None) -> bytes:
    if body is None:
        return head + b"\r\n\r\n"
    return head + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for raw in head.split(b"\r\n")[1:]:
        if raw[:15].lower() == b"content-length:":
            length = int(raw[15:])
    return status, (await reader.readexactly(length) if length else b"")


def pick(prefer: str = "auto", wrk_threads: int = 1) -> LoadGenerator:
    """``auto``: wrk when it is on PATH, else the asyncio client."""
    binary = shutil.which("wrk")
    if prefer == "wrk" and binary is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk), use --load python")
    if prefer in ("auto", "wrk") and binary is not None:
        return Wrk(binary, wrk_threads)
    return AsyncioClient()
