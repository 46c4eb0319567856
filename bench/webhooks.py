"""``python -m bench.webhooks``: signed webhook deliveries per second to a local receiver.

A delivery is what the ``communication.webhook_deliver`` job does
(``WebhookSender.attempt``): read the pending delivery and its endpoint, open the sealed
secret(s), sign, check the URL and the address (SSRF rules), POST to the pinned address
with a fresh connection, read the answer up to the cap, and record the outcome (delivery
and endpoint rows) in one transaction. ``--deliveries`` pending rows are created first,
then attempted by ``--concurrency`` workers at once (the job's concurrency in a worker);
the yardstick is the same POSTs with httpx alone (no database, no signing, no checks).
The receiver is an aiohttp server in a child process (its CPU is not the sender's loop)
that answers 200 at once. Median of ``--rounds``. PostgreSQL on 127.0.0.1 when it answers
(scratch database, dropped), else embedded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any, cast

import httpx

from hub.communication.domain import webhooks as rules
from hub.communication.models import outbox
from hub.communication.services.webhook_delivery import WebhookSender
from hub.communication.services.webhooks import SEAL_PURPOSE, endpoints_t, insert_delivery
from hub.kernel.clock import wall_clock
from hub.kernel.db import Database
from hub.kernel.egress import AddressPolicy
from hub.kernel.sealing import Sealer
from hub.kernel.store import Store


def _serve(port: int) -> None:
    from aiohttp import web

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text='{"ok":true}', content_type="application/json")

    app = web.Application()
    app.router.add_post("/hook", hook)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _wait_for(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise RuntimeError("the receiver did not start")


async def _pool(concurrency: int, items: list[Any], work: Any) -> float:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)

    async def worker() -> None:
        while not queue.empty():
            await work(queue.get_nowait())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(items) / (time.perf_counter() - started)


async def rounds(args: argparse.Namespace, database_url: str, url: str) -> dict[str, Any]:
    from hub.app import context_modules
    from hub.kernel import migrations

    await asyncio.to_thread(
        migrations.upgrade,
        [m.name for m in context_modules()],
        database_url,
        migrations.migrations_root(),
    )
    db = Database(database_url, pool_size=args.concurrency + 2)
    store = Store(db, outbox)
    sealer = Sealer(["x" * 48], SEAL_PURPOSE)
    policy = AddressPolicy.of(["127.0.0.1/32"])
    # The notification service is only used when an endpoint is disabled (never here).
    sender = WebhookSender(
        store, wall_clock, cast(Any, None), sealer=sealer, policy=policy, timeout_s=15
    )
    endpoint_id = uuid.uuid4()
    now = datetime.now(UTC)
    async with store.uow() as uow:
        await uow.session.execute(
            endpoints_t.insert().values(
                id=endpoint_id,
                organisation_id=uuid.uuid4(),
                url=url,
                event_types=["*"],
                secret_sealed=sealer.seal(rules.new_secret().encode(), context=endpoint_id.bytes),
                created_at=now,
                updated_at=now,
            )
        )
        await uow.commit()
    body = json.dumps(
        {"type": "content.document.uploaded", "timestamp": now.isoformat(), "data": {"n": 1}}
    )

    async def pending(n: int) -> list[uuid.UUID]:
        ids: list[uuid.UUID] = []
        async with store.uow() as uow:
            endpoint = (
                await uow.session.execute(
                    endpoints_t.select().where(endpoints_t.c.id == endpoint_id)
                )
            ).one()
            for _ in range(n):
                row = await insert_delivery(
                    uow.session,
                    endpoint,
                    event_id=uuid.uuid4(),
                    event_type="content.document.uploaded",
                    body=body,
                    now=datetime.now(UTC),
                )
                ids.append(row.id)
            await uow.commit()
        return ids

    async def deliver(delivery_id: uuid.UUID) -> None:
        status = await sender.attempt(delivery_id, 0)
        assert status == "succeeded", status

    tls = httpx.create_ssl_context()  # once, as hub.kernel.egress does

    async def bare(_: int) -> None:
        async with httpx.AsyncClient(
            verify=tls, trust_env=False, limits=httpx.Limits(max_keepalive_connections=0)
        ) as client:
            response = await client.post(url, content=body.encode())
            assert response.status_code == 200

    try:
        await _pool(args.concurrency, await pending(100), deliver)  # warm-up
        results: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            for concurrency in (1, args.concurrency):
                ids = await pending(args.deliveries)
                rate = await _pool(concurrency, ids, deliver)
                results.setdefault(f"deliveries_c{concurrency}", []).append(rate)
                rate = await _pool(concurrency, list(range(args.deliveries)), bare)
                results.setdefault(f"bare_post_c{concurrency}", []).append(rate)
        return {k: statistics.median(v) for k, v in results.items()} | {"samples": results}
    finally:
        await db.dispose()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__)
    p.add_argument("--deliveries", type=int, default=1000, help="deliveries per round")
    p.add_argument("--concurrency", type=int, default=16, help="attempts at once")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--backends", choices=["auto", "local", "embedded"], default="auto")
    args = p.parse_args(argv)
    from bench.backends import local_or_embedded

    port = _free_port()
    receiver = multiprocessing.get_context("spawn").Process(target=_serve, args=(port,))
    receiver.start()
    try:
        asyncio.run(_wait_for(port))
        with local_or_embedded(prefer=args.backends) as found:
            result = asyncio.run(rounds(args, found.database_url, f"http://127.0.0.1:{port}/hook"))
    finally:
        receiver.terminate()
        receiver.join()
    print(json.dumps(result["samples"], indent=2))
    c = args.concurrency
    print(
        f"\n{found.description}\n(medians of {args.rounds} x {args.deliveries} deliveries)\n"
        f"one at a time: {result['deliveries_c1']:.0f} deliveries/s "
        f"(bare httpx POST {result['bare_post_c1']:.0f}/s)\n"
        f"{c} at once:    {result[f'deliveries_c{c}']:.0f} deliveries/s "
        f"(bare httpx POST {result[f'bare_post_c{c}']:.0f}/s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
