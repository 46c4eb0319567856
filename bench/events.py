"""``python -m bench.events``: integration events end to end, outbox → relay → subscriber.

What one event costs here is the production path: a unit of work commits a state change
with its outbox row (and ``pg_notify``); a relay claims it, hands it to dramatiq on Redis;
a worker's subscriber handles it in its own transaction, which records the event in the
subscriber's inbox and writes its effect (one row). The publisher is this process (as the
API would be); relay and worker run in a separate ``hub worker``-style process
(:func:`hub.worker.run_workers`), as in production.

Two measurements:

* throughput: ``--events`` events committed as fast as ``--publishers`` concurrent
  publishers can, timed from the first commit to the last effect; events per second.
  Once with one event per transaction (then the publisher, one Python process like one
  API worker, is usually the limit) and once with ``--per-commit`` events per
  transaction, which shows what relay and consumer can carry.
* backlog drain: ``--backlog`` events committed (one per transaction) while no relay
  runs, then the worker starts; events per second from the first effect to the last, so
  relay and consumer alone set the pace.
* latency: events committed one per transaction at a steady ``--rate`` (default 500/s,
  half the 1,000/s target) for ``--seconds``; for each, commit-to-handled = the
  subscriber's effect row time
  (``clock_timestamp()`` in its transaction) minus the time the publisher's commit
  returned. p50/p95/p99/max over all events.

PostgreSQL and Redis on 127.0.0.1 are used when they answer (scratch database, Redis db
12, both cleaned up), else embedded servers in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

import asyncpg
from sqlalchemy import text

from hub.app import load_settings
from hub.kernel.contexts import ContextModule
from hub.kernel.db import Database, UnitOfWork
from hub.kernel.events import IntegrationEvent
from hub.kernel.outbox import outbox_of
from hub.kernel.schema import context_metadata
from hub.kernel.settings import Settings
from hub.kernel.subscribers import Subscription

ROOT = Path(__file__).resolve().parents[1]


class BenchPing(IntegrationEvent, frozen=True):
    event_type: ClassVar[str] = "content.bench_ping"
    aggregate_field: ClassVar[str | None] = "key"

    key: str
    seq: int


async def on_ping(event: BenchPing, uow: UnitOfWork) -> None:
    await uow.session.execute(
        text("INSERT INTO kernel_bench.handled (event_id, seq) VALUES (:id, :seq)"),
        {"id": event.event_id, "seq": event.seq},
    )


def modules() -> list[ContextModule]:
    return [
        ContextModule(name="content", metadata=context_metadata("content")),
        ContextModule(
            name="workflow",
            metadata=context_metadata("workflow"),
            subscriptions=[Subscription(BenchPing, on_ping, name="workflow.bench_on_ping")],
        ),
    ]


# --------------------------------------------------------------------------- backends


@contextmanager
def backends(prefer: str) -> Iterator[tuple[str, str, str]]:
    from bench.backends import LOCAL_POSTGRES, local_or_embedded

    with local_or_embedded(prefer=prefer) as found:
        redis_url, description = found.redis_url, found.description
        if found.database_url.startswith(LOCAL_POSTGRES.rsplit("/", 1)[0]):
            redis_url = redis_url.rsplit("/", 1)[0] + "/12"  # not the HTTP bench's db
            description = description.replace("Redis db 13", "Redis db 12")
        yield found.database_url, redis_url, description


async def prepare(database_url: str, redis_url: str) -> None:
    import redis.asyncio as aredis

    from hub.app import context_modules
    from hub.kernel import migrations

    await asyncio.to_thread(
        migrations.upgrade,
        [m.name for m in context_modules()],
        database_url,
        migrations.migrations_root(),
    )
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            """
            CREATE SCHEMA IF NOT EXISTS kernel_bench;
            DROP TABLE IF EXISTS kernel_bench.handled;
            CREATE TABLE kernel_bench.handled (
                event_id uuid PRIMARY KEY,
                seq int NOT NULL,
                handled_at timestamptz NOT NULL DEFAULT clock_timestamp()
            );
            TRUNCATE content.outbox, workflow.inbox;
            """
        )
    finally:
        await conn.close()
    client = aredis.Redis.from_url(redis_url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


# --------------------------------------------------------------------------- phases


class Publisher:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.outbox = outbox_of("content")
        self.committed: dict[int, float] = {}
        self.seq = 0

    async def one(self, per_commit: int = 1) -> None:
        seqs = list(range(self.seq + 1, self.seq + per_commit + 1))
        self.seq += per_commit
        async with self.db.unit_of_work(self.outbox) as uow:
            for seq in seqs:
                uow.publish(BenchPing(key=f"k{seq % 64}", seq=seq))
            await uow.commit()
        now = time.time()
        for seq in seqs:
            self.committed[seq] = now


async def _publish_n(pub: Publisher, n: int) -> None:
    for _ in range(n):
        await pub.one()


async def handled_count(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM kernel_bench.handled"))


async def wait_handled(conn: asyncpg.Connection, target: int, limit_s: float) -> float:
    deadline = time.monotonic() + limit_s
    while True:
        if await handled_count(conn) >= target:
            return time.monotonic()
        if time.monotonic() > deadline:
            raise SystemExit(
                f"only {await handled_count(conn)} of {target} events handled in {limit_s}s"
            )
        await asyncio.sleep(0.01)


async def throughput(
    pub: Publisher, conn: asyncpg.Connection, events: int, publishers: int, per_commit: int
) -> dict[str, float]:
    before = await handled_count(conn)
    events -= events % per_commit
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(events // per_commit):
        queue.put_nowait(i)

    async def run() -> None:
        while True:
            try:
                queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await pub.one(per_commit)

    started = time.monotonic()
    await asyncio.gather(*(run() for _ in range(publishers)))
    published = time.monotonic()
    done = await wait_handled(conn, before + events, 120)
    return {
        "events": events,
        "events_per_commit": per_commit,
        "publish_rate": events / (published - started),
        "throughput": events / (done - started),
        "seconds": done - started,
    }


async def latency(
    pub: Publisher, conn: asyncpg.Connection, rate: float, seconds: float
) -> dict[str, float]:
    before = await handled_count(conn)
    first_seq = pub.seq + 1
    total = int(rate * seconds)
    start = time.monotonic() + 0.05
    tasks: list[asyncio.Task[None]] = []
    for i in range(total):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(pub.one()))
    await asyncio.gather(*tasks)
    achieved = total / (time.monotonic() - start)
    await wait_handled(conn, before + total, 60)
    rows = await conn.fetch(
        "SELECT seq, extract(epoch FROM handled_at)::float8 AS at "
        "FROM kernel_bench.handled WHERE seq >= $1",
        first_seq,
    )
    lat = sorted(max(0.0, r["at"] - pub.committed[r["seq"]]) * 1000 for r in rows)

    def pct(p: float) -> float:
        return float(lat[min(len(lat) - 1, int(p / 100 * len(lat)))])

    return {
        "target_rate": rate,
        "achieved_rate": achieved,
        "events": len(lat),
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "max_ms": lat[-1],
        "mean_ms": statistics.fmean(lat),
    }


# --------------------------------------------------------------------------- main


def worker_env(database_url: str, redis_url: str, threads: int) -> dict[str, str]:
    return {
        **os.environ,
        "HUB_ENV": "development",
        "HUB_DATABASE_URL": database_url,
        "HUB_REDIS_URL": redis_url,
        "HUB_LOG_LEVEL": "WARNING",
        "HUB_WORKER_THREADS": str(threads),
        "PYTHONPATH": str(ROOT),
    }


def serve_worker(processes: int) -> int:
    """The worker side (own process): relay + dramatiq worker with the bench subscriber."""
    from hub.kernel.logging import configure_logging
    from hub.worker import run_workers

    settings: Settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return run_workers(
        settings,
        modules(),
        processes=processes,
        threads=settings.worker_threads,
        relay=True,
        scheduler=False,
    )


async def measure(args: argparse.Namespace, database_url: str, redis_url: str) -> dict[str, object]:
    await prepare(database_url, redis_url)
    db = Database(database_url, pool_size=args.publishers + 2)
    conn = await asyncpg.connect(database_url)
    pub = Publisher(db)
    # Backlog: commit events while no relay runs (an outage, a deploy), then start the
    # worker; relay and consumer alone set the pace, with no publisher competing for CPU.
    await asyncio.gather(
        *(_publish_n(pub, args.backlog // args.publishers) for _ in range(args.publishers))
    )
    backlog = pub.seq
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.events", "--serve-worker", str(args.worker_processes)],
        env=worker_env(database_url, redis_url, args.threads),
        cwd=ROOT,
    )
    try:
        await wait_handled(conn, backlog, 120)
        span = await conn.fetchrow(
            "SELECT extract(epoch FROM max(handled_at) - min(handled_at))::float8 AS s "
            "FROM kernel_bench.handled"
        )
        drain = {"events": backlog, "throughput": (backlog - 1) / span["s"]}
        for _ in range(300):  # warm-up: connections, caches
            await pub.one()
        await wait_handled(conn, backlog + 300, 60)
        single = [
            await throughput(pub, conn, args.events, args.publishers, 1) for _ in range(args.rounds)
        ]
        batched = [
            await throughput(pub, conn, args.events, args.publishers, args.per_commit)
            for _ in range(args.rounds)
        ]
        best_single = statistics.median(r["throughput"] for r in single)
        best_batched = statistics.median(r["throughput"] for r in batched)
        lat = await latency(pub, conn, args.rate, args.seconds)
        return {
            "backlog_drain": drain,
            "throughput_one_per_commit": single,
            "throughput_batched_commits": batched,
            "throughput_median_one_per_commit": best_single,
            "throughput_median_batched": best_batched,
            "latency": lat,
        }
    finally:
        await conn.close()
        await db.dispose()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.events", description=__doc__)
    p.add_argument("--events", type=int, default=5000, help="events per throughput round")
    p.add_argument("--backlog", type=int, default=10000, help="events drained from a backlog")
    p.add_argument("--rounds", type=int, default=3, help="throughput rounds (median)")
    p.add_argument("--publishers", type=int, default=8, help="concurrent publishers")
    p.add_argument(
        "--per-commit", type=int, default=10, help="events per transaction, batched round"
    )
    p.add_argument(
        "--rate", type=float, default=500, help="latency phase: events/s (half the target)"
    )
    p.add_argument("--seconds", type=float, default=10, help="latency window")
    p.add_argument("--threads", type=int, default=8, help="worker threads per process")
    p.add_argument("--worker-processes", type=int, default=1)
    p.add_argument("--backends", choices=["auto", "local", "embedded"], default="auto")
    p.add_argument("--serve-worker", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve_worker is not None:
        return serve_worker(args.serve_worker)
    with backends(args.backends) as (database_url, redis_url, description):
        result = asyncio.run(measure(args, database_url, redis_url))
    result["backends"] = description
    result["config"] = {
        "publishers": args.publishers,
        "worker_processes": args.worker_processes,
        "threads": args.threads,
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    lat = result["latency"]
    assert isinstance(lat, dict)
    drain = result["backlog_drain"]
    assert isinstance(drain, dict)
    print(
        f"\nbacklog of {drain['events']} drained (relay + consumer alone): "
        f"{drain['throughput']:.0f} events/s\n"
        f"throughput, one event per commit: "
        f"{result['throughput_median_one_per_commit']:.0f} events/s end to end\n"
        f"throughput, {args.per_commit} events per commit: "
        f"{result['throughput_median_batched']:.0f} events/s end to end "
        f"(medians of {args.rounds} x {args.events})\n"
        f"latency at {lat['achieved_rate']:.0f}/s: p50 {lat['p50_ms']:.1f} ms, "
        f"p95 {lat['p95_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms, max {lat['max_ms']:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
