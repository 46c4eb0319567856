"""``python -m bench.split``: an identity call through the remote adapter vs in process.

The call is ``IdentityApi.membership(org, user, api_key_id=None)`` for a real member, the
lookup the tenancy rule makes on every organisation-scoped request, so it is the identity
hot path of every other context. In process, the facade runs its query; split, the remote
adapter (``hub.kernel.remote``) posts it to a real ``hub run --contexts identity`` (uvicorn,
one process, production settings) over loopback, with its service token, breaker (one
Redis read per call) and msgspec decoding.

Reported per call, one at a time (``--calls`` per round): latency p50/p99 of both paths and
the difference (the added latency); CPU of the calling process, and of the identity process
(from ``/proc``), per call. Then throughput with ``--concurrency`` calls in flight for
``--seconds``: calls/s in process vs split. Medians of ``--rounds``. PostgreSQL and Redis on
127.0.0.1 when they answer (scratch database, dropped), else embedded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from bench.backends import _hub_command
from hub.kernel.security import Principal

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (``/proc/<pid>/stat`` fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _one_at_a_time(
    call: Callable[[], Awaitable[Any]], n: int, pid: int | None
) -> dict[str, float]:
    latencies: list[float] = []
    cpu0, remote0 = time.process_time(), _cpu_seconds(pid) if pid else 0.0
    for _ in range(n):
        started = time.perf_counter()
        await call()
        latencies.append(time.perf_counter() - started)
    cpu = (time.process_time() - cpu0) / n
    remote = ((_cpu_seconds(pid) - remote0) / n) if pid else 0.0
    return {
        "p50_us": _percentile(latencies, 0.50) * 1e6,
        "p99_us": _percentile(latencies, 0.99) * 1e6,
        "caller_cpu_us": cpu * 1e6,
        "identity_cpu_us": remote * 1e6,
    }


async def _throughput(
    call: Callable[[], Awaitable[Any]], concurrency: int, seconds: float
) -> float:
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await call()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


def _environment(database_url: str, redis_url: str, secret: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_ENV="production",
        HUB_SECRET_KEY=secret,
        HUB_ALLOW_INSECURE_DEFAULTS="1",  # no SMTP: nothing is mailed here
        HUB_DATABASE_URL=database_url,
        HUB_REDIS_URL=redis_url,
        HUB_LOG_LEVEL="WARNING",
    )
    return env


async def rounds(args: argparse.Namespace, database_url: str, redis_url: str) -> dict[str, Any]:
    from hub.app import context_modules, load_settings
    from hub.kernel import migrations
    from hub.kernel.runtime import Kernel
    from hub.kernel.wiring import assemble

    await asyncio.to_thread(
        migrations.upgrade,
        [m.name for m in context_modules()],
        database_url,
        migrations.migrations_root(),
    )
    secret = secrets.token_urlsafe(36)
    env = _environment(database_url, redis_url, secret)
    port = _free_port()
    identity = subprocess.Popen(
        [
            *_hub_command(),
            "run",
            "--port",
            str(port),
            "--no-worker",
            "--no-migrate",
            "--contexts",
            "identity",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    monolith = load_settings(environ=env)
    split = load_settings(
        environ={
            **env,
            "HUB_CONTEXTS": "content,communication,workflow",
            "HUB_REMOTE_IDENTITY_URL": base,
        }
    )
    local = Kernel(settings=monolith, database_url=database_url, redis_url=redis_url)
    remote = Kernel(settings=split, database_url=database_url, redis_url=redis_url)
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError("the identity service did not start")
        assemble(local, context_modules())
        assemble(remote, context_modules())
        user = await local.services["registration"].create_verified_user(
            f"split-{uuid.uuid4().hex[:8]}@example.com",
            "bench password 123",
            "Bench",
            platform_admin=False,
        )
        owner = Principal(user_id=user, session_id=uuid.uuid4(), auth_time=int(time.time()))
        org = (await local.services["orgs"].create(owner, "Bench Org")).id
        facade, adapter = local.services["identity_api"], remote.services["identity_api"]
        assert type(facade).__name__ == "IdentityFacade"
        assert type(adapter).__name__ == "RemoteIdentityApi"

        async def in_process() -> None:
            assert await facade.membership(org, user, api_key_id=None) is not None

        async def over_http() -> None:
            assert await adapter.membership(org, user, api_key_id=None) is not None

        for call in (in_process, over_http):  # warm-up: pools, statement caches, JIT of paths
            await _one_at_a_time(call, 300, None)
        results: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            for name, call, pid in (
                ("in_process", in_process, None),
                ("remote", over_http, identity.pid),
            ):
                for key, value in (await _one_at_a_time(call, args.calls, pid)).items():
                    results.setdefault(f"{name}_{key}", []).append(value)
                rate = await _throughput(call, args.concurrency, args.seconds)
                results.setdefault(f"{name}_calls_per_s", []).append(rate)
        return {k: statistics.median(v) for k, v in results.items()} | {"samples": results}
    finally:
        await local.close()
        await remote.close()
        identity.terminate()
        identity.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.split", description=__doc__)
    p.add_argument("--calls", type=int, default=2000, help="sequential calls per round")
    p.add_argument("--concurrency", type=int, default=16, help="calls in flight (throughput)")
    p.add_argument("--seconds", type=float, default=5.0, help="throughput window")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--backends", choices=["auto", "local", "embedded"], default="auto")
    args = p.parse_args(argv)
    from bench.backends import flush_redis, local_or_embedded

    with local_or_embedded(prefer=args.backends) as found:
        flush_redis(found.redis_url)
        r = asyncio.run(rounds(args, found.database_url, found.redis_url))
    print(json.dumps(r["samples"], indent=2))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\n{found.description}; load average {load} on {os.cpu_count()} CPUs\n"
        f"(medians of {args.rounds} rounds; {args.calls} calls one at a "
        f"time, then {args.concurrency} in flight for {args.seconds:.0f} s)\n"
        "IdentityApi.membership    p50 µs   p99 µs   caller CPU µs/call   identity CPU µs/call\n"
        f"in process             {r['in_process_p50_us']:8.0f} {r['in_process_p99_us']:8.0f} "
        f"{r['in_process_caller_cpu_us']:20.0f} {'(same process)':>22}\n"
        f"remote adapter         {r['remote_p50_us']:8.0f} {r['remote_p99_us']:8.0f} "
        f"{r['remote_caller_cpu_us']:20.0f} {r['remote_identity_cpu_us']:22.0f}\n"
        f"added by the split     {r['remote_p50_us'] - r['in_process_p50_us']:8.0f} "
        f"{r['remote_p99_us'] - r['in_process_p99_us']:8.0f}\n"
        f"throughput: {r['in_process_calls_per_s']:.0f} calls/s in process, "
        f"{r['remote_calls_per_s']:.0f} calls/s split"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
