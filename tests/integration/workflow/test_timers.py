"""Durable timers and the SLA ladder on a test clock: a reminder at 80 %, an escalation at
100 %, a transition at 200 %; each timer fires exactly once, leaving a state cancels its
timers, and due timers are claimed by concurrent runs without firing twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar
from prometheus_client import REGISTRY

from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from tests.integration.identity.support import fetch
from tests.integration.identity.support_orgs import Person
from tests.integration.workflow.support import (
    INSTANCES,
    Client,
    history,
    move,
    published,
    started,
    team,
    timer_service,
    titles,
    use_clock,
)


def with_sla() -> dict[str, Any]:
    return {
        "states": [
            {
                "name": "review",
                "initial": True,
                "slaMinutes": 60,
                "slaLadder": [
                    {"at": 80, "kind": "remind"},
                    {"at": 100, "kind": "escalate", "roles": ["owner"]},
                    {"at": 200, "kind": "transition", "transition": "expire"},
                ],
                "onEnter": [
                    {
                        "kind": "createTask",
                        "name": "Approve",
                        "roles": ["approver"],
                        "outcomes": {"approve": {"transition": "approve"}},
                    }
                ],
            },
            {"name": "approved", "final": True},
            {"name": "expired", "final": True},
        ],
        "transitions": [
            {"name": "approve", "from": "review", "to": "approved", "roles": ["approver"]},
            {"name": "expire", "from": "review", "to": "expired", "roles": ["owner"]},
        ],
    }


async def test_the_sla_ladder_fires_each_step_once(
    client: Client, app: Litestar, database_url: str, events: Any, settings: Settings
) -> None:
    clock = MovableClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    use_clock(clock, app)
    owner, org, people = await team(client, database_url)
    await published(client, owner, org, definition=with_sla())
    instance = await started(client, owner, org)
    async with timer_service(settings, clock) as service:
        await _climb(client, database_url, events, service, clock, owner, people, instance)


async def _climb(
    client: Client,
    database_url: str,
    events: Any,
    service: Any,
    clock: MovableClock,
    owner: Person,
    people: dict[str, Person],
    instance: dict[str, Any],
) -> None:
    fire = service.fire_due
    invoice = {"workflow": "invoice"}
    expired = {**invoice, "to_state": "expired", "actor_type": "timer"}
    breaches = REGISTRY.get_sample_value("hub_workflow_sla_breaches_total", invoice) or 0.0
    by_timer = REGISTRY.get_sample_value("hub_workflow_transitions_total", expired)

    clock.advance(minutes=47)
    assert await fire() == 0
    clock.advance(minutes=1)  # 80 %
    assert await fire() == 1
    assert await fire() == 0  # fired once
    await events.drain()
    assert await titles(client, people["ann"]) == ["Reminder: invoice is waiting in review"]
    assert await titles(client, people["cy"]) == []  # not a candidate

    clock.advance(minutes=12)  # 100 %: escalate to the owners
    assert await fire() == 1
    await events.drain()
    assert await titles(client, owner) == ["Escalated: invoice is over its time in review"]

    clock.advance(minutes=60)  # 200 %: the timer takes the transition
    assert await fire() == 1
    r = await client.get(f"{INSTANCES}/{instance['id']}", headers=owner.auth)
    assert (r.json()["state"], r.json()["status"]) == ("expired", "completed")
    last = (await history(client, owner, instance["id"]))[-1]
    assert (last["actorType"], last["actorId"], last["transition"]) == ("timer", None, "expire")
    assert REGISTRY.get_sample_value("hub_workflow_sla_breaches_total", invoice) == breaches + 2
    after = REGISTRY.get_sample_value("hub_workflow_transitions_total", expired)
    assert after == (by_timer or 0.0) + 1
    rows = await fetch(database_url, "SELECT kind, status FROM workflow.timers ORDER BY step")
    assert [(r["kind"], r["status"]) for r in rows] == [
        ("remind", "fired"),
        ("escalate", "fired"),
        ("transition", "fired"),
    ]
    steps = await fetch(
        database_url,
        "SELECT payload->>'kind' AS kind, payload->>'percent' AS percent FROM workflow.outbox "
        "WHERE event_type = 'workflow.sla.step_reached' ORDER BY position",
    )
    assert [(s["kind"], s["percent"]) for s in steps] == [
        ("remind", "80"),
        ("escalate", "100"),
        ("transition", "200"),
    ]


async def test_leaving_a_state_cancels_its_timers(
    client: Client, app: Litestar, database_url: str, settings: Settings
) -> None:
    clock = MovableClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    use_clock(clock, app)
    owner, org, _ = await team(client, database_url)
    await published(client, owner, org, definition=with_sla())
    instance = await started(client, owner, org)
    r = await move(client, owner, instance, "expire")  # the owner ends it early
    assert r.status_code == 200, r.text
    clock.advance(hours=5)
    async with timer_service(settings, clock) as service:
        assert await service.fire_due() == 0
    rows = await fetch(database_url, "SELECT status FROM workflow.timers")
    assert {r["status"] for r in rows} == {"cancelled"}


async def test_concurrent_runs_fire_each_timer_once(
    client: Client, app: Litestar, database_url: str, settings: Settings
) -> None:
    clock = MovableClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    use_clock(clock, app)
    owner, org, _ = await team(client, database_url)
    body = with_sla()
    body["states"][0]["slaLadder"] = [{"at": 50, "kind": "remind"}, {"at": 90, "kind": "remind"}]
    await published(client, owner, org, definition=body)
    for _ in range(5):
        await started(client, owner, org)
    clock.advance(hours=1)
    async with timer_service(settings, clock) as one, timer_service(settings, clock) as two:
        counts = await asyncio.gather(one.fire_due(), two.fire_due(), one.fire_due())
    assert sum(counts) == 10
    effects = await fetch(database_url, "SELECT count(*) AS n FROM workflow.effects")
    assert effects[0]["n"] == 10  # one notification per timer, never two
