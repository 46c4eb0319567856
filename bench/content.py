"""``python -m bench.content``: documents' upload, download and list, each beside a lean
reference measured in the same run.

One real hub process (``bench.content_hub``: production settings, PostgreSQL and Redis
over TCP when they answer, else embedded; the filesystem blob store in a temporary
``HUB_DATA_DIR`` on this machine's disk) serves every hub figure. The machine is shared,
so the figures that matter are ratios within the run and server CPU (psutil, user +
system of the server process) per request or per MiB, not raw throughput.

* ``upload``: ``POST /api/v1/documents`` of ``--upload-mb`` MiB, generated while it is
  sent (unique bytes per upload, so nothing is deduplicated), beside a raw write of the
  same bytes to the same file system in this process, as the store does it: 1 MiB
  writes to a temporary file, ``fsync``, ``rename`` into place, ``fsync`` of the
  directory; once without and once with SHA-256 (which the store computes as it writes).
  MiB/s and CPU per MiB; medians of ``--rounds``.
* ``download``: ``GET /api/v1/documents/{id}/content`` of a large (``--download-mb``) and
  a small (64 KiB) document, ``--connections`` requests in flight for ``--seconds``,
  beside ``bench/refs/file_stream.py``, a bare Litestar app streaming the same blob file
  with Litestar's ``File`` response (128 KiB chunks, and 1 MiB chunks as the hub's store
  reads). Server CPU per MiB (large file) and per request (small file).
* ``list``: ``--count`` documents (100,000) seeded in one organisation with
  ``bench.seed_documents`` (bulk ``COPY``), then ``GET /api/v1/documents?organisationId=``
  plain, filtered (a tag and a document type) and with ``facets=tags,types``, as a member
  without ``content.admin`` (the permission-filtered SQL) and as the owner (admin).
  ``--requests`` sequential requests on one keep-alive connection after a warm-up:
  p50/p95/p99 and server CPU per request. Beside each: the same SQL statements (compiled
  from the hub's own repository functions) run directly through asyncpg, the database's
  share of the latency; ``--explain`` prints their ``EXPLAIN (ANALYZE, BUFFERS)``.

A full run (no ``--only``) rewrites the *Content* figures in ``bench/README.md`` unless
``--no-readme``; every run writes ``bench/results/content-latest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import http.client
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import psutil

from bench import seed_documents
from bench.content_hub import (
    API,
    MIB,
    ContentHub,
    Person,
    content_hub,
    file_chunks,
    prepare,
    refresh_tokens,
    stream_upload,
)
from bench.load import AsyncioClient, Request
from bench.servers import ROOT, Server, ServerSpec

README = ROOT / "bench" / "README.md"
RESULTS = ROOT / "bench" / "results"
START, END = "<!-- bench:content:start -->", "<!-- bench:content:end -->"
SMALL = 64 * 1024
PARTS = ("upload", "download", "list")


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _spread(values: list[float]) -> float:
    """Half the spread as a share of the median (the ± of bench.run)."""
    med = _median(values)
    return (max(values) - min(values)) / 2 / med if values and med else 0.0


# ------------------------------------------------------------------------- upload


@dataclass
class Transfer:
    name: str
    mib: float
    seconds: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)

    @property
    def mib_s(self) -> float:
        return self.mib / _median(self.seconds)

    @property
    def cpu_ms_per_mib(self) -> float:
        return _median(self.cpu_s) * 1000 / self.mib


def raw_write(directory: Path, size: int, *, sha256: bool) -> tuple[float, float]:
    """(wall s, CPU s) of writing ``size`` upload bytes as the filesystem store does."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"raw-{uuid.uuid4().hex}"
    digest = hashlib.sha256()
    started, cpu = time.perf_counter(), time.thread_time()
    fd, name = tempfile.mkstemp(dir=directory, prefix="put-")
    with os.fdopen(fd, "wb") as out:
        pending: list[bytes] = []
        pending_bytes = 0
        for chunk in file_chunks(size, seed=uuid.uuid4().hex):
            pending.append(chunk)
            pending_bytes += len(chunk)
            if pending_bytes >= MIB:
                for piece in pending:
                    if sha256:
                        digest.update(piece)
                    out.write(piece)
                pending, pending_bytes = [], 0
        for piece in pending:
            if sha256:
                digest.update(piece)
            out.write(piece)
        out.flush()
        os.fsync(out.fileno())
    os.rename(name, final)
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    wall, used = time.perf_counter() - started, time.thread_time() - cpu
    final.unlink()
    return wall, used


def _raw_step(target: Transfer, directory: Path, size: int, sha: bool) -> Callable[[], None]:
    def step() -> None:
        wall, cpu = raw_write(directory, size, sha256=sha)
        target.seconds.append(wall)
        target.cpu_s.append(cpu)

    return step


def bench_upload(ctx: ContentHub, *, size_mib: int, rounds: int) -> dict[str, Any]:
    size = size_mib * MIB
    hub_t = Transfer("hub POST /documents", size_mib)
    client_cpu: list[float] = []
    raw = Transfer("raw write + fsync + rename", size_mib)
    raw_hash = Transfer("raw write + SHA-256 + fsync + rename", size_mib)
    raw_dir = ctx.data_dir / "raw"  # the blobs' file system
    assert ctx.owner is not None
    with ctx.server() as hub:
        refresh_tokens(ctx, hub)
        owner = ctx.owner
        stream_upload(hub, owner, ctx.organisation_id, SMALL)  # warm-up
        for r in range(rounds):

            def hub_step() -> None:
                cpu0, client0, t0 = hub.cpu_seconds(), time.process_time(), time.perf_counter()
                document = stream_upload(hub, owner, ctx.organisation_id, size)
                hub_t.seconds.append(time.perf_counter() - t0)
                hub_t.cpu_s.append(hub.cpu_seconds() - cpu0)
                client_cpu.append(time.process_time() - client0)
                if document["size"] != size:
                    raise SystemExit(f"stored {document['size']} bytes, not {size}")

            steps = [hub_step, _raw_step(raw, raw_dir, size, False)]
            steps.append(_raw_step(raw_hash, raw_dir, size, True))
            for step in steps[r % 3 :] + steps[: r % 3]:  # rotate the order
                step()
    rows = []
    for t in (hub_t, raw, raw_hash):
        rows.append(
            {
                "name": t.name,
                "mib_s": t.mib_s,
                "cpu_ms_per_mib": t.cpu_ms_per_mib,
                "spread": _spread(t.seconds),
                "x_raw": _median(t.seconds) / _median(raw.seconds),
                "x_raw_sha": _median(t.seconds) / _median(raw_hash.seconds),
            }
        )
    return {
        "size_mib": size_mib,
        "rounds": rounds,
        "rows": rows,
        "client_cpu_ms_per_mib": _median(client_cpu) * 1000 / size_mib,
    }


# ----------------------------------------------------------------------- download


FILE_REF = "file-ref"


def _blob_path(ctx: ContentHub, sha256: str) -> Path:
    from hub.content.repositories.blobs.keys import fan_out

    return ctx.blob_root / fan_out(sha256)


@dataclass
class Window:
    requests: int
    errors: int
    seconds: float
    cpu_s: float
    p50_ms: float
    p99_ms: float


def _window(
    server: Server, url: str, request: Request, *, seconds: float, connections: int
) -> Window:
    client = AsyncioClient()
    client.run(url, seconds=min(1.0, seconds), connections=connections, request=request)
    cpu0 = server.cpu_seconds()
    result = client.run(url, seconds=seconds, connections=connections, request=request)
    cpu = server.cpu_seconds() - cpu0
    return Window(
        result.requests, result.errors, result.duration_s, cpu, result.p50_ms, result.p99_ms
    )


def bench_download(
    ctx: ContentHub, *, size_mib: int, rounds: int, seconds: float, connections: int
) -> dict[str, Any]:
    assert ctx.owner is not None
    files: dict[str, tuple[str, int]] = {}  # name -> (document id, size)
    blob_paths: dict[str, str] = {}
    with ctx.server() as hub:
        for name, size in (("large", size_mib * MIB), ("small", SMALL)):
            document = stream_upload(hub, ctx.owner, ctx.organisation_id, size)
            files[name] = (document["id"], size)
            blob_paths[name] = str(_blob_path(ctx, document["sha256"]))
    ref_spec = ServerSpec(
        FILE_REF,
        "bench.refs.file_stream:app",
        env={"BENCH_FILES": json.dumps(blob_paths)},
    )
    targets = ["hub", FILE_REF]
    samples: dict[tuple[str, str], list[Window]] = {}
    for r in range(rounds):
        for target in targets[r % 2 :] + targets[: r % 2]:
            if target == "hub":
                with ctx.server() as hub:
                    refresh_tokens(ctx, hub)
                    assert ctx.owner is not None
                    auth = Request(headers=ctx.owner.auth)
                    for name, (doc_id, _) in files.items():
                        url = f"{hub.base_url}{API}/documents/{doc_id}/content"
                        samples.setdefault(("hub", name), []).append(
                            _window(hub, url, auth, seconds=seconds, connections=connections)
                        )
            else:
                with Server(ref_spec, ctx.env, ctx.log_dir) as ref:
                    for route in ("files", "files-1m"):
                        for name in files:
                            url = f"{ref.base_url}/{route}/{name}"
                            samples.setdefault((route, name), []).append(
                                _window(
                                    ref, url, Request(), seconds=seconds, connections=connections
                                )
                            )
    rows: list[dict[str, Any]] = []
    for (target, name), windows in samples.items():
        size = files[name][1]
        per_request = [w.cpu_s * 1000 / max(1, w.requests) for w in windows]
        rows.append(
            {
                "target": target,
                "file": name,
                "size": size,
                "req_s": _median([w.requests / w.seconds for w in windows]),
                "mib_s": _median([w.requests * size / MIB / w.seconds for w in windows]),
                "p50_ms": _median([w.p50_ms for w in windows]),
                "p99_ms": _median([w.p99_ms for w in windows]),
                "cpu_ms_per_req": _median(per_request),
                "cpu_ms_per_mib": _median(per_request) * MIB / size,
                "spread": _spread(per_request),
                "errors": sum(w.errors for w in windows),
            }
        )
    by = {(row["target"], row["file"]): row for row in rows}
    for row in rows:
        row["x_files"] = row["cpu_ms_per_req"] / by[("files", row["file"])]["cpu_ms_per_req"]
        row["x_files_1m"] = row["cpu_ms_per_req"] / by[("files-1m", row["file"])]["cpu_ms_per_req"]
    return {
        "size_mib": size_mib,
        "rounds": rounds,
        "seconds": seconds,
        "connections": connections,
        "rows": rows,
    }


# --------------------------------------------------------------------------- list


class _Capture:
    """A stand-in for the context's store that keeps the statements the repository
    functions build instead of running them, so the reference runs the hub's own SQL."""

    def __init__(self) -> None:
        self.statements: list[Any] = []

    async def all(self, statement: Any, params: Any = None) -> list[Any]:
        self.statements.append(statement)
        return []


@dataclass(frozen=True)
class Sql:
    """One statement as the hub sends it (asyncpg's ``$n`` parameters) and with its values
    written in (for EXPLAIN)."""

    text: str
    args: list[Any]
    literal: str


def _sql(statement: Any) -> Sql:
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg

    compiled: Any = statement.compile(
        dialect=pg_asyncpg.dialect(), compile_kwargs={"render_postcompile": True}
    )
    params = compiled.construct_params()
    literal: Any = statement.compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    return Sql(str(compiled), [params[name] for name in compiled.positiontup], str(literal))


@dataclass(frozen=True)
class ListCase:
    name: str
    query: dict[str, Any]
    facets: tuple[str, ...] = ()


def _callers(ctx: ContentHub, member_role: str) -> dict[str, Any]:
    from hub.content.domain.access import ADMIN, PERMISSIONS, READ, Caller

    assert ctx.owner is not None
    assert ctx.member is not None
    org = uuid.UUID(ctx.organisation_id)
    return {
        "member": Caller(
            organisation_id=org,
            user_id=uuid.UUID(ctx.member.user_id),
            role_ids=frozenset({uuid.UUID(member_role)}),
            granted=frozenset({READ}),
        ),
        "admin": Caller(
            organisation_id=org,
            user_id=uuid.UUID(ctx.owner.user_id),
            role_ids=frozenset(),
            granted=frozenset({key for key, _ in PERMISSIONS} | {ADMIN}),
        ),
    }


async def _statements(caller: Any, case: ListCase, dsn: str) -> list[Sql]:
    """The SQL one list request runs: the page, its documents' tags, the facets."""
    from hub.content.repositories import documents as repo

    tag_ids = tuple(uuid.UUID(t) for t in case.query.get("tag", ()))
    type_id = case.query.get("documentTypeId")
    filters = repo.Filters(
        tag_ids=tag_ids, document_type_id=uuid.UUID(type_id) if type_id else None
    )
    capture = _Capture()
    store: Any = capture
    await repo.page(store, caller, filters, sort="created", after=None, limit=20)
    page_sql = _sql(capture.statements[-1])
    conn = await asyncpg.connect(dsn)
    try:
        ids = [r["id"] for r in await conn.fetch(page_sql.text, *page_sql.args)][:20]
    finally:
        await conn.close()
    await repo.tags_of(store, ids)
    out = [page_sql, _sql(capture.statements[-1])]
    if "tags" in case.facets:
        await repo.tag_facets(store, caller, filters)
        out.append(_sql(capture.statements[-1]))
    if "types" in case.facets:
        await repo.type_facets(store, caller, filters)
        out.append(_sql(capture.statements[-1]))
    return out


async def _sql_latencies(dsn: str, statements: list[Sql], n: int) -> list[float]:
    conn = await asyncpg.connect(dsn)
    try:
        for sql in statements:  # warm
            await conn.fetch(sql.text, *sql.args)
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            for sql in statements:
                # asyncpg's statement cache, as the hub's db.fetch() uses it.
                await conn.fetch(sql.text, *sql.args)
            out.append((time.perf_counter() - t0) * 1000)
        return out
    finally:
        await conn.close()


async def _explain(dsn: str, statements: list[Sql]) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        plans = []
        for sql in statements:
            rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql.literal}")
            plans.append("\n".join(r[0] for r in rows))
        return plans
    finally:
        await conn.close()


def _sequential(
    hub: Server, path: str, who: Person, n: int, warmup: int
) -> tuple[list[float], float, int]:
    """(latencies ms, server CPU s, items on the page) of ``n`` requests one after another
    on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=60)
    latencies = []
    items = 0
    try:
        for _ in range(warmup):
            conn.request("GET", path, headers=who.auth)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise SystemExit(f"GET {path} answered {response.status}: {body[:300]!r}")
            items = len(json.loads(body)["items"])
        cpu0 = hub.cpu_seconds()
        for _ in range(n):
            t0 = time.perf_counter()
            conn.request("GET", path, headers=who.auth)
            response = conn.getresponse()
            response.read()
            latencies.append((time.perf_counter() - t0) * 1000)
        return latencies, hub.cpu_seconds() - cpu0, items
    finally:
        conn.close()


def _pct(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def _member_role(ctx: ContentHub, hub: Server) -> str:
    assert ctx.owner is not None
    _, body = hub.request("GET", f"{API}/orgs/{ctx.organisation_id}/roles", None, ctx.owner.auth)
    roles = {r["name"]: r["id"] for r in json.loads(body)["items"]}
    return str(roles["member"])


def _tag_and_type(dsn: str, org: str) -> tuple[str, str]:
    """A tag on about a tenth of the documents and the commonest type: a selective but
    not rare filter."""

    async def read() -> tuple[str, str]:
        conn = await asyncpg.connect(dsn)
        try:
            tag = await conn.fetchval(
                "SELECT t.id FROM content.tags t JOIN content.document_tags dt ON dt.tag_id = t.id"
                " WHERE t.organisation_id = $1 GROUP BY t.id"
                " ORDER BY abs(count(*) - (SELECT count(*) / 10 FROM content.documents"
                " WHERE organisation_id = $1)) LIMIT 1",
                uuid.UUID(org),
            )
            kind = await conn.fetchval(
                "SELECT document_type_id FROM content.documents WHERE organisation_id = $1"
                " AND document_type_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
                uuid.UUID(org),
            )
            return str(tag), str(kind)
        finally:
            await conn.close()

    return asyncio.run(read())


def bench_list(
    ctx: ContentHub, *, count: int, requests: int, explain: bool, seeded: float | None
) -> dict[str, Any]:
    assert ctx.owner is not None
    assert ctx.member is not None
    dsn = ctx.backends.database_url
    with ctx.server() as hub:
        member_role = _member_role(ctx, hub)
    seed_seconds = seeded
    if seed_seconds is None:
        from hub.content.repositories.blobs import FilesystemBlobStore

        corpus = seed_documents.Corpus(
            organisation_id=uuid.UUID(ctx.organisation_id),
            owner_id=uuid.UUID(ctx.owner.user_id),
            members=[uuid.UUID(ctx.member.user_id)],
            roles=[uuid.UUID(member_role)],
        )
        seed_seconds = asyncio.run(
            seed_documents.seed(dsn, corpus, count=count, store=FilesystemBlobStore(ctx.blob_root))
        )
    tag, kind = _tag_and_type(dsn, ctx.organisation_id)
    cases = [
        ListCase("plain", {}),
        ListCase("tag + type", {"tag": [tag], "documentTypeId": kind}),
        ListCase("facets", {"facets": "tags,types"}, ("tags", "types")),
    ]
    callers = _callers(ctx, member_role)
    rows = []
    plans: dict[str, list[str]] = {}
    with ctx.server() as hub:
        refresh_tokens(ctx, hub)
        people = {"member": ctx.member, "admin": ctx.owner}
        for who, person in people.items():
            for case in cases:
                query = {"organisationId": ctx.organisation_id, **case.query}
                path = f"{API}/documents?{urlencode(query, doseq=True)}"
                latencies, cpu, items = _sequential(hub, path, person, requests, warmup=10)
                statements = asyncio.run(_statements(callers[who], case, dsn))
                sql = asyncio.run(_sql_latencies(dsn, statements, requests))
                if explain:
                    plans[f"{who} {case.name}"] = asyncio.run(_explain(dsn, statements))
                rows.append(
                    {
                        "caller": who,
                        "case": case.name,
                        "items": items,
                        "p50_ms": _pct(latencies, 50),
                        "p95_ms": _pct(latencies, 95),
                        "p99_ms": _pct(latencies, 99),
                        "cpu_ms_per_req": cpu * 1000 / requests,
                        "sql_p50_ms": _pct(sql, 50),
                        "sql_p95_ms": _pct(sql, 95),
                        "statements": len(statements),
                    }
                )
    return {
        "count": count,
        "requests": requests,
        "seed_seconds": seed_seconds,
        "rows": rows,
        "plans": plans,
        "filter": {"tag": tag, "documentTypeId": kind},
    }


# ------------------------------------------------------------------------- report


def _fmt(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def report(results: dict[str, Any]) -> str:
    out: list[str] = []
    meta = results["meta"]
    out.append(
        f"Measured {meta['when']} on {meta['cpu']} (load average {meta['load_start']} at start, "
        f"{meta['load_end']} at the end, a machine shared with other work). "
        f"Backends: {meta['backends']}; blobs on {meta['disk']}."
    )
    if "upload" in results:
        up = results["upload"]
        out += [
            "",
            f"**Upload** of {up['size_mib']} MiB (median of {up['rounds']} rounds; "
            "x = time over the reference's):",
            "",
            "| path | MiB/s | CPU ms per MiB | ± | x raw write | x raw write + SHA-256 |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for row in up["rows"]:
            out.append(
                f"| {row['name']} | {_fmt(row['mib_s'], 0)} | {_fmt(row['cpu_ms_per_mib'], 2)} "
                f"| {row['spread']:.0%} | {row['x_raw']:.2f}x | {row['x_raw_sha']:.2f}x |"
            )
        out.append(
            f"\nThe hub's CPU is the server process's; the raw writes' is this thread's. The "
            f"client generating and sending the upload used "
            f"{up['client_cpu_ms_per_mib']:.2f} ms CPU per MiB on the same two cores."
        )
    if "download" in results:
        dl = results["download"]
        out += [
            "",
            f"**Download**, {dl['connections']} requests in flight, {dl['seconds']:g} s "
            f"windows, median of {dl['rounds']} rounds (server CPU; x = CPU per request over "
            "the bare route's):",
            "",
            "| target | file | req/s | MiB/s | p50 ms | p99 ms | CPU ms/req | CPU ms/MiB | ± "
            "| x File 128 KiB | x File 1 MiB |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        names = {
            "hub": "hub GET …/content",
            "files": "bare Litestar File (128 KiB chunks)",
            "files-1m": "bare Litestar File (1 MiB chunks)",
        }
        for row in sorted(dl["rows"], key=lambda r: (r["file"], r["target"] != "hub")):
            size = (
                f"{row['size'] // MIB} MiB" if row["size"] >= MIB else f"{row['size'] // 1024} KiB"
            )
            out.append(
                f"| {names[row['target']]} | {size} | {_fmt(row['req_s'], 0)} "
                f"| {_fmt(row['mib_s'], 0)} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} "
                f"| {row['cpu_ms_per_req']:.2f} | {row['cpu_ms_per_mib']:.2f} "
                f"| {row['spread']:.0%} | {row['x_files']:.2f}x | {row['x_files_1m']:.2f}x |"
            )
    if "list" in results:
        ls = results["list"]
        out += [
            "",
            f"**List** `GET /documents?organisationId=…`, {ls['count']:,} documents in the "
            f"organisation (seeded in {ls['seed_seconds']:.0f} s), {ls['requests']} sequential "
            "requests each after 10 warm-up ones; SQL = the same statements straight through "
            "asyncpg:",
            "",
            "| caller | list | items | p50 ms | p95 ms | p99 ms | CPU ms/req | SQL p50 ms "
            "| SQL p95 ms | x SQL (p95) |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in ls["rows"]:
            out.append(
                f"| {row['caller']} | {row['case']} | {row['items']} | {row['p50_ms']:.1f} "
                f"| **{row['p95_ms']:.1f}** | {row['p99_ms']:.1f} | {row['cpu_ms_per_req']:.1f} "
                f"| {row['sql_p50_ms']:.1f} | {row['sql_p95_ms']:.1f} "
                f"| {row['p95_ms'] / row['sql_p95_ms']:.2f}x |"
            )
    if "memory" in results:
        mem = results["memory"]
        out += [
            "",
            f"**Upload memory**: {mem['size_mb']:.0f} MiB streamed to the API process, RSS "
            f"{mem['baseline_mb']:.1f} MiB before, peak {mem['peak_mb']:.1f} MiB, "
            f"{mem['after_mb']:.1f} MiB after: peak growth **{mem['growth_mb']:.1f} MiB** "
            "(bound < 50 MB).",
        ]
    return "\n".join(out)


def _update_readme(text: str) -> None:
    readme = README.read_text()
    start, end = readme.index(START) + len(START), readme.index(END)
    README.write_text(readme[:start] + "\n" + text + "\n" + readme[end:])


def _disk(path: Path) -> str:
    best = None
    for part in psutil.disk_partitions(all=False):
        if str(path).startswith(part.mountpoint) and (
            best is None or len(part.mountpoint) > len(best.mountpoint)
        ):
            best = part
    return f"{best.device} ({best.fstype})" if best else "?"


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{os.cpu_count()} x {line.split(':', 1)[1].strip()}"
    except OSError:
        pass
    return f"{os.cpu_count()} x {platform.processor() or 'CPU'}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", action="append", choices=(*PARTS, "memory"))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--upload-mb", type=int, default=100)
    p.add_argument("--download-mb", type=int, default=16)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--count", type=int, default=100_000)
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--explain", action="store_true", help="print the list queries' plans")
    p.add_argument("--backends", choices=("auto", "local", "embedded"), default="auto")
    p.add_argument("--redis-db", type=int, default=6)
    p.add_argument("--no-readme", action="store_true")
    args = p.parse_args(argv)
    parts = args.only or [*PARTS, "memory"]
    results: dict[str, Any] = {}
    load_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    with content_hub(prefer=args.backends, redis_db=args.redis_db) as ctx:
        print(f"backends: {ctx.backends.description}", flush=True)
        prepare(ctx)
        if "upload" in parts:
            print("upload …", flush=True)
            results["upload"] = bench_upload(ctx, size_mib=args.upload_mb, rounds=args.rounds)
        if "memory" in parts:
            from bench import upload_memory

            print("upload memory …", flush=True)
            run = upload_memory.run_on(ctx, 200 * MIB)
            results["memory"] = {**asdict(run), "growth_mb": run.growth_mb}
        if "download" in parts:
            print("download …", flush=True)
            results["download"] = bench_download(
                ctx,
                size_mib=args.download_mb,
                rounds=args.rounds,
                seconds=args.seconds,
                connections=args.connections,
            )
        if "list" in parts:
            print("list (seeding first) …", flush=True)
            results["list"] = bench_list(
                ctx, count=args.count, requests=args.requests, explain=args.explain, seeded=None
            )
        results["meta"] = {
            "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "cpu": _cpu_name(),
            "python": sys.version.split()[0],
            "load_start": load_start,
            "load_end": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "backends": ctx.backends.description.split(" (")[0],
            "disk": _disk(ctx.data_dir),
        }
    text = report(results)
    print(text)
    if args.explain and "list" in results:
        for name, plans in results["list"]["plans"].items():
            print(f"\n### {name}\n")
            for plan in plans:
                print(plan, "\n")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "content-latest.json").write_text(json.dumps(results, indent=2, default=str))
    if not args.only and not args.no_readme:
        _update_readme(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
