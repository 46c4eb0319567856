"""Cron and date triggers on the test clock: a schedule starts one instance per slot even
with two firing services, a new version re-plans; a date trigger starts "a day before at
09:00" once per document and date, follows a changed date, and ignores dates long past."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar

from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from tests.integration.communication.support_periodic import periodic_kernel
from tests.integration.content.support import custom_fields, uploaded
from tests.integration.identity.support import API, fetch
from tests.integration.workflow.support import (
    INSTANCES,
    Client,
    publish,
    published,
    team,
    use_clock,
)


def with_triggers(*triggers: dict[str, Any]) -> dict[str, Any]:
    return {
        "states": [{"name": "open", "initial": True}, {"name": "done", "final": True}],
        "transitions": [{"name": "finish", "from": "open", "to": "done"}],
        "triggers": list(triggers),
    }


async def plans(database_url: str) -> list[tuple[str, str, str]]:
    rows = await fetch(
        database_url,
        "SELECT slot_key, status, due_at FROM workflow.trigger_timers ORDER BY due_at, status",
    )
    return [(r["slot_key"], r["status"], r["due_at"].isoformat()) for r in rows]


async def instances_of(client: Client, who: Any, org: str, key: str) -> list[dict[str, Any]]:
    r = await client.get(
        INSTANCES, params={"organisationId": org, "workflowKey": key}, headers=who.auth
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_bad_timed_triggers_are_refused(client: Client, database_url: str) -> None:
    owner, org, _ = await team(client, database_url)
    await custom_fields(client, owner, org, note="string")
    body = with_triggers(
        {"cron": "every monday"},
        {"cron": "*/10 * * * * *"},  # seconds: refused
        {"dateField": "note", "offsetDays": 1.5},
        {"dateField": "missing", "documentType": "Nope", "filter": "vars.x"},
    )
    r = await publish(client, owner, org, definition=body)
    assert r.status_code == 422, r.text
    assert {e["field"] for e in r.json()["errors"]} == {
        "definition.triggers[0].cron",
        "definition.triggers[1].cron",
        "definition.triggers[2].dateField",
        "definition.triggers[2].offsetDays",
        "definition.triggers[3].dateField",
        "definition.triggers[3].documentType",
        "definition.triggers[3].filter",
    }
    assert await plans(database_url) == []


async def test_a_cron_trigger_starts_one_instance_per_slot(
    client: Client, app: Litestar, database_url: str, settings: Settings
) -> None:
    clock = MovableClock(datetime(2026, 3, 2, 7, 0, tzinfo=UTC))  # a Monday
    use_clock(clock, app)
    owner, org, _ = await team(client, database_url)
    body = with_triggers({"cron": "0 8 * * 1", "variables": {"slot": "trigger.slot"}})
    await published(client, owner, org, key="weekly", definition=body)
    first = "cron:0:2026-03-02T08:00:00+00:00"
    assert await plans(database_url) == [(first, "pending", "2026-03-02T08:00:00+00:00")]

    async with AsyncExitStack() as stack:
        one, two = [
            (await stack.enter_async_context(periodic_kernel(settings, clock))).services[
                "workflow_schedules"
            ]
            for _ in range(2)
        ]
        assert await one.fire_due() == 0  # not yet due
        clock.set(datetime(2026, 3, 2, 8, 0, 0, 500_000, tzinfo=UTC))
        counts = await asyncio.gather(one.fire_due(), two.fire_due(), one.fire_due())
        assert sum(counts) == 1  # once per slot, however many fire
        (instance,) = await instances_of(client, owner, org, "weekly")
        assert instance["subject"]["reference"] == "weekly:2026-03-02T08:00:00+00:00"
        assert instance["variables"] == {"slot": "2026-03-02T08:00:00+00:00"}
        second = "cron:0:2026-03-09T08:00:00+00:00"
        assert await plans(database_url) == [
            (first, "fired", "2026-03-02T08:00:00+00:00"),
            (second, "pending", "2026-03-09T08:00:00+00:00"),
        ]

        clock.set(datetime(2026, 3, 9, 9, 30, tzinfo=UTC))  # fired late: once, then on
        assert await two.fire_due() == 1
        assert len(await instances_of(client, owner, org, "weekly")) == 2
        (pending,) = [p for p in await plans(database_url) if p[1] == "pending"]
        assert pending[2] == "2026-03-16T08:00:00+00:00"

        body["triggers"] = [{"cron": "30 6 * * *"}]  # v2: daily at 06:30
        await published(client, owner, org, key="weekly", definition=body)
        pending_now = [p for p in await plans(database_url) if p[1] == "pending"]
        assert pending_now == [
            ("cron:0:2026-03-10T06:30:00+00:00", "pending", "2026-03-10T06:30:00+00:00")
        ]
        clock.set(datetime(2026, 3, 16, 8, 0, 1, tzinfo=UTC))
        assert await one.fire_due() == 1  # the v2 slot only: v1's row was cancelled
        statuses = [p[1] for p in await plans(database_url)]
        assert statuses.count("cancelled") == 1


async def test_a_date_trigger_starts_before_the_date_and_follows_it(
    client: Client, app: Litestar, database_url: str, settings: Settings, events: Any
) -> None:
    clock = MovableClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    use_clock(clock, app, events)
    owner, org, _ = await team(client, database_url)
    await custom_fields(client, owner, org, appointmentOn="date")

    async def dated(title: str, day: str) -> str:
        doc = await uploaded(client, owner, org, title.encode(), file_name="a.txt", title=title)
        await move_date(str(doc["id"]), day)
        return str(doc["id"])

    async def move_date(doc_id: str, day: str) -> None:
        r = await client.patch(
            f"{API}/documents/{doc_id}",
            json={"customFields": {"appointmentOn": day}},
            headers=owner.auth,
        )
        assert r.status_code == 200, r.text

    early = await dated("Dentist", "2026-03-10")  # before the workflow exists
    await events.drain()
    body = with_triggers(
        {
            "dateField": "appointmentOn",
            "offsetDays": -1,
            "offsetHours": 9,
            "variables": {"on": "trigger.date", "title": "document.title"},
        }
    )
    await published(client, owner, org, key="reminder", definition=body)
    assert await plans(database_url) == [
        (f"date:0:{early}:2026-03-10", "pending", "2026-03-09T09:00:00+00:00")
    ]
    late = await dated("Optician", "2026-03-20")
    await dated("Long ago", "2025-01-01")  # past: never started
    await events.drain()
    await move_date(late, "2026-03-25")  # moved: re-planned
    await events.drain()
    assert await plans(database_url) == [
        (f"date:0:{early}:2026-03-10", "pending", "2026-03-09T09:00:00+00:00"),
        (f"date:0:{late}:2026-03-20", "cancelled", "2026-03-19T09:00:00+00:00"),
        (f"date:0:{late}:2026-03-25", "pending", "2026-03-24T09:00:00+00:00"),
    ]

    async with periodic_kernel(settings, clock) as kernel:
        schedules = kernel.services["workflow_schedules"]
        clock.set(datetime(2026, 3, 9, 8, 59, 59, tzinfo=UTC))
        assert await schedules.fire_due() == 0
        clock.advance(seconds=1)
        assert await schedules.fire_due() == 1
        assert await schedules.fire_due() == 0  # once per document and date
        (instance,) = await instances_of(client, owner, org, "reminder")
        assert instance["subject"]["documentId"] == early
        assert instance["variables"] == {"on": "2026-03-10", "title": "Dentist"}

        r = await client.delete(f"{API}/documents/{late}", headers=owner.auth)
        assert r.status_code in (200, 204), r.text  # trashed: its reminder goes
        await events.drain()
        clock.set(datetime(2026, 3, 24, 9, 0, tzinfo=UTC))
        assert await schedules.fire_due() == 0
    assert [p[1] for p in await plans(database_url)] == ["fired", "cancelled", "cancelled"]


async def test_a_slot_whose_start_fails_is_set_aside_and_the_schedule_goes_on(
    client: Client, app: Litestar, database_url: str, settings: Settings
) -> None:
    clock = MovableClock(datetime(2026, 3, 2, 7, 0, tzinfo=UTC))
    use_clock(clock, app)
    owner, org, _ = await team(client, database_url)
    body = with_triggers({"cron": "0 8 * * *"})
    body["states"][0]["onEnter"] = [{"kind": "startWorkflow", "workflowKey": "daily"}]
    await published(client, owner, org, key="daily", definition=body)  # starts itself: fails
    async with periodic_kernel(settings, clock) as kernel:
        clock.set(datetime(2026, 3, 2, 8, 0, 1, tzinfo=UTC))
        assert await kernel.services["workflow_schedules"].fire_due() == 0
    assert await plans(database_url) == [
        ("cron:0:2026-03-02T08:00:00+00:00", "failed", "2026-03-02T08:00:00+00:00"),
        ("cron:0:2026-03-03T08:00:00+00:00", "pending", "2026-03-03T08:00:00+00:00"),
    ]
    assert await instances_of(client, owner, org, "daily") == []
