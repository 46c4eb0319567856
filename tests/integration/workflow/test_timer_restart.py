"""A timer outlives the worker: the worker process that would fire it is SIGKILLed before
its due time; a new worker process fires it once after the restart (real processes, the
production ``hub worker`` with its scheduler, real PostgreSQL and Redis)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import redis as redis_sync

from hub.kernel.settings import Settings
from tests.integration.identity.support import fetch
from tests.integration.workflow.support import INSTANCES, Client, approval, published, started, team

ROOT = Path(__file__).resolve().parents[3]


def _spawn_worker(settings: Settings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HUB_ENV": "test",
        "HUB_DATABASE_URL": settings.database_url or "",
        "HUB_REDIS_URL": settings.redis_url or "",
        "HUB_DATA_DIR": str(settings.data_dir),
        "HUB_LOG_LEVEL": "WARNING",
        "HUB_WORKER_IDLE_POLL_MS": "50",
    }
    return subprocess.Popen(
        [sys.executable, "-c", "from hub.cli import main; main()", "worker", "--processes", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def _wait_for(predicate: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.mark.slow
async def test_a_timer_fires_once_after_its_worker_was_killed(
    client: Client, database_url: str, settings: Settings
) -> None:
    owner, org, _ = await team(client, database_url)
    body = approval()
    body["states"][0]["slaMinutes"] = 1
    body["states"][0]["slaLadder"] = [{"at": 25, "kind": "transition", "transition": "reject"}]
    body["transitions"][1].pop("form")  # a timer cannot fill a form
    await published(client, owner, org, definition=body)
    instance = await started(client, owner, org)  # its timer is due 15 s from now

    redis = redis_sync.Redis.from_url(settings.redis_url or "")
    first = _spawn_worker(settings)
    second: subprocess.Popen[bytes] | None = None
    try:

        async def leading() -> bool:
            assert first.poll() is None, first.stderr.read() if first.stderr else ""
            return bool(redis.exists("hub:scheduler:leader"))

        await _wait_for(leading, 30, "the first worker to lead the scheduler")
        first.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
        timers = await fetch(database_url, "SELECT status FROM workflow.timers")
        assert [t["status"] for t in timers] == ["pending"]  # killed before its due time

        second = _spawn_worker(settings)

        async def fired() -> bool:
            assert second is not None
            assert second.poll() is None
            rows = await fetch(database_url, "SELECT status FROM workflow.timers")
            return rows[0]["status"] == "fired"

        await _wait_for(fired, 60, "the second worker to fire the timer")
        await asyncio.sleep(2)  # later turns of the timer loop find nothing left to fire
        r = await client.get(f"{INSTANCES}/{instance['id']}", headers=owner.auth)
        assert r.json()["state"] == "rejected"
        steps = await fetch(
            database_url,
            "SELECT actor_type FROM workflow.history WHERE kind = 'transition'",
        )
        assert [s["actor_type"] for s in steps] == ["timer"]  # fired exactly once
    finally:
        _stop(first)
        _stop(second)
        redis.close()
        if second is not None and second.stderr is not None:
            print("STDERR2", second.stderr.read().decode()[-3000:])
