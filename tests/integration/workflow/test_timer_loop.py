"""The timer loop of worker processes: fires a timer at its due time and sleeps until the
next one (never longer than ``HUB_WORKFLOW_TIMER_POLL_MS``), works through a backlog
without pausing, and keeps going after a failed turn. Simulated time: the loop's pause
moves the test clock instead of sleeping."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Litestar

from hub.app import load_settings
from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from hub.workflow.bootstrap import build
from hub.workflow.services.timer_loop import TimerLoop
from tests.integration.identity.support import fetch
from tests.integration.workflow.support import (
    Client,
    published,
    started,
    team,
    timer_loop,
    use_clock,
)


def reminders(*percents: int) -> dict[str, Any]:
    return {
        "states": [
            {
                "name": "review",
                "initial": True,
                "slaMinutes": 60,
                "slaLadder": [{"at": p, "kind": "remind"} for p in percents],
            },
            {"name": "done", "final": True},
        ],
        "transitions": [{"name": "finish", "from": "review", "to": "done"}],
    }


class SimulatedWaits:
    """A ``wait`` that advances the clock instead of sleeping and stops after ``turns``."""

    def __init__(self, clock: MovableClock, turns: int) -> None:
        self.clock, self.turns, self.pauses = clock, turns, []  # type: list[float]

    async def __call__(self, stop: asyncio.Event, seconds: float) -> None:
        self.pauses.append(round(seconds, 3))
        self.clock.advance(seconds=seconds)
        if len(self.pauses) >= self.turns:
            stop.set()


async def test_the_loop_fires_at_the_due_time_then_sleeps_until_the_next(
    client: Client, app: Litestar, database_url: str, settings: Settings
) -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    clock = MovableClock(start)
    use_clock(clock, app)
    owner, org, _ = await team(client, database_url)
    await published(client, owner, org, definition=reminders(50, 51))
    await started(client, owner, org)  # timers due 09:30:00 and 09:30:36
    clock.set(start + timedelta(minutes=30) - timedelta(seconds=0.3))
    async with timer_loop(settings, clock) as loop:
        assert isinstance(loop, TimerLoop)
        assert loop.poll_s == 0.5  # HUB_WORKFLOW_TIMER_POLL_MS by default
        waits = SimulatedWaits(clock, turns=3)
        loop.wait = waits
        await loop.run(asyncio.Event())
    # nothing due: sleep 0.3 s until the first timer; it fires on time; the next one is
    # 36 s away: sleep the poll interval (a timer written meanwhile waits at most that)
    assert waits.pauses == [0.3, 0.5, 0.5]
    rows = await fetch(
        database_url, "SELECT status, due_at, fired_at FROM workflow.timers ORDER BY due_at"
    )
    assert [r["status"] for r in rows] == ["fired", "pending"]
    assert rows[0]["fired_at"] == rows[0]["due_at"]  # no lateness at all


async def test_a_backlog_is_worked_through_without_pausing(
    client: Client, app: Litestar, database_url: str, settings: Settings
) -> None:
    clock = MovableClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    use_clock(clock, app)
    owner, org, _ = await team(client, database_url)
    await published(client, owner, org, definition=reminders(10, 20, 30))
    for _ in range(3):
        await started(client, owner, org)
    clock.advance(hours=1)
    async with timer_loop(settings, clock) as loop:
        loop.firers = 2
        fired, pause = await loop.turn()
        assert (fired, pause) == (9, 0.5)
        assert await loop.turn() == (0, 0.5)  # each timer fired once
    effects = await fetch(database_url, "SELECT count(*) AS n FROM workflow.effects")
    assert effects[0]["n"] == 9


async def test_a_failed_turn_does_not_end_the_loop(settings: Settings) -> None:
    clock = MovableClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    async with timer_loop(settings, clock) as loop:
        calls = 0
        real = loop.timers.fire_due

        async def flaky(*, limit: int) -> int:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise ConnectionError("database away")
            return int(await real(limit=limit))

        loop.timers.fire_due = flaky
        loop.firers = 1
        waits = SimulatedWaits(clock, turns=2)
        loop.wait = waits
        await loop.run(asyncio.Event())
        assert calls == 2
        assert waits.pauses == [1.0, 0.5]  # backs off after the failure, then polls


def test_the_loop_is_declared_and_its_settings_checked() -> None:
    module = build()
    assert [loop.name for loop in module.loops] == ["workflow.timers"]
    assert module.periodic == [] or all(p.name != "workflow.fire_timers" for p in module.periodic)
    assert load_settings(environ={}).section("workflow").workflow_timer_poll_ms <= 1000


async def test_a_timer_whose_step_fails_is_set_aside_and_the_batch_goes_on(
    client: Client, app: Litestar, database_url: str, settings: Settings
) -> None:
    clock = MovableClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    use_clock(clock, app)
    owner, org, _ = await team(client, database_url)
    body = reminders(10)
    body["states"][0]["slaLadder"] = [{"at": 50, "kind": "transition", "transition": "finish"}]
    # the transition's action needs a variable only some instances have
    body["transitions"][0]["actions"] = [
        {"kind": "setVariable", "name": "twice", "expression": "vars.n * 2"}
    ]
    await published(client, owner, org, definition=body)
    good = await started(client, owner, org, variables={"n": 1})
    bad = await started(client, owner, org, variables={})
    clock.advance(hours=1)
    async with timer_loop(settings, clock) as loop:
        assert await loop.timers.fire_due() == 1
        assert await loop.timers.fire_due() == 0  # not retried for ever
    rows = await fetch(
        database_url,
        "SELECT i.id::text AS id, i.state, t.status FROM workflow.timers t "
        "JOIN workflow.instances i ON i.id = t.instance_id",
    )
    assert {r["id"]: (r["state"], r["status"]) for r in rows} == {
        good["id"]: ("done", "fired"),
        bad["id"]: ("review", "failed"),
    }
    effects = await fetch(database_url, "SELECT count(*) AS n FROM workflow.history")
    assert effects[0]["n"] == 3  # two starts, one transition: nothing of the failed one
