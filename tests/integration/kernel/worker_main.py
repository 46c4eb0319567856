"""A worker process for the SIGKILL test: `python -m tests.integration.kernel.worker_main`.

It consumes the test subscriptions (the ``workflow`` subscriber hangs on its first
attempt) with the production entry point :func:`hub.worker.serve`, configured from
``HUB_*`` like ``hub worker``; no relay or scheduler, the test process relays.
"""

from __future__ import annotations

import sys

from hub.app import load_settings
from hub.kernel.logging import configure_logging
from hub.worker import serve
from tests.integration.kernel import eventkit
from tests.integration.kernel.eventkit import ThingHappened


def main() -> int:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    assert settings.redis_url is not None
    eventkit.use_redis(settings.redis_url)
    modules = [
        eventkit.module("content"),
        eventkit.module(
            "workflow",
            subscriptions=[
                eventkit.Subscription(
                    ThingHappened, eventkit.record_effect_slowly_first, name="workflow.on_thing"
                )
            ],
        ),
    ]
    return serve(settings, modules, threads=1, relay=False, scheduler=False)


if __name__ == "__main__":
    sys.exit(main())
