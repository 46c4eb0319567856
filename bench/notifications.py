"""Notifications: in-app fan-out to a large organisation end to end, and the inbox reads
beside a lean reference.

    .venv/bin/python -m bench.notifications [--members 10000] [--rounds 3] [--seconds 5]

A real hub (``bench.content_hub``: production settings, migrations applied, the owner and
an invited member made over the API) and a real ``hub worker`` process (relay, dramatiq
worker, scheduler), on local PostgreSQL/Redis when they answer, else embedded servers.
``--members`` more members are written straight into identity's tables (no password: they
never sign in) with the built-in member role.

* **Fan-out.** ``POST /notifications`` (``general.announcement``, recipients: the member
  role, channel ``in_app``) as the owner; the clock runs from sending the request until
  every recipient's inbox row exists (counted in ``communication.inbox_items`` every 20 ms).
  Target: 10,000 members in under 5 s.
* **Inbox reads.** ``GET /notifications`` (a page of 20) and ``GET
  /notifications/unread-count`` as the invited member, whose inbox then holds one item per
  round plus 50 sent beforehand; 16 connections for ``--seconds``; server CPU per request
  (psutil, the server and its children, around the window) beside
  ``bench/refs/inbox_read.py``: the same token verified with PyJWT and the same statements
  in raw SQL on an asyncpg pool. Not part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import subprocess
import time
import uuid
from typing import Any

import asyncpg

from bench.content_hub import (
    API,
    JSON,
    ContentHub,
    Person,
    _hub_cli,
    _json,
    content_hub,
    prepare,
    sign_in,
)
from bench.load import Request, pick
from bench.servers import Server, ServerSpec

REF = ServerSpec("inbox-read-ref", "bench.refs.inbox_read:create_app", factory=True, probe="/ready")

SEED = """
WITH people AS (
    INSERT INTO identity.users (id, email, display_name, password_hash, email_verified_at,
                                created_at, updated_at)
    SELECT gen_random_uuid(), 'bench-member-' || n || '@example.com', 'Member ' || n,
           '!', now(), now(), now()
    FROM generate_series(1, $2::int) AS n
    RETURNING id
), joined AS (
    INSERT INTO identity.memberships (organisation_id, user_id, created_at)
    SELECT $1, id, now() FROM people
    RETURNING user_id
)
INSERT INTO identity.member_roles (organisation_id, user_id, role_id)
SELECT $1, user_id, $3 FROM joined
"""


def _libpq(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _member_role(dsn: str, org: str) -> uuid.UUID:
    conn = await asyncpg.connect(_libpq(dsn))
    try:
        role: uuid.UUID = await conn.fetchval(
            "SELECT id FROM identity.roles WHERE organisation_id = $1 AND builtin = 'member'",
            uuid.UUID(org),
        )
        return role
    finally:
        await conn.close()


async def _seed(dsn: str, org: str, role: uuid.UUID, members: int) -> None:
    conn = await asyncpg.connect(_libpq(dsn))
    try:
        await conn.execute(SEED, uuid.UUID(org), members, role)
    finally:
        await conn.close()


async def _inbox_rows(dsn: str, notification_id: str, want: int, timeout: float) -> float:
    """Seconds until ``want`` inbox rows of the notification exist (from now)."""
    conn = await asyncpg.connect(_libpq(dsn))
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < timeout:
            have = await conn.fetchval(
                "SELECT count(*) FROM communication.inbox_items WHERE notification_id = $1",
                uuid.UUID(notification_id),
            )
            if have >= want:
                return time.perf_counter() - started
            await asyncio.sleep(0.02)
        raise SystemExit(f"only {have} of {want} inbox rows after {timeout} s")
    finally:
        await conn.close()


def _send(hub: Server, ctx: ContentHub, role: uuid.UUID, title: str) -> str:
    assert ctx.owner is not None
    body = json.dumps(
        {
            "organisationId": ctx.organisation_id,
            "templateKey": "general.announcement",
            "recipients": {"roleIds": [str(role)]},
            "payload": {"title": title, "text": "A bench announcement."},
            "channels": ["in_app"],
        }
    ).encode()
    answer = _json(
        *hub.request("POST", f"{API}/notifications", body, {**JSON, **ctx.owner.auth}),
        "POST /notifications",
        expected=202,
    )
    return str(answer["id"])


def _worker(ctx: ContentHub) -> subprocess.Popen[bytes]:
    log = open(ctx.log_dir / "worker.log", "wb")  # noqa: SIM115 - lives as long as the worker
    return subprocess.Popen(
        [*_hub_cli(), "worker", "--processes", "1"],
        env=ctx.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def fan_out(ctx: ContentHub, hub: Server, members: int, rounds: int) -> list[dict[str, Any]]:
    role = asyncio.run(_member_role(ctx.backends.database_url, ctx.organisation_id))
    asyncio.run(_seed(ctx.backends.database_url, ctx.organisation_id, role, members))
    want = members + 1  # the seeded members and the invited one
    results = []
    for n in range(rounds + 1):  # the first round warms the worker up, not reported
        started = time.perf_counter()
        notification = _send(hub, ctx, role, f"Round {n}")
        accepted = time.perf_counter() - started
        done = accepted + asyncio.run(
            _inbox_rows(ctx.backends.database_url, notification, want, 120)
        )
        if n:
            results.append({"recipients": want, "accepted_s": accepted, "total_s": done})
            print(f"  fan-out round {n}: {want} inboxes in {done:.2f} s", flush=True)
    return results


def _cpu_per_request(
    server: Server, url: str, person: Person, seconds: float, connections: int
) -> dict[str, float]:
    load = pick("auto")
    request = Request(headers=person.auth)
    load.run(url, seconds=1, connections=connections, request=request)  # warm-up
    before = server.cpu_seconds()
    result = load.run(url, seconds=seconds, connections=connections, request=request)
    used = server.cpu_seconds() - before
    if result.errors or not result.requests:
        raise SystemExit(f"{url}: {result.errors} errors of {result.requests}")
    return {
        "cpu_us": used / result.requests * 1e6,
        "rps": result.rps,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
    }


def _jwt_env(hub: Server, person: Person) -> dict[str, str]:
    _status, jwks = hub.get("/.well-known/jwks.json")
    claims = json.loads(base64.urlsafe_b64decode(person.token.split(".")[1] + "=="))
    audience = claims["aud"] if isinstance(claims["aud"], str) else claims["aud"][0]
    return {
        "BENCH_JWKS": jwks.decode(),
        "BENCH_JWT_ISSUER": claims["iss"],
        "BENCH_JWT_AUDIENCE": audience,
    }


def reads(
    ctx: ContentHub, hub: Server, role: uuid.UUID, seconds: float, rounds: int
) -> dict[str, list[dict[str, float]]]:
    for n in range(50):
        _send(hub, ctx, role, f"Inbox filler {n}")
    member = sign_in(hub, "content-member@example.com")
    env = {
        **ctx.env,
        **_jwt_env(hub, member),
        "BENCH_DATABASE_URL": _libpq(ctx.backends.database_url),
    }
    out: dict[str, list[dict[str, float]]] = {}
    with Server(REF, env, ctx.log_dir) as ref:
        for _ in range(rounds):
            for name, server, path in (
                ("hub list", hub, f"{API}/notifications?limit=20"),
                ("ref list", ref, "/notifications"),
                ("hub unread-count", hub, f"{API}/notifications/unread-count"),
                ("ref unread-count", ref, "/notifications/unread-count"),
            ):
                figures = _cpu_per_request(server, server.base_url + path, member, seconds, 16)
                out.setdefault(name, []).append(figures)
    return out


def report(fan: list[dict[str, Any]], read: dict[str, list[dict[str, float]]]) -> str:
    lines = [
        "| fan-out | recipients | accepted (202) | all inboxes written |",
        "|---|---:|---:|---:|",
    ]
    for n, r in enumerate(fan, 1):
        lines.append(
            f"| round {n} | {r['recipients']:,} | {r['accepted_s'] * 1000:.0f} ms"
            f" | {r['total_s']:.2f} s |"
        )
    lines += [
        "",
        "| read | CPU µs/request (median) | req/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    med: dict[str, float] = {}
    for name, runs in read.items():
        cpu = statistics.median(r["cpu_us"] for r in runs)
        med[name] = cpu
        lines.append(
            f"| {name} | {cpu:.0f} | {statistics.median(r['rps'] for r in runs):.0f}"
            f" | {statistics.median(r['p50_ms'] for r in runs):.1f}"
            f" | {statistics.median(r['p99_ms'] for r in runs):.1f} |"
        )
    lines.append("")
    for what in ("list", "unread-count"):
        lines.append(
            f"{what}: hub / reference CPU = {med[f'hub {what}'] / med[f'ref {what}']:.2f}x"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--backends", default="auto", choices=["auto", "local", "embedded"])
    args = parser.parse_args(argv)
    with content_hub(prefer=args.backends, redis_db=5) as ctx:
        print(f"backends: {ctx.backends.description}", flush=True)
        prepare(ctx, with_member=True)
        worker = _worker(ctx)
        try:
            with ctx.server() as hub:
                ctx.owner = sign_in(hub, "content-owner@example.com")
                fan = fan_out(ctx, hub, args.members, args.rounds)
                role = asyncio.run(_member_role(ctx.backends.database_url, ctx.organisation_id))
                read = reads(ctx, hub, role, args.seconds, args.rounds)
        finally:
            worker.terminate()
            worker.wait(30)
    print()
    print(f"load: {os.getloadavg()[0]:.1f} (1-minute average at the end)")
    print(report(fan, read))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
