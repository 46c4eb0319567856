"""The background-job runtime of one process: broker, actors, subscriptions, routing.

Built by the composition root (``hub.worker``) from settings and the contexts' modules:
the broker from settings comes first, then every declared :class:`~hub.kernel.jobs.JobSpec`
becomes a dramatiq actor on it, so no actor ever binds to dramatiq's default broker.

It also decides where outbox rows go (:meth:`Background.plan`): a job request becomes one
message to that job's actor; integration events go to the ``kernel.deliver_events`` actor,
one message per subscription carrying that subscriber's run of consecutive events (none
at all when nobody subscribes). Catch-all consumers count as subscribers of every event
type; their items also name the publishing context.

Async job functions run on the AsyncIO middleware's event loop (one per worker process);
the :class:`~hub.kernel.runtime.Kernel` they get is created for that loop and closed with
the worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from inspect import iscoroutinefunction
from typing import Any

import dramatiq
import msgspec
import structlog
from dramatiq import Message
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import CurrentMessage, Middleware

from hub.kernel import telemetry
from hub.kernel.contexts import ContextModule
from hub.kernel.db import current_correlation_id
from hub.kernel.events import IntegrationEvent, encode_event
from hub.kernel.inject import inject
from hub.kernel.jobs import DEFAULT_QUEUE, JobContext, JobRegistry, JobRequested, JobSpec
from hub.kernel.mail import SEND_MAIL
from hub.kernel.queue import (
    OPT_CORRELATION,
    OPT_KEY,
    OPT_SCHEMA,
    close_broker,
    create_broker,
    message,
)
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.kernel.subscribers import (
    DELIVER_ACTOR,
    EVENTS_QUEUE,
    BoundSubscription,
    Delivery,
    SubscriptionRegistry,
    deliver,
)
from hub.kernel.wiring import assemble

log = structlog.get_logger("hub.jobs")


class OutboxRow(msgspec.Struct, kw_only=True, frozen=True):
    """What the relay read from an outbox: enough to route and send it."""

    schema: str
    position: int
    event_id: str
    event_type: str
    aggregate_key: str
    payload: str
    correlation_id: str | None
    created_at: float


class _KernelLifecycle(Middleware):
    """Closes the worker-side kernel on the event loop before AsyncIO stops that loop."""

    def __init__(self, background: Background) -> None:
        self.background = background

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self.background.close_worker_kernel()


class Background:
    def __init__(
        self,
        settings: Settings,
        *,
        jobs: Iterable[JobSpec] = (),
        subscriptions: SubscriptionRegistry | None = None,
        schemas: Sequence[str] = (),
        modules: Sequence[ContextModule] = (),
    ) -> None:
        self.settings = settings
        #: The contexts whose services jobs receive (``hub.kernel.inject``).
        self.modules = tuple(modules)
        #: Which context owns each job (for queue routing when contexts are split).
        self.job_owners = {spec.name: m.name for m in modules for spec in m.jobs}
        self.schemas = tuple(schemas)
        self.jobs = JobRegistry()
        for spec in (SEND_MAIL, *jobs):
            self.jobs.add(spec)
        self.subscriptions = subscriptions or SubscriptionRegistry()
        self.broker = create_broker(settings)
        # After-hooks run in reverse order: last in the list, this one closes the kernel
        # before AsyncIO's after_worker_shutdown stops the loop it lives on.
        self.broker.add_middleware(_KernelLifecycle(self))
        self._kernel: Kernel | None = None
        self._kernel_lock = threading.Lock()
        for spec in self.jobs:
            self._declare(spec)
        # Consumed even when no job uses it: requests for jobs this release does not know
        # land there and get dead-lettered where an operator sees them.
        self.broker.declare_queue(DEFAULT_QUEUE)
        dramatiq.Actor(
            self._deliver_fn(),
            broker=self.broker,
            actor_name=DELIVER_ACTOR,
            queue_name=EVENTS_QUEUE,
            priority=0,
            options={},
        )
        for module in self.modules:
            if settings.serves(module.name):
                self.broker.declare_queue(self.route(EVENTS_QUEUE, module.name))
                for queue in {s.queue for s in module.jobs}:
                    self.broker.declare_queue(self.route(queue, module.name))

    def route(self, queue: str, context: str | None) -> str:
        """The queue a message for ``context`` goes to.

        In one process serving every context, the queue itself. When contexts are split
        (``HUB_CONTEXTS``), a context's job and event-delivery queues carry its name
        (``default.content``, ``events.communication``): a worker consumes only the queues
        of the contexts its process serves, so it never takes a message whose actor or
        subscriber lives in another service. The kernel's own jobs (mail, pruning) stay
        on shared queues: every process can run them.
        """
        if not self.settings.contexts or context is None:
            return queue
        return f"{queue}.{context}"

    # ------------------------------------------------------------------ actors

    def _declare(self, spec: JobSpec) -> None:
        options: dict[str, Any] = {}
        if spec.max_retries is not None:
            options["max_retries"] = spec.max_retries
        if spec.min_backoff_ms is not None:
            options["min_backoff"] = max(1, spec.min_backoff_ms)
        if spec.max_backoff_ms is not None:
            options["max_backoff"] = max(1, spec.max_backoff_ms)
        if spec.time_limit_ms is not None:
            options["time_limit"] = spec.time_limit_ms
        if spec.throws:
            options["throws"] = spec.throws
        options.update(spec.options)
        dramatiq.Actor(
            self._job_fn(spec),
            broker=self.broker,
            actor_name=spec.name,
            queue_name=self.route(spec.queue, self.job_owners.get(spec.name)),
            priority=spec.priority,
            options=options,
        )

    def worker_kernel(self) -> Kernel:
        """The kernel async jobs use (created once per process, used on the job loop only)."""
        with self._kernel_lock:
            if self._kernel is None:
                assert self.settings.database_url is not None
                assert self.settings.redis_url is not None
                kernel = Kernel(
                    settings=self.settings,
                    database_url=self.settings.database_url,
                    redis_url=self.settings.redis_url,
                )
                assemble(kernel, self.modules)
                self._kernel = kernel
            return self._kernel

    def close_worker_kernel(self) -> None:
        with self._kernel_lock:
            kernel, self._kernel = self._kernel, None
        loop_thread = get_event_loop_thread()
        if kernel is not None and loop_thread is not None:
            try:
                loop_thread.run_coroutine(kernel.close())
            except Exception:
                log.warning("worker_kernel_close_failed", exc_info=True)

    def _context(self, name: str) -> JobContext:
        current = CurrentMessage.get_current_message()
        options: dict[str, Any] = current.options if current is not None else {}
        message_id = current.message_id if current is not None else ""
        return JobContext(
            kernel=self.worker_kernel(),
            job=name,
            message_id=message_id,
            idempotency_key=str(options.get(OPT_KEY) or message_id),
            correlation_id=options.get(OPT_CORRELATION),
            schema=options.get(OPT_SCHEMA),
            retries=int(options.get("retries", 0)),
        )

    def _job_fn(self, spec: JobSpec) -> Any:
        background = self

        def run(*args: Any, **kwargs: Any) -> None:
            # Runs in a dramatiq worker thread, where CurrentMessage is visible; async job
            # functions are then run on the event loop thread with the context captured.
            ctx = background._context(spec.name)
            fn = inject(spec.fn, ctx.kernel.services)
            if iscoroutinefunction(spec.fn):
                loop_thread = get_event_loop_thread()
                if loop_thread is None:
                    raise RuntimeError("async jobs need the AsyncIO middleware")
                loop_thread.run_coroutine(_bound(ctx, fn(ctx, *args, **kwargs)))
            else:
                fn(ctx, *args, **kwargs)

        run.__name__ = spec.name.replace(".", "_")
        run.__module__ = getattr(spec.fn, "__module__", __name__)
        return run

    def _deliver_fn(self) -> Any:
        background = self

        def deliver_events(handler: str, items: list[list[Any]]) -> None:
            ctx = background._context(DELIVER_ACTOR)
            bound = background.subscriptions.get(handler)
            if bound is None:
                raise LookupError(f"no subscriber {handler!r} in this process")
            loop_thread = get_event_loop_thread()
            if loop_thread is None:
                raise RuntimeError("event delivery needs the AsyncIO middleware")
            deliveries = [msgspec.convert(item, Delivery) for item in items]
            try:
                loop_thread.run_coroutine(
                    _bound(ctx, background._deliver(bound, deliveries), handler)
                )
            except Exception as exc:
                if len(deliveries) <= 1:
                    raise
                # One bad event must not hold its neighbours hostage: the run rolled back
                # as a whole, so each event goes again alone, with its own retries.
                log.warning(
                    "event_run_split",
                    handler=handler,
                    events=len(deliveries),
                    error=f"{type(exc).__name__}: {exc}",
                )
                background._split(handler, deliveries, ctx)

        deliver_events.__module__ = __name__
        return deliver_events

    def _split(self, handler: str, deliveries: list[Delivery], ctx: JobContext) -> None:
        bound = self.subscriptions.get(handler)
        queue = self.route(EVENTS_QUEUE, bound.context if bound is not None else None)
        for item in deliveries:
            options = {OPT_CORRELATION: item.correlation_id, OPT_SCHEMA: ctx.schema}
            self.broker.enqueue(
                message(queue, DELIVER_ACTOR, (handler, [_wire(item)]), None, options)
            )

    async def _deliver(self, bound: BoundSubscription, deliveries: list[Delivery]) -> None:
        kernel = self.worker_kernel()
        try:
            handled = await deliver(kernel.db, bound, deliveries, services=kernel.services)
        except BaseException:
            if len(deliveries) == 1:
                telemetry.EVENTS_FAILED.labels(bound.name).inc()
            raise
        telemetry.EVENTS_CONSUMED.labels(bound.name).inc(len(handled))
        if len(handled) < len(deliveries):
            telemetry.EVENTS_DUPLICATE.labels(bound.name).inc(len(deliveries) - len(handled))
        now = time.time()
        latency = telemetry.EVENT_DELIVERY_LATENCY.labels(bound.name)
        for event in handled:
            latency.observe(max(0.0, now - event.occurred_at.timestamp()))

    # ------------------------------------------------------------------ routing

    def queues(self) -> set[str]:
        declared = self.broker.get_declared_queues()
        return {EVENTS_QUEUE, DEFAULT_QUEUE, *self.jobs.queues(), *declared}

    def plan(
        self, rows: Sequence[OutboxRow], *, run_size: int = 50
    ) -> list[tuple[int, list[tuple[Message[Any], int | None]]]]:
        """Broker messages for outbox rows, as segments of ``(rows, messages)``.

        A segment is up to ``run_size`` consecutive rows: each job request becomes its own
        message; each subscriber gets one message with its events of the segment, in
        order. A segment counts as sent once all its messages are enqueued.
        """
        segments: list[tuple[int, list[tuple[Message[Any], int | None]]]] = []
        for start in range(0, len(rows), max(1, run_size)):
            segment = rows[start : start + max(1, run_size)]
            messages: list[tuple[Message[Any], int | None]] = []
            runs: dict[str, tuple[BoundSubscription, list[OutboxRow]]] = {}
            for row in segment:
                if row.event_type == JobRequested.event_type:
                    messages.append(self._job_message(row))
                    continue
                for bound in self.subscriptions.for_type(row.event_type):
                    runs.setdefault(bound.name, (bound, []))[1].append(row)
            for handler, (bound, run) in runs.items():
                correlations = {r.correlation_id for r in run}
                options = {
                    OPT_CORRELATION: correlations.pop() if len(correlations) == 1 else None,
                    OPT_SCHEMA: run[0].schema or None,
                    OPT_KEY: run[0].event_id,
                }
                items = [
                    _wire(
                        Delivery(
                            r.event_type,
                            r.payload,
                            r.correlation_id,
                            (r.schema or None) if bound.catch_all else None,
                        )
                    )
                    for r in run
                ]
                messages.append(
                    (
                        message(
                            self.route(EVENTS_QUEUE, bound.context),
                            DELIVER_ACTOR,
                            (handler, items),
                            None,
                            options,
                        ),
                        None,
                    )
                )
            segments.append((len(segment), messages))
        return segments

    def _job_message(self, row: OutboxRow) -> tuple[Message[Any], int | None]:
        request = msgspec.json.decode(row.payload, type=JobRequested)
        spec = self.jobs.get(request.job)
        # An unknown job still goes out: the worker dead-letters it, where an operator sees
        # it and can retry it once a release that knows the job is deployed.
        queue = (
            self.route(spec.queue, self.job_owners.get(spec.name))
            if spec is not None
            else DEFAULT_QUEUE
        )
        options = {
            OPT_CORRELATION: row.correlation_id,
            OPT_SCHEMA: row.schema or None,
            OPT_KEY: row.event_id,
        }
        return message(queue, request.job, request.args, request.kwargs, options), request.delay_ms

    def send(
        self, target: JobSpec | str, *args: Any, _key: str | None = None, **kwargs: Any
    ) -> str:
        """Enqueue a job now, outside any transaction (scheduler, jobs queuing jobs)."""
        name = target.name if isinstance(target, JobSpec) else target
        spec = self.jobs.get(name)
        if spec is None:
            raise LookupError(f"unknown job {name!r}")
        options = {OPT_KEY: _key, OPT_CORRELATION: current_correlation_id()}
        queue = self.route(spec.queue, self.job_owners.get(name))
        msg = message(queue, name, args, kwargs, options)
        return str(self.broker.enqueue(msg).message_id)

    def send_event(self, event: IntegrationEvent) -> int:
        """Deliver an event straight to its subscribers, bypassing the outbox (tests, tools)."""
        row = OutboxRow(
            schema="",
            position=0,
            event_id=str(event.event_id),
            event_type=event.event_type,
            aggregate_key=event.aggregate_key(),
            payload=encode_event(event).decode(),
            correlation_id=event.correlation_id,
            created_at=time.time(),
        )
        sent = 0
        for _rows, messages in self.plan([row]):
            for msg, delay in messages:
                self.broker.enqueue(msg, delay=delay)
                sent += 1
        return sent

    def close(self) -> None:
        close_broker(self.broker)


async def _bound(ctx: JobContext, coro: Any, handler: str | None = None) -> Any:
    """Run ``coro`` with the job's log context bound (the loop thread has its own)."""
    values: dict[str, Any] = {"correlation_id": ctx.correlation_id, "job": ctx.job}
    if handler is not None:
        values["handler"] = handler
    with structlog.contextvars.bound_contextvars(message_id=ctx.message_id, **values):
        return await coro


def _wire(item: Delivery) -> list[Any]:
    if item.source is None:  # subscribers of one type: the shape they always had
        return [item.event_type, item.payload, item.correlation_id]
    return [item.event_type, item.payload, item.correlation_id, item.source]
