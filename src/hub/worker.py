"""Background-job entry point: the same wiring as the app, without HTTP.

``hub worker`` runs dramatiq's own process supervisor on this module (``dramatiq
hub.worker``): importing it installs the Redis broker from ``HUB_*`` settings so every
actor declared afterwards binds to it. ``hub run`` uses :func:`start_in_process` instead.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import dramatiq
from dramatiq import Worker

from hub.kernel.queue import install_broker
from hub.kernel.settings import Settings, load_settings


@dataclass
class InProcessWorker:
    worker: Worker

    def stop(self) -> None:
        self.worker.stop(timeout=10_000)


def setup(settings: Settings) -> dramatiq.Broker:
    assert settings.redis_url is not None
    return install_broker(settings.redis_url)


def start_in_process(settings: Settings) -> InProcessWorker:
    broker = setup(settings)
    worker = Worker(broker, worker_threads=settings.worker_threads)
    worker.start()
    return InProcessWorker(worker)


def run_workers(settings: Settings, *, processes: int, threads: int) -> int:
    """Run dramatiq's CLI (process supervisor, signal handling) on this module."""
    from dramatiq.cli import main as dramatiq_main
    from dramatiq.cli import make_argument_parser

    assert settings.database_url is not None
    assert settings.redis_url is not None
    os.environ["HUB_DATABASE_URL"] = settings.database_url
    os.environ["HUB_REDIS_URL"] = settings.redis_url
    args = make_argument_parser().parse_args(
        ["hub.worker", "--processes", str(processes), "--threads", str(threads)]
    )
    return int(dramatiq_main(args) or 0)


if os.environ.get("HUB_REDIS_URL") and "dramatiq" in os.path.basename(sys.argv[0] or ""):
    setup(load_settings())
