"""Turning samples into the table, the JSON record and the README's figures."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import statistics
import subprocess
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench.scenarios import BARE, Scenario

#: The hashing-capacity scenario sign-ins are divided by.
HASHES = "argon2-hashes"

README = Path(__file__).with_name("README.md")
RESULTS = Path(__file__).with_name("results")
_START = "<!-- bench:latest:start -->"
_END = "<!-- bench:latest:end -->"


@dataclass(frozen=True)
class Sample:
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_1k: float
    db_connects: int | None = None
    #: The load generator that drove the window ("in-process": measured without HTTP).
    load: str = ""
    connections: int | None = None
    #: The light probe of another path during the window, and alone before it.
    probe_p50_ms: float | None = None
    probe_p99_ms: float | None = None
    probe_max_ms: float | None = None
    probe_errors: int | None = None
    idle_p50_ms: float | None = None
    idle_p99_ms: float | None = None


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


@dataclass(frozen=True)
class Row:
    scenario: str
    summary: str
    reference: str | None
    rounds: int
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_1k: float
    cpu_spread: float  # (max - min) / median over the rounds: how far to trust the figure
    vs_reference: float | None
    vs_bare: float | None
    budget: float | None
    #: PostgreSQL sessions opened per 1,000 requests (None: not a database scenario).
    db_connects_per_1k: float | None
    base: str | None
    #: CPU above ``base``: the measured operation alone, and the same for the reference.
    own_cpu_ms_per_1k: float | None
    reference_own_cpu_ms_per_1k: float | None
    peer: str | None
    peer_own_cpu_ms_per_1k: float | None
    load: str = ""
    connections: int | None = None
    probe: str | None = None
    probe_budget_ms: float | None = None
    probe_p50_ms: float | None = None
    probe_p99_ms: float | None = None
    probe_max_ms: float | None = None
    probe_errors: int | None = None
    idle_p50_ms: float | None = None
    idle_p99_ms: float | None = None


def summarise(scenarios: list[Scenario], samples: dict[str, list[Sample]]) -> list[Row]:
    """Medians over the rounds; ratios are of CPU per request (the steady figure)."""
    cpu = {name: statistics.median(s.cpu_ms_per_1k for s in runs) for name, runs in samples.items()}
    by_name = {sc.name: sc for sc in scenarios}

    def own(name: str | None) -> float | None:
        sc = by_name.get(name or "")
        if sc is None or sc.base not in cpu or sc.name not in cpu:
            return None
        return cpu[sc.name] - cpu[sc.base]

    rows = []
    for sc in scenarios:
        runs = samples.get(sc.name)
        if not runs:
            continue
        mine = cpu[sc.name]
        spread = (max(s.cpu_ms_per_1k for s in runs) - min(s.cpu_ms_per_1k for s in runs)) / mine
        connects = [s.db_connects for s in runs if s.db_connects is not None]
        rows.append(
            Row(
                scenario=sc.name,
                summary=sc.summary,
                reference=sc.reference,
                rounds=len(runs),
                requests=sum(s.requests for s in runs),
                errors=sum(s.errors for s in runs),
                rps=statistics.median(s.rps for s in runs),
                p50_ms=statistics.median(s.p50_ms for s in runs),
                p99_ms=statistics.median(s.p99_ms for s in runs),
                cpu_ms_per_1k=mine,
                cpu_spread=spread,
                vs_reference=mine / cpu[sc.reference] if sc.reference in cpu else None,
                vs_bare=mine / cpu[BARE] if BARE in cpu and sc.name != BARE else None,
                budget=sc.budget,
                db_connects_per_1k=(
                    sum(connects) * 1000 / sum(s.requests for s in runs)
                    if connects and (sc.base is not None or sc.database)
                    else None
                ),
                base=sc.base,
                own_cpu_ms_per_1k=own(sc.name),
                reference_own_cpu_ms_per_1k=own(sc.reference),
                peer=sc.peer,
                peer_own_cpu_ms_per_1k=own(sc.peer),
                load=", ".join(sorted({s.load for s in runs if s.load})),
                connections=runs[0].connections,
                probe=sc.probe,
                probe_budget_ms=sc.probe_budget_ms,
                probe_p50_ms=_median([s.probe_p50_ms for s in runs]),
                probe_p99_ms=_median([s.probe_p99_ms for s in runs]),
                probe_max_ms=_median([s.probe_max_ms for s in runs]),
                probe_errors=(
                    sum(s.probe_errors or 0 for s in runs) if sc.probe is not None else None
                ),
                idle_p50_ms=_median([s.idle_p50_ms for s in runs]),
                idle_p99_ms=_median([s.idle_p99_ms for s in runs]),
            )
        )
    return rows


def _over(mine: float | None, theirs: float | None) -> float | None:
    """A ratio of two differences, or None when noise made either one meaningless."""
    if mine is None or theirs is None or mine <= 0 or theirs <= 0:
        return None
    return mine / theirs


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def table(rows: list[Row]) -> str:
    """Markdown tables: readable on a terminal and pasteable into the README as they are."""
    lines = [
        "| scenario | req/s | p50 ms | p99 ms | CPU ms/1k req | x its reference | x bare JSON |"
        " DB conns/1k req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ref = _ratio(r.vs_reference)
        if r.reference is not None:
            ref = f"{ref} ({r.reference})"
        spread = f" ±{r.cpu_spread * 50:.0f}%" if r.rounds > 1 else ""
        errors = f" ({r.errors} errors)" if r.errors else ""
        conns = "" if r.db_connects_per_1k is None else f"{r.db_connects_per_1k:.1f}"
        lines.append(
            f"| {r.scenario}{errors} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | "
            f"{r.cpu_ms_per_1k:,.0f}{spread} | {ref} | {_ratio(r.vs_bare)} | {conns} |"
        )
    own = [r for r in rows if r.own_cpu_ms_per_1k is not None]
    if own:
        lines += [
            "",
            "The operation alone (CPU above the same route without it):",
            "",
            "| scenario | minus | own CPU ms/1k req | x reference's own | x raw read's own,"
            " same process |",
            "|---|---|---:|---:|---:|",
        ]
        for r in own:
            assert r.own_cpu_ms_per_1k is not None
            mine, theirs, peer = (
                r.own_cpu_ms_per_1k,
                r.reference_own_cpu_ms_per_1k,
                r.peer_own_cpu_ms_per_1k,
            )
            vs_ref = f"{_ratio(_over(mine, theirs))} ({theirs:,.0f})" if theirs else "—"
            vs_peer = f"{_ratio(_over(mine, peer))} ({peer:,.0f})" if peer else "—"
            lines.append(
                f"| {r.scenario} | {r.base} | {r.own_cpu_ms_per_1k:,.0f} | {vs_ref} | {vs_peer} |"
            )
    lines += _hashing(rows) + _probed(rows) + _loads(rows)
    return "\n".join(lines)


def _hashing(rows: list[Row]) -> list[str]:
    """Sign-ins beside the machine's argon2 capacity (rows divided by argon2-hashes)."""
    by_name = {r.scenario: r for r in rows}
    signins = [r for r in rows if r.reference == HASHES and HASHES in by_name]
    if not signins:
        return []
    h = by_name[HASHES]
    lines = [
        "",
        f"Sign-ins beside the hashing capacity ({HASHES}: argon2id verify, production"
        f" parameters, {os.cpu_count()} threads, no server):",
        "",
        "| scenario | in flight | per s | x hashes/s | CPU ms each | x one hash's CPU |",
        "|---|---:|---:|---:|---:|---:|",
        f"| {HASHES} | {os.cpu_count()} threads | {h.rps:,.1f} | — |"
        f" {h.cpu_ms_per_1k / 1000:,.1f} | — |",
    ]
    for r in signins:
        lines.append(
            f"| {r.scenario} | {r.connections} | {r.rps:,.1f} | {r.rps / h.rps:.2f}x |"
            f" {r.cpu_ms_per_1k / 1000:,.1f} | {_ratio(r.vs_reference)} |"
        )
    return lines


def _probed(rows: list[Row]) -> list[str]:
    probed = [r for r in rows if r.probe is not None and r.probe_p99_ms is not None]
    if not probed:
        return []
    lines = [
        "",
        "Latency of a light probe (one connection, 100 requests/s) alone and under the load:",
        "",
        "| scenario | probe | load in flight | load req/s | idle p50 ms | idle p99 ms |"
        " loaded p50 ms | loaded p99 ms | loaded max ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in probed:
        lines.append(
            f"| {r.scenario} | {r.probe} | {r.connections} | {r.rps:,.1f} |"
            f" {_ms(r.idle_p50_ms)} | {_ms(r.idle_p99_ms)} | {_ms(r.probe_p50_ms)} |"
            f" {_ms(r.probe_p99_ms)} | {_ms(r.probe_max_ms)} |"
        )
    return lines


def _loads(rows: list[Row]) -> list[str]:
    """Name the scenarios not driven by the run's main generator (and why)."""
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.load] = counts.get(r.load, 0) + 1
    main = max(counts, key=lambda k: counts[k]) if counts else ""
    other = [r for r in rows if r.load and r.load != main]
    if not other:
        return []
    names = ", ".join(f"{r.scenario} ({r.load})" for r in other)
    return ["", f"Not driven by {main}: {names} — chained requests or no HTTP at all."]


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def verdicts(rows: list[Row]) -> list[str]:
    out = []
    for r in rows:
        if r.budget is not None and r.vs_reference is not None:
            ok = r.vs_reference <= r.budget
            line = (
                f"{'PASS' if ok else 'OVER'} {r.scenario}: {r.vs_reference:.2f}x the CPU of "
                f"{r.reference} per request (target: at most {r.budget:.1f}x)"
            )
            alone = _over(r.own_cpu_ms_per_1k, r.reference_own_cpu_ms_per_1k)
            if alone is not None:
                line += f"; the operation alone {alone:.2f}x {r.reference}'s"
            in_hub = _over(r.own_cpu_ms_per_1k, r.peer_own_cpu_ms_per_1k)
            if in_hub is not None:
                line += f", {in_hub:.2f}x the same raw read inside the hub ({r.peer})"
            out.append(line)
        if r.probe_budget_ms is not None and r.probe_p99_ms is not None:
            ok = r.probe_p99_ms < r.probe_budget_ms and not r.probe_errors
            failed = f", {r.probe_errors} probe errors" if r.probe_errors else ""
            out.append(
                f"{'PASS' if ok else 'OVER'} {r.scenario}: {r.probe} p99 "
                f"{r.probe_p99_ms:.2f} ms with {r.connections} requests in flight "
                f"(idle {_ms(r.idle_p99_ms)} ms, max {_ms(r.probe_max_ms)} ms{failed}; "
                f"target: under {r.probe_budget_ms:.0f} ms)"
            )
    return out


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "-"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine(postgres: str, load: str, load_at_start: str) -> dict[str, str]:
    wrk = shutil.which("wrk")
    wrk_version = ""
    if wrk:
        out = subprocess.run([wrk, "--version"], capture_output=True, text=True).stdout
        wrk_version = out.split(" Copyright")[0].strip()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": str(os.cpu_count()),
        "cpu_model": _cpu_model(),
        "load_average_at_start": load_at_start,
        "load_average_at_end": load_average(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "litestar": _version("litestar"),
        "uvicorn": _version("uvicorn"),
        "sqlalchemy": _version("sqlalchemy"),
        "asyncpg": _version("asyncpg"),
        "msgspec": _version("msgspec"),
        "postgresql": postgres,
        "load_generator": load + (f" — {wrk_version}" if wrk_version and "wrk" in load else ""),
    }


def write_json(info: dict[str, object], rows: list[Row]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"bench-{stamp}.json"
    body = json.dumps({**info, "results": [asdict(r) for r in rows]}, indent=2)
    path.write_text(body + "\n")
    (RESULTS / "latest.json").write_text(body + "\n")
    return path


def readme_section(info: dict[str, object], rows: list[Row]) -> str:
    m = info["machine"]
    assert isinstance(m, dict)
    settings = info["settings"]
    assert isinstance(settings, dict)
    lines = [
        f"Measured {m['date']} on {m['cpus']} x {m['cpu_model']} (Linux {m['kernel']}, "
        f"load average {m['load_average_at_start']} at start, "
        f"{m['load_average_at_end']} at the end, a machine shared with "
        "other work).",
        "",
        f"Python {m['python']}, Litestar {m['litestar']}, uvicorn {m['uvicorn']}, "
        f"SQLAlchemy {m['sqlalchemy']}, asyncpg {m['asyncpg']}, msgspec {m['msgspec']}, "
        f"PostgreSQL {m['postgresql']}.",
        "",
        f"Backends: {info['backends']}. Load: {m['load_generator']}, "
        f"{settings['connections']} connections, {settings['rounds']} rounds of "
        f"{settings['seconds']} s per scenario (after {settings['warmup']} s warm-up), "
        "medians shown; ± is half the spread of CPU/1k over the rounds.",
        "",
        table(rows),
        "",
        *[f"- {v}" for v in verdicts(rows)],
    ]
    return "\n".join(lines).rstrip() + "\n"


def update_readme(section: str) -> bool:
    """Replace the figures between the markers; False when the markers are missing."""
    text = README.read_text()
    if _START not in text or _END not in text:
        return False
    pattern = re.compile(re.escape(_START) + ".*?" + re.escape(_END), re.S)
    README.write_text(pattern.sub(lambda _: f"{_START}\n{section}{_END}", text, count=1))
    return True
