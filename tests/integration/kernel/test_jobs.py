"""Jobs: transactional queueing, retries into the dead-letter queue, `hub jobs`, logs."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

import msgspec
import pytest
import redis as redis_sync
import structlog
from click.testing import CliRunner

from hub.cli import main as hub_cli
from hub.kernel.deadletter import list_dead
from hub.kernel.jobs import JobContext, job, queue_job
from hub.kernel.logging import configure_logging
from hub.kernel.outbox import outbox_of
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.conftest import fast_job_settings
from tests.integration.kernel import eventkit
from tests.integration.kernel.eventkit import fetch, record_run

OK_FLAG = "test:fragile:ok"


@job("workflow.fragile", max_retries=2)
async def fragile(ctx: JobContext, note: str) -> None:
    """Fails until the test sets OK_FLAG, then records its run."""
    client = redis_sync.Redis.from_url(ctx.kernel.settings.redis_url or "")
    try:
        ok = client.get(OK_FLAG)
    finally:
        client.close()
    if not ok:
        raise RuntimeError(f"not yet: {note}")
    await record_run(ctx, note)


@job("workflow.too_slow", max_retries=0, time_limit_ms=300)
async def too_slow(ctx: JobContext) -> None:
    await asyncio.sleep(30)
    await record_run(ctx, "finished")  # never reached


@job("workflow.sync_count")
def sync_count(ctx: JobContext, key: str) -> None:
    """A plain (thread) job: CPU-bound work belongs in one of these."""
    client = redis_sync.Redis.from_url(ctx.kernel.settings.redis_url or "")
    try:
        client.incr(key)
    finally:
        client.close()


LOG_LINES = logging.getLogger("tests.jobs")


@job("workflow.chatty", max_retries=1)
async def chatty(ctx: JobContext) -> None:
    structlog.get_logger("tests.jobs").info("structlog_line_in_job")
    LOG_LINES.warning("stdlib line in job")
    if ctx.retries == 0:
        raise RuntimeError("fail once so dramatiq logs a retry")


JOBS = [fragile, too_slow, sync_count, chatty, eventkit.record_run_job]


@pytest.fixture
async def worker(settings: Settings, clean_state: None) -> AsyncIterator[InProcessWorker]:
    await eventkit.reset_effects(settings)
    modules = [eventkit.module("content"), eventkit.module("workflow", jobs=JOBS)]
    w = InProcessWorker(fast_job_settings(settings), modules, threads=2, scheduler=False).start()
    try:
        yield w
    finally:
        await asyncio.to_thread(w.stop)


@pytest.fixture
def cli_env(settings: Settings) -> dict[str, str]:
    return {
        "HUB_ENV": "test",
        "HUB_DATABASE_URL": settings.database_url or "",
        "HUB_REDIS_URL": settings.redis_url or "",
        "HUB_DATA_DIR": str(settings.data_dir),
    }


async def _queue(kernel: Kernel, *args: object, target: str, commit: bool = True) -> str:
    async with kernel.db.unit_of_work(outbox_of("content")) as uow:
        key = queue_job(uow, target, *args)
        if commit:
            await uow.commit()
    return str(key)


async def test_job_queued_in_a_unit_of_work_runs_once_after_commit(
    worker: InProcessWorker, kernel: Kernel, settings: Settings
) -> None:
    key = await _queue(kernel, "kept", target="workflow.record_run")
    await _queue(kernel, "rolled back", target="workflow.record_run", commit=False)
    await worker.drain()
    runs = await fetch(settings, "SELECT job, key, payload FROM kernel_test.job_runs")
    assert [(r["job"], r["key"], json.loads(r["payload"])) for r in runs] == [
        ("workflow.record_run", key, {"note": "kept"})
    ]


async def test_sync_jobs_run_in_a_worker_thread(
    worker: InProcessWorker, kernel: Kernel, settings: Settings
) -> None:
    await _queue(kernel, "test:sync", target="workflow.sync_count")
    await _queue(kernel, "test:sync", target="workflow.sync_count")
    await worker.drain()
    client = redis_sync.Redis.from_url(settings.redis_url or "")
    try:
        assert client.get("test:sync") == b"2"
    finally:
        client.close()


async def test_failing_job_is_dead_lettered_and_hub_jobs_retry_brings_it_back(
    worker: InProcessWorker, kernel: Kernel, settings: Settings, cli_env: dict[str, str]
) -> None:
    await _queue(kernel, "first", target="workflow.fragile")
    await worker.drain()
    broker = worker.background.broker
    dead = list_dead(broker.client, broker.namespace)
    assert len(dead) == 1
    assert (dead[0].queue, dead[0].actor, dead[0].attempts) == ("default", "workflow.fragile", 3)
    assert dead[0].error == "RuntimeError: not yet: first"
    assert await fetch(settings, "SELECT * FROM kernel_test.job_runs") == []

    runner = CliRunner()
    failed = await asyncio.to_thread(runner.invoke, hub_cli, ["jobs", "failed"], env=cli_env)
    assert failed.exit_code == 0, failed.output
    assert dead[0].message_id in failed.output
    assert "RuntimeError: not yet: first" in failed.output
    detailed = await asyncio.to_thread(
        runner.invoke,
        hub_cli,
        ["jobs", "failed", "--queue", "default", "--limit", "1", "--traceback"],
        env=cli_env,
    )
    assert detailed.exit_code == 0, detailed.output
    assert detailed.output.splitlines()[0] == failed.output.splitlines()[0]
    assert "    Traceback (most recent call last):" in detailed.output
    other = await asyncio.to_thread(
        runner.invoke, hub_cli, ["jobs", "failed", "--queue", "mail"], env=cli_env
    )
    assert other.output.strip() == "no failed jobs"
    stats = await asyncio.to_thread(runner.invoke, hub_cli, ["jobs", "stats"], env=cli_env)
    assert stats.exit_code == 0, stats.output
    default_line = next(ln for ln in stats.output.splitlines() if ln.startswith("default "))
    assert default_line.split()[1:] == ["0", "0", "0", "1"]
    assert any(ln.split()[:2] == ["content", "0"] for ln in stats.output.splitlines())

    nothing = await asyncio.to_thread(
        runner.invoke, hub_cli, ["jobs", "retry", "0000dead"], env=cli_env
    )
    assert nothing.exit_code != 0
    assert "no matching failed job" in nothing.output

    redis_sync.Redis.from_url(settings.redis_url or "").set(OK_FLAG, "1")
    retried = await asyncio.to_thread(
        runner.invoke, hub_cli, ["jobs", "retry", dead[0].message_id[:8]], env=cli_env
    )
    assert retried.exit_code == 0, retried.output
    assert "1 job(s) requeued" in retried.output
    await worker.drain()
    runs = await fetch(settings, "SELECT job, payload FROM kernel_test.job_runs")
    assert [(r["job"], json.loads(r["payload"])) for r in runs] == [
        ("workflow.fragile", {"note": "first"})
    ]
    assert list_dead(broker.client, broker.namespace) == []


async def test_retry_all_requeues_every_dead_job(
    worker: InProcessWorker, kernel: Kernel, settings: Settings, cli_env: dict[str, str]
) -> None:
    for note in ("a", "b"):
        await _queue(kernel, note, target="workflow.fragile")
    await worker.drain()
    assert len(list_dead(worker.background.broker.client, "hub")) == 2
    runner = CliRunner()
    usage = await asyncio.to_thread(runner.invoke, hub_cli, ["jobs", "retry"], env=cli_env)
    assert usage.exit_code != 0
    redis_sync.Redis.from_url(settings.redis_url or "").set(OK_FLAG, "1")
    retried = await asyncio.to_thread(
        runner.invoke, hub_cli, ["jobs", "retry", "--all"], env=cli_env
    )
    assert retried.exit_code == 0, retried.output
    await worker.drain()
    runs = await fetch(settings, "SELECT payload FROM kernel_test.job_runs")
    assert sorted(json.loads(r["payload"])["note"] for r in runs) == ["a", "b"]


async def test_retry_all_with_no_dead_job_is_not_an_error(
    worker: InProcessWorker, cli_env: dict[str, str]
) -> None:
    broker = worker.background.broker
    assert list_dead(broker.client, broker.namespace) == []
    runner = CliRunner()
    result = await asyncio.to_thread(
        runner.invoke, hub_cli, ["jobs", "retry", "--all"], env=cli_env
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "no failed jobs: nothing to retry"
    # naming ids that match nothing stays an error
    named = await asyncio.to_thread(
        runner.invoke, hub_cli, ["jobs", "retry", "0000dead"], env=cli_env
    )
    assert named.exit_code == 1
    assert "no matching failed job" in named.output


async def test_time_limit_stops_a_job_and_dead_letters_it(
    worker: InProcessWorker, kernel: Kernel, settings: Settings
) -> None:
    await _queue(kernel, target="workflow.too_slow")
    await worker.drain(within=10)
    dead = list_dead(worker.background.broker.client, "hub")
    assert [d.actor for d in dead] == ["workflow.too_slow"]
    assert "TimeLimitExceeded" in dead[0].error
    assert await fetch(settings, "SELECT * FROM kernel_test.job_runs") == []


async def test_unknown_job_is_dead_lettered_not_lost(
    worker: InProcessWorker, kernel: Kernel
) -> None:
    await _queue(kernel, target="workflow.not_deployed_yet")
    await worker.drain()
    dead = list_dead(worker.background.broker.client, "hub")
    assert [(d.queue, d.actor) for d in dead] == [("default", "workflow.not_deployed_yet")]


async def test_every_log_line_of_a_job_carries_the_correlation_id(
    worker: InProcessWorker, kernel: Kernel, capfd: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        # configured while capfd is active: structlog's own lines and stdlib records
        # (dramatiq's retry line) both go to the captured stderr
        configure_logging("INFO", "json")
        with structlog.contextvars.bound_contextvars(request_id="req-corr-7"):
            await _queue(kernel, target="workflow.chatty")
        await worker.drain()
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        structlog.reset_defaults()
    captured = capfd.readouterr().err
    lines = [json.loads(line) for line in captured.splitlines() if line.startswith("{")]
    in_job = [ln for ln in lines if ln.get("job") == "workflow.chatty"]
    events = [ln["event"] for ln in in_job]
    assert events.count("structlog_line_in_job") == 2  # first run and its retry
    assert events.count("stdlib line in job") == 2
    assert any("Retrying message" in e for e in events), events
    assert {ln.get("correlation_id") for ln in in_job} == {"req-corr-7"}


def test_job_names_and_queues_are_checked() -> None:
    with pytest.raises(ValueError, match=r"<context>\.<name>"):
        job("NoDots")(sync_count.fn)
    with pytest.raises(ValueError, match="queue"):
        job("workflow.x", queue="Bad Queue")(sync_count.fn)
    request = fragile.request("n", delay_ms=5)
    assert msgspec.to_builtins(request)["job"] == "workflow.fragile"
