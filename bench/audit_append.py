"""``python -m bench.audit_append``: audit-trail appends per second, beside bare INSERTs.

An append is what the catch-all handler does per event (``AuditLog.append``): lock the
chain's head row, summarise the payload, hash the canonical entry after the previous hash,
INSERT the entry into its monthly partition, move the head. The yardstick INSERTs the
very same rows (precomputed, hashes and all) into the same partitioned table with no
lock, no hashing and no head — what a plain append-only log would cost.

Each is run with ``--writers`` concurrent writers over ``--chains`` organisations
(appends to one chain are serialised by its head row; more chains append in parallel) and
once over a single chain (the worst case: every writer queues on one row); first with one
transaction per event (delivery when events trickle in), then with ``--per-commit``
events per transaction (delivery under load: the relay hands a subscriber runs of
consecutive events, handled in one transaction). Median of ``--rounds``.
PostgreSQL on 127.0.0.1 when it answers (scratch database, dropped), else embedded.
The target is 1,000 appends per second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from hub.content.domain.audit import CheckpointSigner
from hub.content.models import outbox
from hub.content.services.audit import _ENTRY_COLUMNS, AuditLog, _driver
from hub.kernel.clock import wall_clock
from hub.kernel.db import Database
from hub.kernel.events import EventEnvelope
from hub.kernel.store import Store
from hub.kernel.tenancy import Tenancy


def envelope(org: uuid.UUID, n: int) -> EventEnvelope:
    return EventEnvelope(
        event_id=uuid.uuid4(),
        event_type="content.document.uploaded",
        event_version=1,
        source="content",
        occurred_at=datetime.now(UTC),
        actor_id=uuid.uuid4(),
        organisation_id=org,
        correlation_id=f"req-{n}",
        payload={"documentId": str(uuid.uuid4()), "title": f"Report {n}", "fileName": "r.pdf"},
        actor_type="user",
        request_id=f"req-{n}",
        client_address="192.0.2.7",
    )


def _chain_key(job: Any) -> str:
    return str(job[0] if isinstance(job, tuple) else job["chain_id"])


async def _run(writers: int, jobs: list[Any], work: Any, per_commit: int = 1) -> float:
    """Events per second: ``jobs`` in transactions of ``per_commit``, ``writers`` at once."""
    queue: asyncio.Queue[list[Any]] = asyncio.Queue()
    for i in range(0, len(jobs), per_commit):
        # Heads locked in one global order, so two batches never wait on each other in a
        # cycle (see docs/audit.md, "Limits", for runs that do not).
        queue.put_nowait(sorted(jobs[i : i + per_commit], key=_chain_key))

    async def writer() -> None:
        while not queue.empty():
            await work(queue.get_nowait())

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    return len(jobs) / (time.perf_counter() - started)


async def rounds(args: argparse.Namespace, database_url: str) -> dict[str, Any]:
    from hub.app import context_modules
    from hub.kernel import migrations

    await asyncio.to_thread(
        migrations.upgrade,
        [m.name for m in context_modules()],
        database_url,
        migrations.migrations_root(),
    )
    db = Database(database_url, pool_size=args.writers + 2)
    store = Store(db, outbox)
    log = AuditLog(store, Tenancy(), wall_clock, CheckpointSigner(["x" * 48]), 0)
    try:

        async def append(batch: list[tuple[uuid.UUID, int]]) -> None:
            async with store.uow() as uow:
                for job in batch:
                    await log.append(uow, envelope(*job))
                await uow.commit()

        columns = [*_ENTRY_COLUMNS, "prev_hash", "hash"]
        plain = (
            f"INSERT INTO content.audit_entries ({', '.join(columns)}) VALUES "
            f"({', '.join(f'${i}' for i in range(1, len(columns) + 1))})"
        )

        async def bare(batch: list[dict[str, Any]]) -> None:
            # The same driver path as appends (a prepared INSERT), minus lock, hash, head.
            async with store.uow() as uow:
                driver = await _driver(uow)
                for row in batch:
                    await driver.execute(plain, *(row[c] for c in columns))
                await uow.commit()

        # Warm-up: pool, partition cache, statement caches.
        await _run(args.writers, [(uuid.uuid4(), n) for n in range(200)], append)
        results: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            for per_commit in (1, args.per_commit):
                suffix = "" if per_commit == 1 else f"_{per_commit}_per_commit"
                chains = [uuid.uuid4() for _ in range(args.chains)]
                jobs = [(chains[n % len(chains)], n) for n in range(args.events)]
                rate = await _run(args.writers, jobs, append, per_commit)
                results.setdefault("append" + suffix, []).append(rate)
                one = uuid.uuid4()
                jobs = [(one, n) for n in range(args.events)]
                rate = await _run(args.writers, jobs, append, per_commit)
                results.setdefault("append_one_chain" + suffix, []).append(rate)
                # The same rows again as plain INSERTs (copied from what was appended,
                # under fresh chain ids so they never collide with the real chains).
                conn = await asyncpg.connect(database_url)
                try:
                    rows = await conn.fetch(
                        "SELECT * FROM content.audit_entries WHERE chain_id = $1 ORDER BY seq",
                        one,
                    )
                finally:
                    await conn.close()
                captured = [{**dict(r), "chain_id": uuid.uuid4()} for r in rows]
                rate = await _run(args.writers, captured, bare, per_commit)
                results.setdefault("bare" + suffix, []).append(rate)
        return {k: statistics.median(v) for k, v in results.items()} | {"samples": results}
    finally:
        await db.dispose()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.audit_append", description=__doc__)
    p.add_argument("--events", type=int, default=3000, help="appends per round")
    p.add_argument("--writers", type=int, default=8, help="concurrent writers")
    p.add_argument("--chains", type=int, default=50, help="organisations appended to")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--per-commit", type=int, default=20, help="events per transaction, batched")
    p.add_argument("--backends", choices=["auto", "local", "embedded"], default="auto")
    args = p.parse_args(argv)
    from bench.backends import local_or_embedded

    with local_or_embedded(prefer=args.backends) as found:
        result = asyncio.run(rounds(args, found.database_url))
    print(json.dumps(result["samples"], indent=2))
    n = args.per_commit
    print(
        f"\n{found.description}\n"
        f"({args.writers} writers, medians of {args.rounds} x {args.events} events)\n"
        f"one event per transaction:  appends over {args.chains} chains "
        f"{result['append']:.0f}/s, to one chain {result['append_one_chain']:.0f}/s, "
        f"bare INSERT {result['bare']:.0f}/s\n"
        f"{n} events per transaction: appends over {args.chains} chains "
        f"{result[f'append_{n}_per_commit']:.0f}/s, to one chain "
        f"{result[f'append_one_chain_{n}_per_commit']:.0f}/s, "
        f"bare INSERT {result[f'bare_{n}_per_commit']:.0f}/s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
