"""Background jobs as contexts declare them: a name, a function and its retry policy.

A job is declared with :func:`job` and listed in the context's ``ContextModule.jobs``;
nothing here touches dramatiq. The broker is built later, from settings, by
:mod:`hub.kernel.background`, which turns every declared job into a dramatiq actor. That
ordering is the point: dramatiq binds an actor to a broker when it is declared, so
declaring jobs as plain data lets the composition root install the configured broker
first, whatever order modules are imported in.

Jobs are queued through the unit of work (:func:`queue_job`): the request is an outbox row
committed with the state change, so a rolled-back transaction queues nothing and a
committed one always gets its job (the relay sends it). Delivery is at-least-once, so a
job must be idempotent; :attr:`JobContext.idempotency_key` is stable across redeliveries.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import msgspec

from hub.kernel.events import IntegrationEvent

if TYPE_CHECKING:
    from hub.kernel.db import UnitOfWork
    from hub.kernel.runtime import Kernel

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_QUEUE_RE = re.compile(r"^[a-z][a-z0-9_]*$")

#: Queue of jobs that do not name one.
DEFAULT_QUEUE = "default"


@dataclass(frozen=True)
class JobContext:
    """What a running job gets besides its arguments."""

    kernel: Kernel
    job: str
    message_id: str
    #: Stable across redeliveries and retries of the same request: the outbox event id
    #: when queued through a unit of work, else the dramatiq message id.
    idempotency_key: str
    correlation_id: str | None
    #: Schema of the context whose unit of work queued the job (None: sent directly).
    schema: str | None
    retries: int


JobFunction = Callable[..., Awaitable[Any]] | Callable[..., Any]


@dataclass(frozen=True)
class JobSpec:
    """A declared job. ``fn(ctx, *args, **kwargs)``; async functions run on the worker's
    event loop, plain functions in a worker thread (for CPU-bound work)."""

    name: str
    fn: JobFunction
    queue: str = DEFAULT_QUEUE
    #: ``None`` takes the HUB_JOB_* default from settings.
    max_retries: int | None = None
    min_backoff_ms: int | None = None
    max_backoff_ms: int | None = None
    time_limit_ms: int | None = None
    #: Exceptions that mean "retrying cannot help": the message goes straight to the
    #: dead-letter queue.
    throws: tuple[type[BaseException], ...] = ()
    priority: int = 0
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise ValueError(f"job name {self.name!r} must look like '<context>.<name>'")
        if not _QUEUE_RE.match(self.queue):
            raise ValueError(f"queue name {self.queue!r} must be lower_snake_case")

    def request(self, *args: Any, delay_ms: int | None = None, **kwargs: Any) -> JobRequested:
        return JobRequested(job=self.name, args=list(args), kwargs=kwargs, delay_ms=delay_ms)


def job(
    name: str,
    *,
    queue: str = DEFAULT_QUEUE,
    max_retries: int | None = None,
    min_backoff_ms: int | None = None,
    max_backoff_ms: int | None = None,
    time_limit_ms: int | None = None,
    throws: tuple[type[BaseException], ...] = (),
    priority: int = 0,
) -> Callable[[JobFunction], JobSpec]:
    """Declare a job: ``@job("content.extract_text", queue="content")``."""

    def wrap(fn: JobFunction) -> JobSpec:
        return JobSpec(
            name=name,
            fn=fn,
            queue=queue,
            max_retries=max_retries,
            min_backoff_ms=min_backoff_ms,
            max_backoff_ms=max_backoff_ms,
            time_limit_ms=time_limit_ms,
            throws=throws,
            priority=priority,
        )

    return wrap


class JobRequested(IntegrationEvent, frozen=True):
    """Outbox row asking the relay to send one job message (never seen by subscribers)."""

    event_type: ClassVar[str] = "kernel.job_requested"

    job: str
    args: list[Any] = msgspec.field(default_factory=list)
    kwargs: dict[str, Any] = msgspec.field(default_factory=dict)
    delay_ms: int | None = None


def queue_job(
    uow: UnitOfWork,
    target: JobSpec | str,
    *args: Any,
    delay_ms: int | None = None,
    **kwargs: Any,
) -> uuid.UUID:
    """Queue a job inside ``uow``: sent only if (and as soon as) the transaction commits.

    Arguments must be JSON primitives. Returns the request's id, which the job sees as its
    :attr:`JobContext.idempotency_key`.
    """
    name = target.name if isinstance(target, JobSpec) else target
    if not _NAME_RE.match(name):
        raise ValueError(f"job name {name!r} must look like '<context>.<name>'")
    request = JobRequested(job=name, args=list(args), kwargs=kwargs, delay_ms=delay_ms)
    uow.publish(request)
    return request.event_id


class JobRegistry:
    """Every job of the process by name (one name, one spec)."""

    def __init__(self) -> None:
        self._jobs: dict[str, JobSpec] = {}

    def add(self, spec: JobSpec) -> None:
        existing = self._jobs.get(spec.name)
        if existing is not None and existing is not spec:
            raise ValueError(f"job {spec.name!r} declared twice")
        self._jobs[spec.name] = spec

    def get(self, name: str) -> JobSpec | None:
        return self._jobs.get(name)

    def __iter__(self) -> Any:
        return iter(list(self._jobs.values()))

    def __contains__(self, name: object) -> bool:
        return name in self._jobs

    def queues(self) -> set[str]:
        return {spec.queue for spec in self._jobs.values()}
