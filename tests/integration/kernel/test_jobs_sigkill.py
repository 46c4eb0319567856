"""A worker SIGKILLed mid-job: another worker runs the job again; its effect happens once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis as redis_sync

from hub.kernel.background import Background
from hub.kernel.relay import Relay
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.kernel.subscribers import SubscriptionRegistry
from tests.integration.kernel import eventkit
from tests.integration.kernel.eventkit import ThingHappened, effects, publish

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
        # A silent worker is presumed dead after 1.5 s (production: 60 s), and every
        # broker command runs maintenance, which requeues a dead worker's unacked jobs.
        "HUB_JOB_HEARTBEAT_TIMEOUT_MS": "1500",
        "HUB_JOB_MAINTENANCE_CHANCE": "1000000",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.kernel.worker_main"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def _wait_for(predicate, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_job_of_a_killed_worker_runs_again_and_its_effect_happens_once(
    settings: Settings, clean_state: None, kernel: Kernel
) -> None:
    await eventkit.reset_effects(settings)
    event = ThingHappened(thing_id="crash", n=1)
    await publish(kernel.db, event)
    subscriptions = SubscriptionRegistry()
    subscriptions.add(
        "workflow",
        "workflow",
        [
            eventkit.Subscription(
                ThingHappened, eventkit.record_effect_slowly_first, name="workflow.on_thing"
            )
        ],
    )
    background = Background(settings, subscriptions=subscriptions, schemas=["content"])
    try:
        assert await Relay(kernel.db, background, ["content"], listen=False).drain() == 1
    finally:
        background.close()

    client = redis_sync.Redis.from_url(settings.redis_url or "")
    first = _spawn_worker(settings)
    second: subprocess.Popen[bytes] | None = None
    try:

        async def started() -> bool:
            assert first.poll() is None, first.stderr.read() if first.stderr else ""
            return bool(client.exists(f"test:started:{event.event_id}"))

        await _wait_for(started, 30, "the first worker to start the job")
        first.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
        assert await effects(settings) == []  # it died before committing anything

        second = _spawn_worker(settings)

        async def handled() -> bool:
            assert second is not None
            assert second.poll() is None
            return len(await effects(settings)) > 0

        await _wait_for(handled, 45, "the second worker to run the job again")
        # Give a duplicate every chance to show up, then check nothing else happened.
        await asyncio.sleep(0.5)
        got = await effects(settings)
        assert [(r["handler"], r["event_id"]) for r in got] == [("workflow", event.event_id)]
        assert client.get(f"test:attempts:{event.event_id}") == b"2"
        assert client.hlen("hub:events.msgs") == 0  # acked: not to be redelivered again
        inbox = await eventkit.fetch(settings, "SELECT handler FROM workflow.inbox")
        assert [r["handler"] for r in inbox] == ["workflow.on_thing"]
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        client.close()
    assert second.returncode == 0  # a SIGTERM stops a worker cleanly
