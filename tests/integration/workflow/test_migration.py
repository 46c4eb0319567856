"""Moving a running instance to another version of its workflow (as in Camunda): it lands
in the state of the same name or the one mapped, keeps its variables and open tasks,
takes the target state's SLA ladder for what is still ahead, and is refused whole —
nothing changed — when it cannot land."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar

from hub.kernel.clock import MovableClock
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import Person, person
from tests.integration.workflow.support import (
    INSTANCES,
    Client,
    approval,
    history,
    move,
    published,
    started,
    team,
    use_clock,
)
from tests.integration.workflow.test_timers import with_sla


def renamed(body: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """The definition with the state ``old`` called ``new``."""
    states = [{**s, "name": new} if s["name"] == old else s for s in body["states"]]
    transitions = [
        {
            **t,
            "from": [
                new if s == old else s
                for s in ([t["from"]] if isinstance(t["from"], str) else t["from"])
            ],
            "to": new if t["to"] == old else t["to"],
        }
        for t in body["transitions"]
    ]
    return {**body, "states": states, "transitions": transitions}


async def migrate(client: Client, who: Person, instance: dict[str, Any], **body: Any) -> Any:
    return await client.post(
        f"{INSTANCES}/{instance['id']}/migrate",
        json={"expectedVersion": instance["version"], **body},
        headers=who.auth,
    )


async def test_an_instance_moves_keeping_its_task_and_the_ladder_still_ahead(
    client: Client, app: Litestar, database_url: str, events: Any
) -> None:
    clock = MovableClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    use_clock(clock, app)
    owner, org, people = await team(client, database_url)
    await published(client, owner, org, definition=with_sla())
    instance = await started(client, owner, org, variables={"amount": 7})
    clock.advance(minutes=50)  # the 80 % reminder (9:48) was v1's to send
    await published(client, owner, org, definition=renamed(with_sla(), "review", "triage"))

    r = await migrate(client, owner, instance, toVersion=2)
    assert (r.status_code, r.json()["code"]) == (422, "migration_invalid")
    assert [e["field"] for e in r.json()["errors"]] == ["stateMapping"]
    r = await migrate(client, owner, instance, toVersion=2, stateMapping={"review": "triage"})
    assert r.status_code == 200, r.text
    moved = r.json()
    assert (moved["workflowVersion"], moved["state"], moved["status"]) == (2, "triage", "active")
    assert (moved["version"], moved["variables"]) == (instance["version"] + 1, {"amount": 7})
    assert moved["stateEnteredAt"] == instance["stateEnteredAt"]  # not a step: the stay goes on

    # the ladder of the target state from 9:00: 10:00 and 11:00 are ahead, 9:48 is not
    timers = await fetch(
        database_url,
        "SELECT state, kind, status, due_at, entered_version FROM workflow.timers "
        "ORDER BY status, due_at",
    )
    pending = [
        (t["state"], t["kind"], t["due_at"].hour) for t in timers if t["status"] == "pending"
    ]
    assert pending == [("triage", "escalate", 10), ("triage", "transition", 11)]
    assert {t["entered_version"] for t in timers if t["status"] == "pending"} == {moved["version"]}
    assert {t["status"] for t in timers if t["state"] == "review"} == {"cancelled"}

    # its open task now belongs to "triage" and its outcome takes v2's transition
    r = await client.get(f"{API}/tasks", params={"organisationId": org}, headers=people["ann"].auth)
    [task] = r.json()["items"]
    assert task["instanceId"] == instance["id"]
    r = await client.post(
        f"{API}/tasks/{task['id']}/complete",
        json={"outcome": "approve"},
        headers=people["ann"].auth,
    )
    assert r.status_code == 200, r.text
    r = await client.get(f"{INSTANCES}/{instance['id']}", headers=owner.auth)
    assert (r.json()["state"], r.json()["status"], r.json()["workflowVersion"]) == (
        "approved",
        "completed",
        2,
    )
    steps = await history(client, owner, instance["id"])
    assert [s["kind"] for s in steps] == ["started", "migrated", "transition"]
    assert (steps[1]["fromState"], steps[1]["toState"], steps[1]["data"]) == (
        "review",
        "triage",
        {"fromVersion": 1, "toVersion": 2},
    )
    assert (steps[1]["actorId"], steps[1]["actorType"]) == (owner.user_id, "user")
    rows = await fetch(
        database_url,
        "SELECT payload FROM workflow.outbox WHERE event_type = 'workflow.instance.migrated'",
    )
    [event] = [json.loads(r["payload"]) for r in rows]
    assert (event["fromVersion"], event["workflowVersion"]) == (1, 2)
    assert (event["fromState"], event["state"], event["actorId"]) == (
        "review",
        "triage",
        owner.user_id,
    )


async def test_a_move_that_cannot_land_is_refused_whole(client: Client, database_url: str) -> None:
    owner, org, people = await team(client, database_url)
    await published(client, owner, org, definition=with_sla())
    instance = await started(client, owner, org)
    # v2: "approve" no longer leaves review (the open task's outcome would lead nowhere)
    v2 = with_sla()
    v2["transitions"][0] = {"name": "accept", "from": "review", "to": "approved"}
    v2["states"][0]["onEnter"][0]["outcomes"] = {"approve": {"transition": "accept"}}
    await published(client, owner, org, definition=v2)
    before = await fetch(database_url, "SELECT * FROM workflow.instances")
    timers_before = await fetch(database_url, "SELECT id, status FROM workflow.timers ORDER BY id")

    r = await migrate(client, owner, instance, toVersion=2)
    assert (r.status_code, r.json()["code"]) == (422, "migration_invalid")
    [error] = r.json()["errors"]
    assert error["field"] == "toVersion"
    assert error["message"] == (
        "the open task 'Approve': its outcome 'approve' takes 'approve', which does not "
        "leave 'review' in the target version"
    )
    r = await migrate(client, owner, instance, toVersion=2, stateMapping={"review": "approved"})
    assert r.json()["errors"][0]["field"] == "stateMapping.review"
    assert "final" in r.json()["errors"][0]["message"]
    r = await migrate(
        client, owner, instance, toVersion=2, stateMapping={"review": "nowhere", "x": "y"}
    )
    assert {e["field"] for e in r.json()["errors"]} == {"stateMapping.review", "stateMapping.x"}
    r = await migrate(client, owner, instance, toVersion=1)
    assert (r.status_code, r.json()["code"]) == (422, "same_version")
    r = await migrate(client, owner, instance, toVersion=9)
    assert (r.status_code, r.json()["code"]) == (422, "unknown_version")
    assert r.json()["errors"][0]["field"] == "toVersion"
    for bad in (0, 2**31):  # a version past the 32-bit column never reaches a query
        r = await migrate(client, owner, instance, toVersion=bad)
        assert r.status_code == 400, bad
    r = await migrate(client, people["ann"], instance, toVersion=2)  # reads, does not manage
    assert (r.status_code, r.json()["code"]) == (403, "permission_denied")
    stranger = await person(client, database_url, "stranger@example.com")
    r = await migrate(client, stranger, instance, toVersion=2)
    assert r.status_code == 404
    r = await migrate(client, owner, {**instance, "version": 7}, toVersion=2)
    assert (r.status_code, r.json()["code"]) == (409, "stale_instance")

    assert await fetch(database_url, "SELECT * FROM workflow.instances") == before
    assert await fetch(database_url, "SELECT id, status FROM workflow.timers ORDER BY id") == (
        timers_before
    )
    rows = await fetch(database_url, "SELECT kind FROM workflow.history")
    assert [r["kind"] for r in rows] == ["started"]


async def test_an_ended_instance_stays_on_its_version_and_back_moves_work_too(
    client: Client, database_url: str
) -> None:
    owner, org, people = await team(client, database_url)
    await published(client, owner, org, definition=approval())
    done = await started(client, people["ann"], org)
    r = await move(client, people["ann"], done, "approve")
    assert r.status_code == 200, r.text
    await published(client, owner, org, definition=approval())
    r = await migrate(client, owner, r.json(), toVersion=2)
    assert (r.status_code, r.json()["code"]) == (409, "instance_ended")

    # an instance on v2 may move back to v1 (versions are not ordered for a move)
    running = await started(client, people["ann"], org)
    assert running["workflowVersion"] == 2
    r = await migrate(client, owner, running, toVersion=1)
    assert r.status_code == 200, r.text
    assert (r.json()["workflowVersion"], r.json()["state"]) == (1, "review")
    # the client that still holds the old version is told the instance moved
    r = await move(client, people["ann"], running, "approve")
    assert (r.status_code, r.json()["code"]) == (409, "stale_instance")


async def test_the_running_instances_of_a_version_move_a_page_at_a_time(
    client: Client, database_url: str
) -> None:
    owner, org, people = await team(client, database_url)
    await published(client, owner, org, definition=approval())
    running = [await started(client, people["ann"], org) for _ in range(3)]
    done = await started(client, people["ann"], org)
    r = await move(client, people["ann"], done, "approve")
    assert r.status_code == 200, r.text
    # one of them waits in "review" on a definition whose v2 calls it "check"
    await published(client, owner, org, definition=renamed(approval(), "review", "check"))
    url = f"{API}/workflows/invoice/migrations"
    body: dict[str, Any] = {"organisationId": org, "fromVersion": 1, "toVersion": 2}

    # without a mapping every instance is refused, and each says why
    r = await client.post(url, json={**body, "limit": 2}, headers=owner.auth)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["migrated"] == []
    assert [x["instanceId"] for x in page["refused"]] == [i["id"] for i in running[:2]]
    assert {x["code"] for x in page["refused"]} == {"migration_invalid"}
    assert page["refused"][0]["errors"][0]["field"] == "stateMapping"
    r = await client.post(
        url, json={**body, "limit": 2, "cursor": page["nextCursor"]}, headers=owner.auth
    )
    assert ([x["instanceId"] for x in r.json()["refused"]], r.json()["nextCursor"]) == (
        [running[2]["id"]],
        None,
    )

    # with it, two pages move the three running ones; the completed one stays on v1
    body["stateMapping"] = {"review": "check"}
    r = await client.post(url, json={**body, "limit": 2}, headers=owner.auth)
    first = r.json()
    r = await client.post(
        url, json={**body, "limit": 2, "cursor": first["nextCursor"]}, headers=owner.auth
    )
    assert first["migrated"] + r.json()["migrated"] == [i["id"] for i in running]
    assert r.json()["nextCursor"] is None
    rows = await fetch(
        database_url, "SELECT id, workflow_version, state FROM workflow.instances ORDER BY id"
    )
    assert {(str(x["id"]), x["workflow_version"], x["state"]) for x in rows} == {
        *((i["id"], 2, "check") for i in running),
        (done["id"], 1, "approved"),
    }
    # nothing left on v1 to move
    r = await client.post(url, json=body, headers=owner.auth)
    assert (r.json()["migrated"], r.json()["refused"], r.json()["nextCursor"]) == ([], [], None)

    for bad, code in (
        ({**body, "fromVersion": 5}, "unknown_version"),
        ({**body, "toVersion": 5}, "unknown_version"),
        ({**body, "toVersion": 1}, "same_version"),
    ):
        r = await client.post(url, json=bad, headers=owner.auth)
        assert (r.status_code, r.json()["code"]) == (422, code)
    r = await client.post(url, json={**body, "toVersion": 78539226788330}, headers=owner.auth)
    assert r.status_code == 400  # found by the contract gate: a 500 before the bound
    r = await client.post(url, json=body, headers=people["ann"].auth)
    assert r.status_code == 403
    stranger = await person(client, database_url, "stranger@example.com")
    r = await client.post(url, json=body, headers=stranger.auth)
    assert r.status_code == 404


async def test_stats_count_a_moved_stay_once_and_show_versions_and_incidents(
    client: Client, app: Litestar, database_url: str
) -> None:
    clock = MovableClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    use_clock(clock, app)
    owner, org, people = await team(client, database_url)
    await published(client, owner, org, definition=approval())
    first = await started(client, people["ann"], org)
    await started(client, people["ann"], org)
    await published(client, owner, org, definition=approval())
    url = f"{API}/workflows/invoice/stats"

    async def stats() -> dict[str, Any]:
        r = await client.get(url, params={"organisationId": org}, headers=owner.auth)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    assert (await stats())["versions"] == [{"version": 1, "active": 2}]
    clock.advance(minutes=30)
    r = await migrate(client, owner, first, toVersion=2)
    assert r.status_code == 200, r.text
    clock.advance(minutes=60)  # 10:30: both stays in review are 90 minutes long
    after = await stats()
    assert after["versions"] == [{"version": 1, "active": 1}, {"version": 2, "active": 1}]
    [review] = [s for s in after["states"] if s["state"] == "review"]
    # the moved stay goes on across the move: counted once, 90 minutes, over its SLA
    assert (review["active"], review["stays"]) == (2, 2)
    assert (review["medianSeconds"], review["slaBreaches"]) == (5400.0, 2)
    assert after["incidents"] == 0
    await fetch(
        database_url,
        "INSERT INTO workflow.effects (id, instance_id, organisation_id, kind, spec, status,"
        " error, created_at) VALUES ($1, $2::uuid, $3::uuid, 'notify', '{}', 'failed', 'x',"
        " now())",
        uuid.uuid4(),
        first["id"],
        org,
    )
    assert (await stats())["incidents"] == 1
