"""``python -m bench.workflow``: workflow transitions per second, and durable timers fired
per second with their lateness.

In process, through the services the HTTP routes and the timer job call (no HTTP, no
tenancy check): ``InstanceService.take_in`` in its own transaction (the optimistic
``UPDATE ... WHERE version``, the history row, the events) by ``--writers`` concurrent
writers, each moving its own instance back and forth; then ``TimerService.fire_due`` by
``--firers`` concurrent runs over a backlog of ``--timers`` due timers (each claimed with
``FOR UPDATE SKIP LOCKED`` and fired in its own transaction), and the lateness of
``--late-timers`` timers due over ``--spread`` seconds while the production timer loop
runs (``TimerLoop``: it sleeps until the next due timer, at most
``HUB_WORKFLOW_TIMER_POLL_MS``).
PostgreSQL on 127.0.0.1 when it answers (scratch database, dropped), else embedded; Redis
db ``--redis-db``. Median of ``--rounds``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url

from hub.app import context_modules, load_settings
from hub.kernel import migrations
from hub.kernel.runtime import Kernel
from hub.kernel.wiring import assemble
from hub.workflow import repositories
from hub.workflow.domain.definitions import load
from hub.workflow.models import Timer, WorkflowDefinition
from hub.workflow.services.instances import Actor, Subject

PING_PONG: dict[str, Any] = {
    "states": [
        {"name": "a", "initial": True},
        {"name": "b"},
        {"name": "done", "final": True},
    ],
    "transitions": [
        {"name": "ab", "from": "a", "to": "b"},
        {"name": "ba", "from": "b", "to": "a"},
        {"name": "finish", "from": ["a", "b"], "to": "done"},
    ],
}


async def _definition(kernel: Kernel, org: uuid.UUID, key: str, body: dict[str, Any]) -> Any:
    store = kernel.services["workflow_instances"].store
    async with store.uow() as uow:
        row = WorkflowDefinition(
            organisation_id=org, key=key, version=1, body=body, published_at=datetime.now(UTC)
        )
        uow.session.add(row)
        await uow.commit()
    return await repositories.definition_by_id(store, row.id)


async def _start(kernel: Kernel, row: Any, n: int) -> uuid.UUID:
    instances = kernel.services["workflow_instances"]
    async with instances.store.uow() as uow:
        instance = await instances.start_in(
            uow,
            row,
            load(row.body),
            Subject(reference=f"bench-{n}"),
            {},
            Actor(actor_type="system"),
        )
        await uow.commit()
    return instance.id  # type: ignore[no-any-return]


async def transitions_per_second(kernel: Kernel, writers: int, seconds: float) -> float:
    instances = kernel.services["workflow_instances"]
    row = await _definition(kernel, uuid.uuid4(), f"ping-{uuid.uuid4().hex[:8]}", PING_PONG)
    definition = load(row.body)
    ids = [await _start(kernel, row, n) for n in range(writers)]
    done = 0
    stop = time.perf_counter() + seconds

    async def writer(instance_id: uuid.UUID) -> None:
        nonlocal done
        while time.perf_counter() < stop:
            current = await repositories.instance_by_id(instances.store, instance_id)
            name = "ab" if current.state == "a" else "ba"
            async with instances.store.uow() as uow:
                await instances.take_in(
                    uow, current, definition, definition.transitions[name], Actor("system"), {}
                )
                await uow.commit()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(writer(i) for i in ids))
    return done / (time.perf_counter() - started)


async def _timers(kernel: Kernel, count: int, after: list[timedelta]) -> datetime:
    """``count`` instances with a timer each, due ``after[n]`` from the moment they are all
    written (answered): starting them takes seconds, which must not count as lateness."""
    store = kernel.services["workflow_instances"].store
    row = await _definition(kernel, uuid.uuid4(), f"t-{uuid.uuid4().hex[:8]}", PING_PONG)
    ids = [await _start(kernel, row, n) for n in range(count)]
    base = datetime.now(UTC)
    due = [base + delta for delta in after]
    async with store.uow() as uow:
        for n, instance_id in enumerate(ids):
            uow.session.add(
                Timer(
                    organisation_id=row.organisation_id,
                    instance_id=instance_id,
                    state="a",
                    entered_version=1,
                    step=0,
                    kind="remind",
                    spec={"at": 80, "kind": "remind", "payload": {"title": "t", "text": "t"}},
                    due_at=due[n],
                    status="pending",
                )
            )
        await uow.commit()
    return base


async def timers_per_second(kernel: Kernel, count: int, firers: int) -> float:
    await _timers(kernel, count, [timedelta(seconds=-1)] * count)
    timers = kernel.services["workflow_timers"]
    started = time.perf_counter()
    fired = await asyncio.gather(*(timers.fire_due(limit=count) for _ in range(firers)))
    elapsed = time.perf_counter() - started
    assert sum(fired) == count, fired
    return count / elapsed


async def lateness(kernel: Kernel, count: int, spread: float) -> dict[str, float]:
    """Timers due over ``spread`` seconds; the timer loop runs as in a worker process."""
    store = kernel.services["workflow_instances"].store
    after = [timedelta(seconds=2 + spread * n / count) for n in range(count)]
    start = await _timers(kernel, count, after)
    stop = asyncio.Event()
    loop = asyncio.create_task(kernel.services["workflow_timer_loop"].run(stop))
    await asyncio.sleep((start - datetime.now(UTC)).total_seconds() + spread + 5)
    stop.set()
    await loop
    rows = await store.all(
        select(Timer.due_at, Timer.fired_at).where(Timer.due_at >= start, Timer.status == "fired")
    )
    late = sorted((r.fired_at - r.due_at).total_seconds() for r in rows)
    return {
        "fired": len(late),
        "p50_s": late[len(late) // 2],
        "p90_s": late[min(len(late) - 1, int(len(late) * 0.9))],
        "p99_s": late[min(len(late) - 1, int(len(late) * 0.99))],
        "max_s": late[-1],
    }


async def run(args: argparse.Namespace, database_url: str, redis_url: str) -> dict[str, Any]:
    await asyncio.to_thread(
        migrations.upgrade,
        [m.name for m in context_modules()],
        database_url,
        migrations.migrations_root(),
    )
    settings = load_settings(
        environ={},
        env="test",
        data_dir=Path(tempfile.mkdtemp(prefix="hub-bench-wf-")),
        database_url=database_url,
        redis_url=redis_url,
        log_level="WARNING",
    )
    kernel = Kernel(settings, database_url, redis_url)
    assemble(kernel, context_modules())
    try:
        samples: dict[str, list[float]] = {}
        await transitions_per_second(kernel, args.writers, 1)  # warm-up
        for _ in range(args.rounds):
            samples.setdefault("transitions_per_s", []).append(
                await transitions_per_second(kernel, args.writers, args.seconds)
            )
            samples.setdefault("timers_fired_per_s", []).append(
                await timers_per_second(kernel, args.timers, args.firers)
            )
        late = await lateness(kernel, args.late_timers, args.spread)
        result: dict[str, Any] = {k: round(statistics.median(v), 1) for k, v in samples.items()}
        return result | {"lateness": late, "samples": samples}
    finally:
        await kernel.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.workflow", description=__doc__)
    p.add_argument("--writers", type=int, default=8, help="concurrent transition writers")
    p.add_argument("--seconds", type=float, default=5, help="measured window per round")
    p.add_argument("--timers", type=int, default=1000, help="timers per round")
    p.add_argument("--firers", type=int, default=4, help="concurrent timer-firing runs")
    p.add_argument("--late-timers", type=int, default=300, help="timers of the lateness run")
    p.add_argument("--spread", type=float, default=15, help="seconds the lateness timers span")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--redis-db", type=int, default=13)
    p.add_argument("--backends", choices=["auto", "local", "embedded"], default="auto")
    args = p.parse_args(argv)
    from bench.backends import local_or_embedded

    with local_or_embedded(prefer=args.backends) as found:
        url = make_url(found.database_url).set(drivername="postgresql+asyncpg")
        redis_url = found.redis_url.rsplit("/", 1)[0] + f"/{args.redis_db}"
        result = asyncio.run(run(args, url.render_as_string(hide_password=False), redis_url))
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
