"""dramatiq on a Redis broker: the one place the broker and its middleware are built.

Middleware, in order: :class:`JobObserver`, dramatiq's defaults (age limit, time limit,
shutdown notices, callbacks, pipelines, retries with bounded exponential backoff)
configured from ``HUB_JOB_*``, AsyncIO (async actors run on one event loop per worker
process) and CurrentMessage. dramatiq runs ``before_*`` hooks in list order and
``after_*`` hooks in reverse, so the observer binds the log context before anything else
logs and its ``after_process_message`` runs once Retries has decided between "retry" and
"dead-letter" (and logged it with that context).

Dead letters: when retries are exhausted dramatiq moves the message to the Redis sorted set
``<namespace>:<queue>.XQ`` (data in ``.XQ.msgs``), kept ``HUB_JOB_DEAD_MESSAGE_TTL_MS``.
The copy there is the message as last *enqueued*, without the final error, so the
observer records each dead message's error under ``<namespace>:dead-error:<redis id>``
for ``hub jobs failed``.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections.abc import Mapping
from typing import Any

import msgspec
import redis
import structlog
from dramatiq import Broker, Message
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import (
    AgeLimit,
    AsyncIO,
    Callbacks,
    CurrentMessage,
    Middleware,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from hub.kernel import telemetry
from hub.kernel.settings import Settings

NAMESPACE = "hub"

#: Message options the kernel sets (dramatiq keeps unknown options on the message).
OPT_KEY = "hub_key"
OPT_CORRELATION = "hub_correlation_id"
OPT_SCHEMA = "hub_schema"

log = structlog.get_logger("hub.jobs")


class DeadError(msgspec.Struct, kw_only=True, frozen=True):
    """Why a message was dead-lettered (stored beside the dead-letter queue)."""

    error: str
    traceback: str
    failed_at_ms: int
    #: Runs of the message, the failing one included.
    attempts: int


def dead_error_key(redis_message_id: str, namespace: str = NAMESPACE) -> str:
    return f"{namespace}:dead-error:{redis_message_id}"


class JobObserver(Middleware):
    """Log context (correlation id on every line of a job), metrics, dead-letter errors."""

    def __init__(self, dead_message_ttl_ms: int, namespace: str = NAMESPACE) -> None:
        self.dead_message_ttl_ms = dead_message_ttl_ms
        self.namespace = namespace
        self._started: dict[str, tuple[float, int]] = {}

    def before_process_message(self, broker: Broker, message: Any) -> None:
        structlog.contextvars.bind_contextvars(
            correlation_id=message.options.get(OPT_CORRELATION),
            job=message.actor_name,
            message_id=message.message_id,
        )
        self._started[message.message_id] = (
            time.perf_counter(),
            int(message.options.get("retries", 0)),
        )

    def after_process_message(
        self,
        broker: Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        started, earlier_runs = self._started.pop(message.message_id, (None, 0))
        outcome = "ok" if exception is None else ("dead" if message.failed else "retry")
        if started is not None:
            telemetry.JOB_DURATION.labels(message.actor_name, outcome).observe(
                time.perf_counter() - started
            )
        if exception is not None:
            if message.failed:
                telemetry.JOB_DEAD.labels(message.actor_name).inc()
                self._record_dead(broker, message, exception, earlier_runs + 1)
                log.error(
                    "job_dead_lettered",
                    error=f"{type(exception).__name__}: {exception}",
                    attempts=earlier_runs + 1,
                )
            else:
                telemetry.JOB_RETRIES.labels(message.actor_name).inc()
        structlog.contextvars.unbind_contextvars("correlation_id", "job", "message_id")

    def after_skip_message(self, broker: Broker, message: Any) -> None:
        self._started.pop(message.message_id, None)
        structlog.contextvars.unbind_contextvars("correlation_id", "job", "message_id")

    def _record_dead(
        self, broker: Broker, message: Any, exception: BaseException, attempts: int
    ) -> None:
        redis_id = message.options.get("redis_message_id")
        client = getattr(broker, "client", None)
        if not redis_id or client is None:
            return
        record = DeadError(
            error=f"{type(exception).__name__}: {exception}"[:2000],
            traceback="".join(traceback.format_exception(exception, limit=20))[-8000:],
            failed_at_ms=int(time.time() * 1000),
            attempts=attempts,
        )
        try:
            client.set(
                dead_error_key(redis_id, self.namespace),
                msgspec.json.encode(record),
                px=self.dead_message_ttl_ms,
            )
        except Exception:
            log.warning("dead_error_not_recorded", exc_info=True)


_time_limit_lock = threading.Lock()
_time_limit: tuple[int, TimeLimit] | None = None


def _shared_time_limit(default_ms: int) -> TimeLimit:
    """One TimeLimit per process, its timer thread started here.

    dramatiq starts that thread on ``process_boot``, which only its own CLI emits; and a
    timer per broker would leak one thread per broker a test process builds.
    """
    global _time_limit
    with _time_limit_lock:
        if _time_limit is None or _time_limit[0] != os.getpid():  # none yet, or forked
            middleware = TimeLimit(time_limit=default_ms, interval=100)
            middleware.manager.start()
            _time_limit = (os.getpid(), middleware)
        _time_limit[1].time_limit = default_ms
        return _time_limit[1]


def create_broker(settings: Settings, *, namespace: str = NAMESPACE) -> RedisBroker:
    """A Redis broker with Hub's middleware; it is not installed as dramatiq's global."""
    if settings.redis_url is None:
        raise ValueError("HUB_REDIS_URL is not set")
    middleware: list[Middleware] = [
        JobObserver(settings.job_dead_message_ttl_ms, namespace),
        AgeLimit(),
        _shared_time_limit(settings.job_time_limit_ms),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(
            max_retries=settings.job_max_retries,
            min_backoff=max(1, settings.job_min_backoff_ms),
            max_backoff=max(1, settings.job_max_backoff_ms),
        ),
        AsyncIO(),
        CurrentMessage(),
    ]
    # Timeouts, so a hung Redis fails a relay pass instead of blocking it forever; the
    # consumers poll with short Lua calls, never blocking reads, so 10 s is ample.
    client = redis.Redis.from_url(
        settings.redis_url, socket_connect_timeout=5, socket_timeout=10, health_check_interval=30
    )
    return RedisBroker(
        client=client,
        namespace=namespace,
        middleware=middleware,
        heartbeat_timeout=settings.job_heartbeat_timeout_ms,
        maintenance_chance=settings.job_maintenance_chance,
        dead_message_ttl=settings.job_dead_message_ttl_ms,
    )


def close_broker(broker: RedisBroker) -> None:
    broker.close()
    broker.client.close()
    broker.client.connection_pool.disconnect()


def message(
    queue: str,
    actor: str,
    args: tuple[Any, ...] | list[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
) -> Message[Any]:
    return Message(
        queue_name=queue,
        actor_name=actor,
        args=tuple(args),
        kwargs=dict(kwargs or {}),
        options={k: v for k, v in (options or {}).items() if v is not None},
    )
