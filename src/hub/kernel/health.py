"""Liveness and readiness.

``/health`` answers as long as the process serves requests (no I/O: a liveness probe
must not fail because a dependency is down, or the orchestrator restarts healthy pods).
``/ready`` checks every dependency with a short timeout and names the failing one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.openapi import ResponseSpec

from hub.kernel.errors import Problem, problem_response
from hub.kernel.runtime import Kernel
from hub.kernel.structs import Schema

log = structlog.get_logger("hub.health")
CHECK_TIMEOUT_S = 2.0


class Health(Schema):
    status: str


class Readiness(Schema):
    status: str
    checks: dict[str, str]


@get(
    "/health",
    opt={"exclude_from_metrics": True},
    tags=["System"],
    summary="Liveness",
    operation_id="health",
    sync_to_thread=False,
)
def health() -> Health:
    return Health(status="ok")


async def _check(name: str, probe: Callable[[], Awaitable[Any]]) -> tuple[str, str]:
    """``ok`` or ``unavailable`` within :data:`CHECK_TIMEOUT_S`, whatever the probe does.

    Not ``asyncio.wait_for``: after its timeout it waits for the cancelled probe to finish
    cleaning up (a database connection being given back, say), which on a frozen server
    doubled the answer time. A late probe is cancelled and left to finish on its own.
    """
    task = asyncio.ensure_future(probe())
    done, _ = await asyncio.wait({task}, timeout=CHECK_TIMEOUT_S)
    if not done:
        task.cancel()
        task.add_done_callback(_forget)
        log.warning("readiness_check_failed", check=name, error="TimeoutError")
        return name, "unavailable"
    exc = task.exception()
    if exc is not None:
        log.warning("readiness_check_failed", check=name, error=type(exc).__name__)
        return name, "unavailable"
    return name, "ok"


def _forget(task: asyncio.Future[Any]) -> None:
    """Collect a late probe's outcome so asyncio reports no unretrieved exception."""
    if not task.cancelled():
        task.exception()


@get(
    "/ready",
    tags=["System"],
    summary="Readiness: database, Redis and broker reachable",
    operation_id="ready",
    responses={
        503: ResponseSpec(
            data_container=Problem,
            description="A dependency is down",
            media_type="application/problem+json",
        )
    },
)
async def ready(request: Request[Any, Any, State], state: State) -> Response[Readiness | Problem]:
    kernel: Kernel = state.kernel
    checks: dict[str, Callable[[], Awaitable[Any]]] = {
        "database": kernel.db.ping,
        "redis": kernel.redis.ping,
    }
    for name, probe in getattr(state, "extra_readiness_checks", {}).items():
        checks[name] = probe
    results = dict(await asyncio.gather(*(_check(n, p) for n, p in checks.items())))
    failing = sorted(n for n, v in results.items() if v != "ok")
    if failing:
        return problem_response(  # type: ignore[return-value]
            request,
            status=503,
            code="not_ready",
            detail="Not ready: " + ", ".join(failing) + " unavailable.",
            extra={"checks": results},
        )
    return Response(Readiness(status="ready", checks=results))
