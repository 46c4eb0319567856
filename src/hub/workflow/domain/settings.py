"""Workflow's own settings (``HUB_*``), read once per process by ``hub.app.load_settings``."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta


class WorkflowSettings(msgspec.Struct, kw_only=True, frozen=True):
    #: Longest pause of the timer loop between two looks for due timers (it sleeps less
    #: when the next pending timer is due sooner): a timer created by another process
    #: fires at most this long after its due time.
    workflow_timer_poll_ms: Annotated[int, Meta(ge=50, le=1_000)] = 500
    #: Concurrent transactions one worker process fires due timers with.
    workflow_timer_firers: Annotated[int, Meta(ge=1, le=32)] = 4
