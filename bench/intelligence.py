"""``python -m bench.intelligence``: document intelligence at scale.

    .venv/bin/python -m bench.intelligence [--database-url URL --redis-url URL]
        [--documents 100000] [--train 10000] [--runs 200] [--health-seconds 20]

Without URLs an embedded PostgreSQL (with pgvector) and Redis are started under a
temporary directory and stopped at the end; with them, the database must be a scratch
one (it is migrated and written to). Three measurements, each beside a lean reference
taken in the same run, with the machine's load average (the machine is shared: read
ratios and CPU times, not absolute times; each timed line gives this process's CPU per
request, every thread of the in-process app included, and the training the worker
process's CPU):

1. **Training** 10,000 labelled documents (``--train``, the test corpus of
   ``tests/unit/workflow/corpus.py``, seeded in bulk into content's tables) the way
   production does it: ``POST /orgs/{id}/classifier/train`` on the API, the job run by a
   ``hub worker`` process; progress is polled from ``GET /orgs/{id}/classifier`` and
   printed while it runs. Meanwhile a paced probe (``bench.latency_probe``, its own
   process) reads ``/health`` of a production-configured API under uvicorn; the
   reference is the same probe on the same server before the training starts.
2. **Insights** p50/p95 over an organisation of ``--documents`` documents
   (``GET /documents/{id}/insights`` through the whole app in process, random
   documents), beside the CPU floor: the stored text read bare through asyncpg plus the
   model's ``suggest`` on it.
3. **Similar documents** p50/p95 over the same organisation (``GET
   /documents/{id}/similar?limit=10``; pgvector's HNSW index when the server has it),
   beside the bare nearest-neighbour SQL through asyncpg (no permission filter, no
   HTTP); and a few runs of the ``real[]`` fallback (what a server without pgvector
   does) for scale.

Seeding 100,000 documents goes through ``COPY`` (as ``tests`` seed them); the large
organisation's model is the one trained in (1) (same corpus generator, so the same
vocabulary), and its 100,000 vectors are computed and written in batches, timed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
from litestar.testing import AsyncTestClient
from sklearn.preprocessing import normalize
from tests.integration.identity.support import API, login, plain_dsn
from tests.integration.identity.support_orgs import Person, create_org, person
from tests.integration.workflow.support_intelligence import seed
from tests.unit.workflow.corpus import corpus

from bench import latency_probe
from bench.servers import Server, ServerSpec, hub_environment
from hub.app import context_modules, create_app, load_settings
from hub.kernel import migrations
from hub.kernel.runtime import Kernel
from hub.kernel.settings import DEFAULT_SECRET_KEY
from hub.kernel.wiring import assemble
from hub.workflow.intelligence import repositories as repo
from hub.workflow.intelligence.domain import model as ml
from hub.workflow.intelligence.domain import storage
from hub.workflow.intelligence.services.vector_index import VectorIndex

ROOT = Path(__file__).resolve().parents[1]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f} on {os.cpu_count()} cores"


def quantiles(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50": round(cuts[49], 2), "p95": round(cuts[94], 2), "p99": round(cuts[98], 2)}


async def timed(run: Callable[[], Awaitable[Any]], runs: int, warm: int = 5) -> dict[str, float]:
    for _ in range(warm):
        await run()
    samples = []
    cpu0 = time.process_time()
    for _ in range(runs):
        t0 = time.perf_counter()
        await run()
        samples.append((time.perf_counter() - t0) * 1000)
    # This process's CPU (every thread: the app, its worker threads, the client) per run:
    # what the machine's load does not stretch, unlike the wall-clock quantiles.
    cpu = (time.process_time() - cpu0) * 1000 / runs
    return {**quantiles(samples), "cpu": round(cpu, 2)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def line(label: str, figures: dict[str, float], reference: dict[str, float] | None = None) -> None:
    text = (
        f"{label:<48} p50 {figures['p50']:8.2f} ms  p95 {figures['p95']:8.2f} ms"
        f"  cpu {figures['cpu']:6.2f} ms/request"
    )
    if reference is not None:
        text += f"  ({figures['p95'] / max(reference['p95'], 1e-6):.1f}x the reference p95)"
    print(text + f"   [{load()}]", flush=True)


async def train_with_health_probe(
    client: Any, owner: Any, org: str, env: dict[str, str], seconds: float, log_dir: Path
) -> None:
    spec = ServerSpec("hub", "hub.app:create_app", factory=True, hub=True)
    with Server(spec, env, log_dir) as api:
        health = f"{api.base_url}/health"
        reference = latency_probe.result(
            latency_probe.start(health, seconds=seconds, interval=0.01, delay=0)
        )
        print(
            f"/health with no training: p50 {reference.p50_ms:.2f} ms, p99 "
            f"{reference.p99_ms:.2f} ms, max {reference.max_ms:.1f} ms over "
            f"{reference.requests} requests   [{load()}]",
            flush=True,
        )
        worker_log = (log_dir / "worker.log").open("wb")
        worker = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "hub"),
            "worker",
            "--processes",
            "1",
            "--threads",
            "1",
            "--no-scheduler",
            cwd=ROOT,
            env=env,
            stdout=worker_log,
            stderr=worker_log,
        )
        try:
            # The worker's start (imports, connections) is not the training's time.
            log_path = log_dir / "worker.log"
            deadline = time.monotonic() + 180
            while b"worker_started" not in log_path.read_bytes():
                if time.monotonic() > deadline:
                    raise RuntimeError("the worker did not start within 3 minutes")
                await asyncio.sleep(0.5)
            await asyncio.sleep(2)
            cpu_start = cpu_seconds(worker.pid)
            t0 = time.perf_counter()
            r = await client.post(f"{API}/orgs/{org}/classifier/train", headers=owner.auth)
            assert r.status_code == 202, r.text
            probe = latency_probe.start(health, seconds=seconds, interval=0.01, delay=2)
            state: dict[str, Any] = {}
            seen = ""
            started: float | None = None
            while state.get("state") not in ("ready", "failed"):
                await asyncio.sleep(0.5)
                state = (
                    await client.get(f"{API}/orgs/{org}/classifier", headers=owner.auth)
                ).json()
                if started is None and state["state"] == "training":
                    started = time.perf_counter()
                now = f"{state['state']} {state['progress']:.2f} {state['stage']}"
                if now != seen:
                    print(f"  {time.perf_counter() - t0:6.1f} s  {now}   [{load()}]", flush=True)
                    seen = now
                if time.perf_counter() - t0 > 900:
                    raise RuntimeError("training did not finish within 15 minutes")
            took = time.perf_counter() - t0
            worker_cpu = cpu_seconds(worker.pid) - cpu_start
            during = latency_probe.result(probe)
        finally:
            worker.terminate()
            await worker.wait()
            worker_log.close()
    metrics = state.get("metrics") or {}
    print(
        f"training {state['documentsUsed']} documents: {state['state']} in {took:.1f} s "
        f"from the request ({took - ((started or t0) - t0):.1f} s from the job's start; "
        f"tag macro-F1 {metrics.get('tagMacroF1')}, type macro-F1 "
        f"{metrics.get('typeMacroF1')}; the worker process used {worker_cpu:.1f} s of CPU "
        f"for it)   [{load()}]",
        flush=True,
    )
    print(
        f"/health during training: p50 {during.p50_ms:.2f} ms, p99 {during.p99_ms:.2f} ms, "
        f"max {during.max_ms:.1f} ms over {during.requests} requests, {during.errors} errors "
        f"(p99 {during.p99_ms / max(reference.p99_ms, 1e-6):.1f}x the idle reference)",
        flush=True,
    )


async def vectors_for(
    database_url: str, redis_url: str, source_org: str, org: str, ids: list[uuid.UUID]
) -> None:
    """The large organisation gets the trained model and a vector per document.

    Computing 100,000 vectors from the texts took 1,197 s on this machine under a load of
    8 (12 ms a document: the TF-IDF transform, then the SVD), longer than a sign-in lasts;
    so each document takes one of the training organisation's real vectors (computed
    from its text by the job) with 2% gaussian noise, renormalised: the same topic
    clusters, 100,000 distinct points. The HNSW index is rebuilt after the bulk write
    (what a bulk load does), timed."""
    source, target = uuid.UUID(source_org), uuid.UUID(org)
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        await conn.execute(
            "INSERT INTO workflow.classifier_models (organisation_id, version, created_at, data)"
            " SELECT $2, version, created_at, data FROM workflow.classifier_models"
            " WHERE organisation_id = $1",
            source,
            target,
        )
        # The version in use is the state's (a training sets it once the version is
        # complete); the vectors below are written before any request reads it.
        await conn.execute(
            "INSERT INTO workflow.classifier_states (organisation_id, state, progress,"
            " documents_used, documents_skipped, model_version)"
            " SELECT $2, 'ready', 1.0, documents_used, documents_skipped, model_version"
            " FROM workflow.classifier_states WHERE organisation_id = $1",
            source,
            target,
        )
        rows = await conn.fetch(
            "SELECT vector FROM workflow.document_vectors WHERE organisation_id = $1"
            " ORDER BY document_id",
            source,
        )
    finally:
        await conn.close()
    base = np.asarray([list(r["vector"]) for r in rows], dtype=np.float32)
    rng = np.random.default_rng(9)
    settings = load_settings(
        environ={}, env="test", database_url=database_url, redis_url=redis_url, log_level="WARNING"
    )
    kernel = Kernel(settings, database_url, redis_url)
    assemble(kernel, context_modules())
    try:
        index: VectorIndex = kernel.services["intelligence_vectors"]
        pgvector = await index.pgvector()
        conn = await asyncpg.connect(plain_dsn(database_url))
        if pgvector:
            await conn.execute("DROP INDEX workflow.ix_document_embeddings_hnsw")
        t0 = time.perf_counter()
        for start in range(0, len(ids), 5000):
            batch = ids[start : start + 5000]
            picked = base[np.arange(start, start + len(batch)) % len(base)]
            noisy = normalize(picked + rng.normal(0, 0.02, picked.shape).astype(np.float32))
            async with index.store.uow() as uow:
                await index.put_many(uow.session, target, 1, batch, noisy)
                await uow.commit()
        print(f"{len(ids)} vectors written in {time.perf_counter() - t0:.0f} s   [{load()}]")
        if pgvector:
            t0 = time.perf_counter()
            await conn.execute("SET maintenance_work_mem = '512MB'")
            await conn.execute(
                "CREATE INDEX ix_document_embeddings_hnsw ON workflow.document_embeddings"
                " USING hnsw (embedding vector_cosine_ops)"
            )
            print(f"HNSW index built in {time.perf_counter() - t0:.0f} s   [{load()}]")
        await conn.execute("ANALYZE workflow.document_embeddings")
        await conn.close()
    finally:
        await kernel.close()


async def measure(args: argparse.Namespace, database_url: str, redis_url: str, tmp: Path) -> None:
    env = hub_environment(database_url, redis_url, os.environ)
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    # The in-process app (which signs the owner up, reading the sealed mail as the tests
    # do, and asks for the training) keeps the development key; the worker may open what
    # it queued with that key as a former one.
    env["HUB_SECRET_KEY_PREVIOUS"] = DEFAULT_SECRET_KEY
    settings = load_settings(
        environ={},
        env="test",
        data_dir=tmp / "hubdata",
        database_url=database_url,
        redis_url=redis_url,
        log_level="WARNING",
        rate_limit_enabled=False,
    )
    app = create_app(settings, configure_logs=False)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        owner = await person(client, database_url, "owner@bench.example")
        small = (await create_org(client, owner, "Training"))["id"]
        large = (await create_org(client, owner, "Large"))["id"]
        t0 = time.perf_counter()
        await seed(database_url, small, owner.user_id, corpus(args.train, seed=1))
        print(f"seeded {args.train} labelled documents in {time.perf_counter() - t0:.0f} s")

        await train_with_health_probe(client, owner, small, env, args.health_seconds, tmp)
        if args.only == "training":
            return

        t0 = time.perf_counter()
        big = corpus(args.documents, seed=2)
        seeded = await seed(database_url, large, owner.user_id, big)
        ids = list(seeded.documents)
        print(f"seeded {len(ids)} documents in {time.perf_counter() - t0:.0f} s   [{load()}]")
        await vectors_for(database_url, redis_url, small, large, ids)
        # The sign-in may have expired during the setup.
        r = await login(client, owner.email)
        assert r.status_code == 200, r.text
        owner = Person(owner.email, owner.user_id, r.json()["accessToken"])

        rng = random.Random(5)
        conn = await asyncpg.connect(plain_dsn(database_url))
        try:
            await conn.execute("ANALYZE workflow.document_vectors")
            model_bytes = await conn.fetchval(
                "SELECT data FROM workflow.classifier_models WHERE organisation_id = $1",
                uuid.UUID(large),
            )
            model = storage.load(bytes(model_bytes))

            async def insights() -> None:
                r = await client.get(
                    f"{API}/documents/{rng.choice(ids)}/insights", headers=owner.auth
                )
                assert r.status_code == 200, r.text

            async def insights_floor() -> None:
                text = await conn.fetchval(
                    "SELECT text FROM content.version_texts WHERE document_id = $1",
                    rng.choice(ids),
                )
                ml.suggest(model, text)

            floor = await timed(insights_floor, args.runs)
            line("insights: text read bare + model.suggest (floor)", floor)
            line(
                f"GET /documents/{{id}}/insights ({len(ids)} documents)",
                await timed(insights, args.runs),
                floor,
            )

            async def similar() -> None:
                r = await client.get(
                    f"{API}/documents/{rng.choice(ids)}/similar",
                    params={"limit": 10},
                    headers=owner.auth,
                )
                assert r.status_code == 200, r.text
                assert len(r.json()["items"]) == 10, r.text

            pgvector = await conn.fetchval(repo.EMBEDDINGS_PRESENT)
            if pgvector:

                async def nearest_bare() -> None:
                    async with conn.transaction():
                        await conn.execute("SET LOCAL hnsw.ef_search = 200")
                        await conn.execute("SET LOCAL hnsw.iterative_scan = strict_order")
                        await conn.fetch(
                            "SELECT document_id FROM workflow.document_embeddings WHERE"
                            " organisation_id = $1 AND model_version = 1 ORDER BY embedding <=>"
                            " (SELECT embedding FROM workflow.document_embeddings WHERE"
                            " document_id = $2) LIMIT 11",
                            uuid.UUID(large),
                            rng.choice(ids),
                        )

                bare = await timed(nearest_bare, args.runs)
                line("similar: bare HNSW SQL through asyncpg (reference)", bare)
            else:
                bare = None
                print("similar: no pgvector on this server; no HNSW reference")
            line(
                f"GET /documents/{{id}}/similar?limit=10 ({'pgvector' if pgvector else 'real[]'})",
                await timed(similar, args.runs),
                bare,
            )
            if pgvector:
                index: VectorIndex = app.state["kernel"].services["intelligence_vectors"]
                index._pgvector = False  # what a server without pgvector does
                line(
                    "GET …/similar with the real[] fallback", await timed(similar, 5, warm=1), bare
                )
                index._pgvector = True
        finally:
            await conn.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.intelligence", description=__doc__)
    p.add_argument("--database-url")
    p.add_argument("--redis-url")
    p.add_argument("--documents", type=int, default=100_000)
    p.add_argument("--train", type=int, default=10_000)
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--health-seconds", type=float, default=20)
    p.add_argument("--only", choices=["training"], help="stop after the training measurement (1)")
    args = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-intelligence-"))
    servers: list[Any] = []
    try:
        database_url, redis_url = args.database_url, args.redis_url
        if database_url is None:
            from hub.devservers import EmbeddedPostgres

            pg = EmbeddedPostgres(tmp / "pg", database="bench")
            (tmp / "pg").mkdir()
            database_url = pg.start()
            servers.append(pg)
        if redis_url is None:
            from hub.devservers import EmbeddedRedis

            (tmp / "redis").mkdir()
            rd = EmbeddedRedis(tmp / "redis")
            redis_url = rd.start()
            servers.append(rd)
        migrations.upgrade(
            [m.name for m in context_modules()], database_url, migrations.migrations_root()
        )
        print(f"start   [{load()}]", flush=True)
        asyncio.run(measure(args, database_url, redis_url, tmp))
    finally:
        for server in reversed(servers):
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
