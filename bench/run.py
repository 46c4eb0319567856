"""``python -m bench.run`` (``make bench``): the hub beside its reference apps, one run.

Creates the bench table and runs the scenarios' one-off setups (identity: the bench
accounts, the hub's tokens and keys for the reference apps), then for each round starts
every needed server in turn (uvicorn, one worker process each) and drives its scenarios
with the same load generator: a warm-up, then a measured window bracketed by reads of the
server's CPU time. Prints one table of medians, writes JSON to ``bench/results/`` and,
for a default or ``--all`` run, refreshes the figures in ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import asyncpg

from bench import backends as backends_mod
from bench import fixture, latency_probe, load, report
from bench.load import GET, LoadGenerator, Request
from bench.report import Sample
from bench.scenarios import BARE, LOCAL, SCENARIOS, SERVERS, Scenario
from bench.servers import Server, Setup, hub_environment

#: The latency probe's pace during a probed scenario: light next to the load it watches.
PROBE_INTERVAL_S = 0.01


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    p.add_argument("--seconds", type=float, default=5, help="measured window per round (5)")
    p.add_argument("--warmup", type=float, default=1, help="warm-up before each window (1)")
    p.add_argument("--rounds", type=int, default=3, help="rounds; medians are reported (3)")
    p.add_argument("--connections", type=int, default=16, help="requests in flight (16)")
    p.add_argument("--load", choices=["auto", "wrk", "python"], default="auto")
    p.add_argument("--wrk-threads", type=int, default=1)
    p.add_argument("--backends", choices=["auto", "local", "embedded"], default="auto")
    p.add_argument("--all", action="store_true", help="also the explanatory scenarios")
    p.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="SCENARIO",
        help="a scenario or a group (identity); repeatable",
    )
    p.add_argument("--no-readme", action="store_true", help="leave bench/README.md alone")
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    p.add_argument(
        "--keep-logs", action="store_true", help="keep server logs in bench/results/logs"
    )
    return p.parse_args(argv)


def select(args: argparse.Namespace) -> list[Scenario]:
    by_name = {s.name: s for s in SCENARIOS}
    groups = {s.group for s in SCENARIOS if s.group}
    if args.only:
        unknown = [n for n in args.only if n not in by_name and n not in groups]
        if unknown:
            raise SystemExit(f"unknown scenario(s): {', '.join(unknown)} (see --list)")
        wanted = {
            s.name
            for s in SCENARIOS
            if s.name in args.only or (s.group in args.only and (args.all or not s.extended))
        }
    else:
        wanted = {s.name for s in SCENARIOS if args.all or not s.extended}
    # A ratio needs its denominators in the same run (and theirs).
    for _ in range(3):
        for name in list(wanted):
            sc = by_name[name]
            wanted.update(n for n in (sc.reference, sc.base, sc.peer) if n)
    wanted.add(BARE)
    return [s for s in SCENARIOS if s.name in wanted]


async def _server_version(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def _check(server: Server, scenario: Scenario, request: Request) -> bytes:
    body = request.body_for(0)
    path = request.path or scenario.path
    status, answer = server.request(request.method, path, body, request.headers)
    if request.chain is not None:
        request.chain.answered(0, status, answer)
    if status != 200:
        raise SystemExit(
            f"{scenario.name}: {request.method} {path} answered {status}: {answer[:300]!r}"
        )
    return answer


def _same_rows(bodies: dict[str, bytes], scenarios: list[Scenario]) -> None:
    """A scenario and its reference must answer alike, or the ratio means nothing: the
    reference's fields with the same values (a reference may answer fewer fields), or for
    answers that cannot be equal (fresh tokens) the same field names."""
    for sc in scenarios:
        if sc.same == "none" or sc.reference in (None, BARE) or sc.reference not in bodies:
            continue
        mine, theirs = json.loads(bodies[sc.name]), json.loads(bodies[sc.reference])
        if sc.same == "keys":
            if set(mine) != set(theirs):
                raise SystemExit(
                    f"{sc.name} answered {sorted(mine)}, {sc.reference} {sorted(theirs)}"
                )
        elif {k: mine.get(k) for k in theirs} != theirs:
            raise SystemExit(f"{sc.name} answered {mine}, {sc.reference} answered {theirs}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for s in SCENARIOS:
            ref = f" (÷ {s.reference})" if s.reference else " (reference)"
            tags = "  [--all]" if s.extended else (f"  [{s.group}]" if s.group else "")
            print(f"{s.name:24} {s.summary}{ref}{tags}")
        return 0
    loadavg = report.load_average()  # before the run adds its own load
    scenarios = select(args)
    generator = load.pick(args.load, args.wrk_threads)
    log_dir = report.RESULTS / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)

    with backends_mod.local_or_embedded(prefer=args.backends) as be:
        print(f"backends: {be.description}")
        print(f"load:     {generator.name}, {args.connections} connections")
        backends_mod.flush_redis(be.redis_url)
        asyncio.run(fixture.ensure_table(be.database_url))
        postgres = asyncio.run(_server_version(be.database_url))
        base_env = {**os.environ, "BENCH_DATABASE_URL": be.database_url}
        hub_env = hub_environment(be.database_url, be.redis_url, base_env)
        if any(s.server in SERVERS and SERVERS[s.server].hub for s in scenarios):
            problem = backends_mod.migrate(be, hub_env)
            print(f"migrate:  {'ok' if problem is None else 'FAILED, going on: ' + problem}")

        def server(name: str) -> Server:
            spec = SERVERS[name]
            return Server(spec, hub_env if spec.hub else base_env, log_dir, keep_log=args.keep_logs)

        setup = Setup(
            server=server,
            hub_env=hub_env,
            base_env=base_env,
            connections=args.connections,
            window_s=args.warmup * 2 + args.seconds,
        )
        for hook in dict.fromkeys(s.setup for s in scenarios if s.setup):
            print(f"setup:    {hook.__qualname__}", flush=True)
            hook(setup)

        counter = backends_mod.ConnectionCounter(be.database_url)
        try:
            samples, rss = measure(args, scenarios, server, generator, counter)
        finally:
            counter.close()

        rows = report.summarise(scenarios, samples)
        print()
        print(report.table(rows))
        for line in report.verdicts(rows):
            print(line)
        info: dict[str, object] = {
            "machine": report.machine(postgres, generator.name, loadavg),
            "backends": be.description,
            "settings": {
                "seconds": args.seconds,
                "warmup": args.warmup,
                "rounds": args.rounds,
                "connections": args.connections,
            },
            "server_rss_mb": rss,
            "load_by_scenario": {
                name: sorted({x.load for x in runs}) for name, runs in samples.items()
            },
            "samples": {k: [vars(s) for s in v] for k, v in samples.items()},
        }
        path = report.write_json(info, rows)
        print(f"\nresults:  {path}")
        wrote = not args.no_readme and not args.only
        if wrote and report.update_readme(report.readme_section(info, rows)):
            print(f"readme:   {report.README} updated")
    return 0


def measure(
    args: argparse.Namespace,
    scenarios: list[Scenario],
    server_for: Callable[[str], Server],
    generator: LoadGenerator,
    counter: backends_mod.ConnectionCounter,
) -> tuple[dict[str, list[Sample]], dict[str, float]]:
    """Every round starts each server in turn, measures its scenarios and stops it.

    One server at a time keeps the run within a shared PostgreSQL's connection limit and
    leaves the machine to the server being measured; rounds rotate the order, so drift
    in the machine's load hits every target alike. Medians over rounds are reported.
    In-process scenarios (argon2) take their turn in the rotation like a server.
    """
    by_server: dict[str, list[Scenario]] = {}
    for sc in scenarios:
        by_server.setdefault(sc.server, []).append(sc)
    names = list(by_server)
    samples: dict[str, list[Sample]] = {s.name: [] for s in scenarios}
    rss: dict[str, float] = {}
    bodies: dict[str, bytes] = {}
    chained = load.AsyncioClient()
    for rnd in range(1, args.rounds + 1):
        shift = (rnd - 1) % len(names)
        for name in names[shift:] + names[:shift]:
            with _started(name, server_for) as server:
                for position, sc in enumerate(by_server[name]):
                    if server is None:
                        sample = _measure_local(sc, args.seconds)
                    else:
                        request = sc.prepare(server) if sc.prepare else GET
                        if rnd == 1:
                            bodies[sc.name] = _check(server, sc, request)
                        # wrk cannot chain a request on the previous answer.
                        gen = chained if request.chain is not None else generator
                        # A fresh process warms up longer: pools fill, caches compile.
                        warmup = args.warmup * (2 if position == 0 else 1)
                        sample = _measure_http(args, sc, server, request, gen, warmup, counter)
                    samples[sc.name].append(sample)
                    errors = f"  ERRORS {sample.errors}" if sample.errors else ""
                    probed = ""
                    if sample.probe_p99_ms is not None:
                        probed = (
                            f"  {sc.probe} p99 {sample.probe_p99_ms:.2f} ms "
                            f"(idle {sample.idle_p99_ms:.2f})"
                        )
                    print(
                        f"  round {rnd}/{args.rounds} {sc.name:24} {sample.rps:8,.0f} req/s  "
                        f"p50 {sample.p50_ms:6.2f} ms  p99 {sample.p99_ms:6.2f} ms  "
                        f"{sample.cpu_ms_per_1k:7,.0f} CPU ms/1k{errors}{probed}",
                        flush=True,
                    )
                if server is not None:
                    rss[name] = round(server.rss_mb(), 1)
        if rnd == 1:
            _same_rows(bodies, scenarios)
    return samples, rss


@contextmanager
def _started(name: str, server_for: Callable[[str], Server]) -> Iterator[Server | None]:
    if name == LOCAL:
        yield None
        return
    with server_for(name) as server:
        yield server


def _measure_local(sc: Scenario, seconds: float) -> Sample:
    assert sc.local is not None
    result, cpu = sc.local(seconds)
    return Sample(
        requests=result.requests,
        errors=result.errors,
        seconds=round(result.duration_s, 3),
        rps=result.rps,
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        cpu_ms_per_1k=cpu * 1e6 / result.requests if result.requests else float("nan"),
        load="in-process",
    )


def _measure_http(
    args: argparse.Namespace,
    sc: Scenario,
    server: Server,
    request: Request,
    gen: LoadGenerator,
    warmup: float,
    counter: backends_mod.ConnectionCounter,
) -> Sample:
    url = server.base_url + (request.path or sc.path)
    connections = sc.connections or args.connections
    idle = None
    if sc.probe:
        # The probed path alone first: the latency to compare the loaded figure with.
        idle = latency_probe.result(
            latency_probe.start(
                server.base_url + sc.probe,
                seconds=max(1.0, args.seconds - 1),
                interval=PROBE_INTERVAL_S,
                delay=0,
            )
        )
    if warmup > 0:
        gen.run(url, seconds=warmup, connections=connections, request=request)
    sessions = counter.sessions()
    before = server.cpu_seconds()
    watcher = None
    if sc.probe:
        # Starts a little after the load and stops a little before it.
        watcher = latency_probe.start(
            server.base_url + sc.probe,
            seconds=max(1.0, args.seconds - 1),
            interval=PROBE_INTERVAL_S,
            delay=0.5,
        )
    result = gen.run(url, seconds=args.seconds, connections=connections, request=request)
    cpu = server.cpu_seconds() - before
    after = counter.sessions()
    loaded = latency_probe.result(watcher) if watcher is not None else None
    connects = None if sessions is None or after is None else after - sessions
    return Sample(
        requests=result.requests,
        errors=result.errors,
        seconds=round(result.duration_s, 3),
        rps=result.rps,
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        cpu_ms_per_1k=cpu * 1e6 / result.requests if result.requests else float("nan"),
        db_connects=connects,
        load=gen.name,
        connections=connections,
        probe_p50_ms=loaded.p50_ms if loaded else None,
        probe_p99_ms=loaded.p99_ms if loaded else None,
        probe_max_ms=loaded.max_ms if loaded else None,
        probe_errors=loaded.errors if loaded else None,
        idle_p50_ms=idle.p50_ms if idle else None,
        idle_p99_ms=idle.p99_ms if idle else None,
    )


if __name__ == "__main__":
    sys.exit(main())
