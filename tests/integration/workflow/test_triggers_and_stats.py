"""Triggers (an uploaded invoice starts an approval, once per event, whatever the
redeliveries) and the statistics of a workflow."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Litestar

from hub.kernel.clock import MovableClock
from hub.kernel.events import EventEnvelope
from hub.kernel.settings import Settings
from tests.integration.communication.support_periodic import periodic_kernel
from tests.integration.content.support import uploaded
from tests.integration.identity.support import fetch
from tests.integration.workflow.support import (
    INSTANCES,
    WORKFLOWS,
    Client,
    approval,
    history,
    move,
    publish,
    published,
    started,
    team,
    use_clock,
)


def triggered() -> dict[str, Any]:
    return approval(
        triggers=[
            {
                "event": "content.document.uploaded",
                "filter": "event.title.startsWith('Invoice')",
                "variables": {"amount": "size(event.title)", "title": "event.title"},
            }
        ]
    )


async def test_an_upload_starts_an_instance_once(
    client: Client, database_url: str, events: Any, settings: Settings
) -> None:
    owner, org, people = await team(client, database_url)
    await published(client, owner, org, definition=triggered())
    invoice = await uploaded(client, owner, org, b"total 42", file_name="i.txt", title="Invoice 9")
    await uploaded(client, owner, org, b"hello", file_name="n.txt", title="Notes")
    await events.drain()

    r = await client.get(INSTANCES, params={"organisationId": org}, headers=owner.auth)
    (instance,) = r.json()["items"]
    assert instance["subject"]["documentId"] == invoice["id"]
    assert instance["variables"] == {"amount": 9, "title": "Invoice 9"}
    assert instance["startedBy"] == owner.user_id  # the uploader: four eyes apply to them
    (first,) = await history(client, owner, instance["id"])
    assert (first["actorType"], first["actorId"]) == ("system", owner.user_id)

    # The same event handled again (a redelivery past the inbox) starts nothing.
    (row,) = await fetch(
        database_url,
        "SELECT trigger_event_id, organisation_id FROM workflow.instances",
    )
    envelope = EventEnvelope(
        event_id=row["trigger_event_id"],
        event_type="content.document.uploaded",
        event_version=1,
        source="content",
        occurred_at=datetime.now(UTC),
        actor_id=None,
        organisation_id=row["organisation_id"],
        correlation_id=None,
        payload={"documentId": invoice["id"], "title": "Invoice 9", "fileName": "i.txt"},
    )
    async with periodic_kernel(settings, MovableClock()) as kernel:
        service = kernel.services["workflow_triggers"]
        async with kernel.services["workflow_instances"].store.uow() as uow:
            assert await service.on_event(envelope, uow) == 0
            await uow.commit()
    count = await fetch(database_url, "SELECT count(*) AS n FROM workflow.instances")
    assert count[0]["n"] == 1
    r = await move(client, people["ann"], instance, "approve")
    assert r.status_code == 200, r.text


async def test_triggers_are_validated(client: Client, database_url: str) -> None:
    owner, org, _ = await team(client, database_url)
    body = approval(
        triggers=[
            {"event": "content.document.teleported"},
            {"event": "workflow.instance.completed"},
            {"event": "content.document.uploaded", "filter": "event.__class__"},
            {"event": "content.document.uploaded", "variables": {"x": "os.getcwd()"}},
        ]
    )
    r = await publish(client, owner, org, definition=body)
    assert r.status_code == 422
    fields = [e["field"] for e in r.json()["errors"]]
    assert fields == [
        "definition.triggers[0].event",
        "definition.triggers[1].event",
        "definition.triggers[2].filter",
        "definition.triggers[3].variables.x",
    ]


async def test_stats(client: Client, app: Litestar, database_url: str) -> None:
    clock = MovableClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    use_clock(clock, app)
    owner, org, people = await team(client, database_url)
    await published(client, owner, org)  # review has a 60-minute SLA
    quick = await started(client, owner, org)
    await started(client, owner, org)
    cancelled = await started(client, owner, org)
    clock.advance(minutes=30)
    assert (await move(client, people["ann"], quick, "approve")).status_code == 200
    r = await client.post(
        f"{INSTANCES}/{cancelled['id']}/cancel", json={"expectedVersion": 1}, headers=owner.auth
    )
    assert r.status_code == 200
    clock.advance(minutes=60)  # the slow one has been in review for 90 minutes

    r = await client.get(
        f"{WORKFLOWS}/invoice/stats", params={"organisationId": org}, headers=people["ann"].auth
    )
    assert r.status_code == 200, r.text
    stats = r.json()
    assert stats["byStatus"] == {"active": 1, "completed": 1, "cancelled": 1}
    (review,) = stats["states"]
    assert review["state"] == "review"
    assert (review["active"], review["stays"], review["slaBreaches"]) == (1, 3, 1)
    assert review["medianSeconds"] == 1800.0  # 30, 30 and 90 minutes
    assert stats["slaBreaches"] == 1
    r = await client.get(
        f"{WORKFLOWS}/nope/stats", params={"organisationId": org}, headers=owner.auth
    )
    assert r.status_code == 404


async def test_a_trigger_dropped_by_a_newer_version_starts_nothing(
    client: Client, database_url: str, events: Any
) -> None:
    owner, org, _ = await team(client, database_url)
    await published(client, owner, org, definition=triggered())
    await published(client, owner, org, definition=approval())  # v2: no trigger
    await uploaded(client, owner, org, b"total 42", file_name="i.txt", title="Invoice 9")
    await events.drain()
    r = await client.get(INSTANCES, params={"organisationId": org}, headers=owner.auth)
    assert r.json()["items"] == []  # v1's trigger is gone with v1
