"""`hub worker --processes 2` as production runs it: the API only writes the outbox, the
worker processes relay it and send the mail; SIGTERM stops the whole group cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.kernel.mail import Mailbox
from hub.kernel.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
HUB = Path(sys.executable).with_name("hub")


async def test_worker_processes_deliver_mail_and_stop_on_sigterm(
    settings: Settings, client: AsyncTestClient[Litestar], mailbox: Mailbox
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_ENV="test",
        HUB_DATABASE_URL=settings.database_url or "",
        HUB_REDIS_URL=settings.redis_url or "",
        HUB_DATA_DIR=str(settings.data_dir),
        HUB_LOG_LEVEL="WARNING",
        HUB_WORKER_IDLE_POLL_MS="50",
    )
    worker = subprocess.Popen(
        [str(HUB), "worker", "--processes", "2", "--threads", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        r = await client.post(
            "/api/v1/auth/register",
            json={
                "email": "worker-e2e@example.com",
                "password": "a long enough passphrase",
                "displayName": "Worker",
            },
        )
        assert r.status_code == 202
        deadline = time.monotonic() + 60
        while not mailbox.list(to="worker-e2e@example.com"):
            assert worker.poll() is None, worker.stderr.read().decode() if worker.stderr else ""
            assert time.monotonic() < deadline, "the worker processes sent no mail"
            await asyncio.sleep(0.1)
        [mail] = mailbox.list(to="worker-e2e@example.com")
        assert any("verify-email?token=" in link for link in mail.links())
        children = psutil.Process(worker.pid).children(recursive=True)
        assert len(children) >= 2  # the supervisor forked its worker processes
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=60)
    assert code == 0, worker.stderr.read().decode() if worker.stderr else ""
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
