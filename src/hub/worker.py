"""Background processing: dramatiq workers, the outbox relay and the scheduler.

Which process runs what:

* ``hub run`` (development) serves HTTP and, in the same process, one
  :class:`InProcessWorker`: a dramatiq worker (threads), the relay and the scheduler.
* ``hub worker`` (production) runs ``--processes`` identical processes, each with the same
  three parts. Relays share the outboxes safely (``FOR UPDATE SKIP LOCKED``), schedulers
  elect one leader through Redis, so adding processes adds throughput, not duplicates.
  ``--no-relay`` / ``--no-scheduler`` leave a process to jobs only.
* The HTTP processes (``uvicorn --factory hub.app:create_app``) only commit outbox rows;
  they never talk to the broker.

Wiring mirrors :mod:`hub.app`: each context's ``ContextModule`` hands in its
subscriptions, jobs and periodic jobs, and the broker built from settings exists before
any of them becomes a dramatiq actor.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

import structlog
from dramatiq import Worker

from hub.kernel.background import Background
from hub.kernel.cache import create_redis
from hub.kernel.contexts import ContextModule
from hub.kernel.db import Database
from hub.kernel.jobs import JobSpec
from hub.kernel.loops import run_loops
from hub.kernel.relay import Relay, outbox_status
from hub.kernel.retention import PRUNE_HOURLY, prune_outbox_inbox
from hub.kernel.runtime import Kernel
from hub.kernel.scheduler import Periodic, Scheduler
from hub.kernel.settings import Settings
from hub.kernel.subscribers import SubscriptionRegistry
from hub.kernel.wiring import assemble

log = structlog.get_logger("hub.worker")

#: The kernel's own jobs and periodic jobs (mail is added by Background itself).
KERNEL_JOBS: tuple[JobSpec, ...] = (prune_outbox_inbox,)
KERNEL_PERIODIC: tuple[Periodic, ...] = (PRUNE_HOURLY,)


def build_background(settings: Settings, modules: Sequence[ContextModule]) -> Background:
    subscriptions = SubscriptionRegistry()
    jobs: list[JobSpec] = list(KERNEL_JOBS)
    for module in modules:
        subscriptions.add(module.name, module.schema, [*module.subscriptions, *module.catch_all])
        jobs.extend(module.jobs)
    return Background(
        settings,
        jobs=jobs,
        subscriptions=subscriptions,
        schemas=[m.schema for m in modules],
        modules=modules,
    )


def periodic_of(modules: Sequence[ContextModule]) -> list[Periodic]:
    return [*KERNEL_PERIODIC, *(p for m in modules for p in m.periodic)]


class Services:
    """The relay, the scheduler and the contexts' loops (``hub.kernel.loops``, run where
    the scheduler runs, on a kernel of their own), on one event loop with their own
    connections."""

    def __init__(
        self,
        settings: Settings,
        background: Background,
        modules: Sequence[ContextModule],
        *,
        relay: bool = True,
        scheduler: bool = True,
    ) -> None:
        self.settings = settings
        self.background = background
        self.modules = list(modules)
        self.with_relay = relay
        self.with_scheduler = scheduler
        self.relay: Relay | None = None
        self.scheduler: Scheduler | None = None
        self.db: Database | None = None
        self.ready = threading.Event()

    async def run(self, stop: asyncio.Event) -> None:
        settings = self.settings
        assert settings.database_url is not None
        assert settings.redis_url is not None
        self.db = Database(
            settings.database_url,
            pool_size=4,
            max_overflow=4,
            timeout_s=settings.db_timeout_ms / 1000,
        )
        redis = create_redis(settings.redis_url, timeout_s=settings.redis_timeout_ms / 1000)
        tasks: list[asyncio.Task[None]] = []
        kernel: Kernel | None = None
        try:
            if self.with_relay:
                self.relay = Relay(
                    self.db,
                    self.background,
                    self.background.schemas,
                    batch_size=settings.relay_batch_size,
                    run_size=settings.event_run_size,
                    sweep_interval_s=settings.relay_sweep_interval_ms / 1000,
                    coalesce_s=settings.relay_coalesce_ms / 1000,
                )
                tasks.append(asyncio.create_task(self.relay.run(stop)))
            if self.with_scheduler:
                self.scheduler = Scheduler(redis, self.background, periodic_of(self.modules))
                tasks.append(asyncio.create_task(self.scheduler.run(stop)))
                loops = [loop for m in self.modules for loop in m.loops]
                if loops:
                    kernel = Kernel(settings, settings.database_url, settings.redis_url)
                    assemble(kernel, self.modules)
                    tasks.append(asyncio.create_task(run_loops(loops, kernel.services, stop)))
            self.ready.set()
            if tasks:
                await asyncio.gather(*tasks)
            else:
                await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if kernel is not None:
                await kernel.close()
            await redis.aclose()
            await self.db.dispose()

    async def settle(self, within: float) -> None:
        """Relay everything and wait for the queues to empty, until nothing is left.

        Handlers may publish further events, so this repeats until a full pass finds
        neither outbox rows nor queued, delayed or running messages.
        """
        if self.relay is None or self.db is None:
            raise RuntimeError("settle() needs the relay")
        deadline = time.monotonic() + within
        quiet = 0
        while True:
            moved = await self.relay.drain()
            busy = await asyncio.to_thread(self._queued)
            pending = 0
            for schema in self.relay.schemas:
                pending += (await outbox_status(self.db, schema)).pending
            if moved == 0 and busy == 0 and pending == 0:
                quiet += 1
                if quiet >= 2:
                    return
            else:
                quiet = 0
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"events still in flight after {within}s: outbox={pending} queued={busy}"
                )
            await asyncio.sleep(0.01)

    def _queued(self) -> int:
        """Messages waiting, delayed (retries) or being processed, across every queue."""
        broker = self.background.broker
        pipe = broker.client.pipeline(transaction=False)
        for queue in sorted(self.background.queues()):
            pipe.hlen(f"{broker.namespace}:{queue}.msgs")
            pipe.hlen(f"{broker.namespace}:{queue}.DQ.msgs")
        return sum(int(n) for n in pipe.execute())


class _LoopThread(threading.Thread):
    """Runs :class:`Services` on its own event loop, beside threads that are not async."""

    def __init__(self, services: Services) -> None:
        super().__init__(name="hub-services", daemon=True)
        self.services = services
        self.loop = asyncio.new_event_loop()
        self._stop_event: asyncio.Event | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            self._stop_event = asyncio.Event()
            await self.services.run(self._stop_event)

        try:
            self.loop.run_until_complete(main())
        except BaseException as exc:
            self.error = exc
            log.exception("services_stopped_by_error")
        finally:
            self.services.ready.set()
            self.loop.close()

    def submit(self, coro: Any) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def stop(self, timeout: float = 15.0) -> None:
        if self._stop_event is not None and not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self._stop_event.set)
        self.join(timeout)


_consumers = threading.Semaphore(1)


class InProcessWorker:
    """A dramatiq worker plus relay and scheduler in this process (``hub run``, tests).

    At most one may consume per process: dramatiq's AsyncIO middleware keeps a single
    process-wide event loop for async actors, which two workers would fight over.
    """

    def __init__(
        self,
        settings: Settings,
        modules: Sequence[ContextModule],
        *,
        threads: int | None = None,
        relay: bool = True,
        scheduler: bool = True,
        consume: bool = True,
    ) -> None:
        self.settings = settings
        self.background = build_background(settings, modules)
        self.services = Services(
            settings, self.background, modules, relay=relay, scheduler=scheduler
        )
        self.worker: Worker | None = None
        if consume:
            self.worker = Worker(
                self.background.broker,
                worker_threads=threads or settings.worker_threads,
                worker_timeout=settings.worker_idle_poll_ms,
            )
        self._thread = _LoopThread(self.services)

    def start(self) -> InProcessWorker:
        if self.worker is not None:
            if not _consumers.acquire(blocking=False):
                self.background.close()
                raise RuntimeError("a consuming worker already runs in this process")
            self.worker.start()
        self._thread.start()
        if not self.services.ready.wait(20):
            raise RuntimeError("relay/scheduler did not start")
        if self._thread.error is not None:
            raise RuntimeError("relay/scheduler failed to start") from self._thread.error
        return self

    async def drain(self, within: float = 10.0) -> None:
        """Wait until every committed event and job so far has been handled."""
        future = self._thread.submit(self.services.settle(within))
        await asyncio.wrap_future(future)

    def drain_sync(self, within: float = 10.0) -> None:
        self._thread.submit(self.services.settle(within)).result(within + 5)

    def stop(self) -> None:
        self._thread.stop()
        if self.worker is not None:
            try:
                self.worker.stop(timeout=10_000)
            finally:
                _consumers.release()
        self.background.close()


def start_in_process(
    settings: Settings, modules: Sequence[ContextModule], *, threads: int | None = None
) -> InProcessWorker:
    return InProcessWorker(settings, modules, threads=threads).start()


def serve(
    settings: Settings,
    modules: Sequence[ContextModule],
    *,
    threads: int,
    relay: bool = True,
    scheduler: bool = True,
    metrics_port: int | None = None,
) -> int:
    """Run one worker process until SIGTERM/SIGINT (finishing running jobs first)."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("worker_stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="0.0.0.0")  # noqa: S104 - scraped from outside
    worker = InProcessWorker(
        settings, modules, threads=threads, relay=relay, scheduler=scheduler
    ).start()
    log.info("worker_started", pid=os.getpid(), threads=threads, relay=relay, scheduler=scheduler)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        worker.stop()
    return 0


def run_workers(
    settings: Settings,
    modules: Sequence[ContextModule],
    *,
    processes: int,
    threads: int,
    relay: bool = True,
    scheduler: bool = True,
) -> int:
    """``hub worker``: ``processes`` identical worker processes (forked) until signalled.

    A child that dies unexpectedly stops the whole group with a non-zero exit, so the
    process manager (systemd, Kubernetes) restarts it cleanly rather than this process
    forking from a half-running state.
    """
    port = settings.worker_metrics_port
    if processes <= 1:
        return serve(
            settings, modules, threads=threads, relay=relay, scheduler=scheduler, metrics_port=port
        )
    ctx = multiprocessing.get_context("fork")
    children = [
        ctx.Process(
            target=_child,
            args=(settings, modules, threads, relay, scheduler, None if port is None else port + i),
            name=f"hub-worker-{i}",
        )
        for i in range(processes)
    ]
    for child in children:
        child.start()
    stopping = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    code = 0
    while not stopping.wait(0.5):
        dead = [c for c in children if not c.is_alive()]
        if dead:
            log.error("worker_process_died", name=dead[0].name, exitcode=dead[0].exitcode)
            code = 1
            break
    for child in children:
        if child.is_alive() and child.pid is not None:
            os.kill(child.pid, signal.SIGTERM)
    for child in children:
        child.join(30)
        if child.is_alive():
            child.kill()
            child.join(5)
    return code


def _child(
    settings: Settings,
    modules: Sequence[ContextModule],
    threads: int,
    relay: bool,
    scheduler: bool,
    metrics_port: int | None,
) -> None:
    sys.exit(
        serve(
            settings,
            modules,
            threads=threads,
            relay=relay,
            scheduler=scheduler,
            metrics_port=metrics_port,
        )
    )
