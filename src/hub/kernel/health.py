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
    try:
        await asyncio.wait_for(probe(), timeout=CHECK_TIMEOUT_S)
    except Exception as exc:
        log.warning("readiness_check_failed", check=name, error=type(exc).__name__)
        return name, "unavailable"
    return name, "ok"


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
