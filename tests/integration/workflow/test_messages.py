"""Messages correlated to running instances (Camunda's message correlation): a payment
provider's relay says "payment received for INV-1" and the one instance waiting for it
moves, with the message's variables merged in; a message only a message may take is
refused by hand; an ambiguous one moves nothing unless sent to all; a message nobody
waits for is a 404; what a message may not do changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Litestar

from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.integration.communication.support_periodic import periodic_kernel
from tests.integration.identity.support import API
from tests.integration.identity.support_orgs import Person, api_key, person
from tests.integration.workflow.support import (
    INSTANCES,
    Client,
    history,
    move,
    outbox,
    publish,
    published,
    started,
    team,
    use_clock,
)
from tests.support import problem

MESSAGES = f"{API}/workflow-messages"


def payment(**overrides: Any) -> dict[str, Any]:
    """awaiting → paid (message ``payment.received``, an amount covering what is due) |
    failed (message ``payment.declined``, or given up by hand)."""
    body: dict[str, Any] = {
        "states": [
            {"name": "awaiting", "initial": True},
            {"name": "paid", "final": True},
            {"name": "failed", "final": True},
        ],
        "transitions": [
            {
                "name": "paid",
                "from": "awaiting",
                "to": "paid",
                "message": "payment.received",
                "form": [{"name": "amount", "required": True}],
                "condition": "data.amount >= vars.due",
                "actions": [
                    {"kind": "setVariable", "name": "settled", "expression": "data.amount"}
                ],
            },
            {
                "name": "declined",
                "from": "awaiting",
                "to": "failed",
                "message": "payment.declined",
            },
            {"name": "giveUp", "from": "awaiting", "to": "failed"},
        ],
    }
    body.update(overrides)
    return body


async def message(client: Client, who: dict[str, str], org: str, name: str, **body: Any) -> Any:
    return await client.post(
        MESSAGES, json={"organisationId": org, "name": name, **body}, headers=who
    )


async def instance(client: Client, who: Person, instance_id: str) -> dict[str, Any]:
    r = await client.get(f"{INSTANCES}/{instance_id}", headers=who.auth)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_a_message_moves_the_one_instance_waiting_for_it(
    client: Client, database_url: str
) -> None:
    owner, org, _ = await team(client, database_url)
    await published(client, owner, org, key="payment", definition=payment())
    first = await started(
        client,
        owner,
        org,
        key="payment",
        subject={"reference": "INV-1"},
        variables={"due": 100, "orderId": "4711"},
    )
    second = await started(
        client,
        owner,
        org,
        key="payment",
        subject={"reference": "INV-2"},
        variables={"due": 50, "orderId": "4712"},
    )
    # What the instance waits for is shown; only a message takes those transitions.
    assert (first["transitions"], first["messages"]) == (
        ["giveUp"],
        ["payment.declined", "payment.received"],
    )
    r = await move(client, owner, first, "paid", {"amount": 100})
    assert (r.status_code, problem(r)["code"]) == (422, "transition_via_message")

    relay = await api_key(client, owner, ["workflow.messages.correlate"], org)
    as_relay = {"X-API-Key": relay["key"]}
    r = await message(
        client,
        as_relay,
        org,
        "payment.received",
        correlation={"reference": "INV-1"},
        variables={"amount": 120, "receiptId": "R-9"},
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["refused"], answer["more"]) == ([], False)
    (moved,) = answer["instances"]
    assert (moved["id"], moved["state"], moved["status"], moved["messages"]) == (
        first["id"],
        "paid",
        "completed",
        [],
    )
    # The message's variables are merged in, and its actions saw them as data.
    assert moved["variables"] == {
        "due": 100,
        "orderId": "4711",
        "amount": 120,
        "receiptId": "R-9",
        "settled": 120,
    }
    step = (await history(client, owner, first["id"]))[-1]
    assert (step["transition"], step["actorType"], step["actorId"]) == (
        "paid",
        "api_key",
        owner.user_id,
    )
    assert step["data"] == {"amount": 120, "receiptId": "R-9"}
    (event,) = await outbox(database_url, "workflow.message.correlated")
    assert (event["instanceId"], event["message"], event["transition"]) == (
        first["id"],
        "payment.received",
        "paid",
    )

    # INV-1 waits no more, and INV-2 is not INV-1: nobody waits for it.
    r = await message(
        client,
        as_relay,
        org,
        "payment.received",
        correlation={"reference": "INV-1"},
        variables={"amount": 120},
    )
    assert (r.status_code, problem(r)["code"]) == (404, "no_instance_waiting")
    # Found by a variable it holds; refused by its condition, or for a missing form field:
    # nothing changes.
    for variables, code in (({"amount": 10}, "condition_not_met"), ({}, "form_incomplete")):
        r = await message(
            client,
            as_relay,
            org,
            "payment.received",
            correlation={"variables": {"orderId": "4712"}},
            variables=variables,
        )
        assert (r.status_code, problem(r)["code"]) == (422, code), r.text
    unchanged = await instance(client, owner, second["id"])
    assert (unchanged["state"], unchanged["version"], unchanged["variables"]) == (
        "awaiting",
        second["version"],
        {"due": 50, "orderId": "4712"},
    )
    r = await message(
        client,
        as_relay,
        org,
        "payment.declined",
        correlation={"variables": {"orderId": "4712"}, "workflowKey": "payment"},
    )
    assert r.status_code == 200, r.text
    assert [i["state"] for i in r.json()["instances"]] == ["failed"]
    # A message no definition names, a workflow that does not wait for it.
    r = await message(client, as_relay, org, "parcel.delivered")
    assert (r.status_code, problem(r)["code"]) == (404, "no_instance_waiting")


async def test_an_ambiguous_message_moves_nothing_unless_sent_to_all(
    client: Client, database_url: str
) -> None:
    owner, org, people = await team(client, database_url)
    await published(client, owner, org, key="payment", definition=payment())
    await published(client, owner, org, key="refund", definition=payment())
    batch = [
        await started(
            client,
            owner,
            org,
            key="payment",
            subject={"reference": "BATCH-7"},
            variables={"due": due},
        )
        for due in (10, 20, 500)
    ]
    other = await started(
        client, owner, org, key="refund", subject={"reference": "BATCH-7"}, variables={"due": 1}
    )
    body: dict[str, Any] = {
        "correlation": {"reference": "BATCH-7", "workflowKey": "payment"},
        "variables": {"amount": 100},
    }
    r = await message(client, owner.auth, org, "payment.received", **body)
    assert (r.status_code, problem(r)["code"]) == (409, "ambiguous_correlation")
    assert r.json()["extra"]["instanceIds"] == [i["id"] for i in batch]
    assert [(await instance(client, owner, i["id"]))["state"] for i in batch] == ["awaiting"] * 3

    # Without the permission: 403; outside the organisation: 404. Nothing moves.
    r = await message(client, people["cy"].auth, org, "payment.received", **body, all=True)
    assert (r.status_code, problem(r)["code"]) == (403, "permission_denied")
    stranger = await person(client, database_url, "stranger@example.com")
    r = await message(client, stranger.auth, org, "payment.received", **body, all=True)
    assert r.status_code == 404

    # To all: those whose condition holds move, the one owing more is listed as refused;
    # the other workflow waiting for the same message is not touched.
    r = await message(client, owner.auth, org, "payment.received", **body, all=True)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert [(i["id"], i["state"]) for i in answer["instances"]] == [
        (batch[0]["id"], "paid"),
        (batch[1]["id"], "paid"),
    ]
    assert [(x["instanceId"], x["code"]) for x in answer["refused"]] == [
        (batch[2]["id"], "condition_not_met")
    ]
    assert answer["more"] is False
    assert (await instance(client, owner, other["id"]))["state"] == "awaiting"


async def test_message_transitions_are_checked_when_published(
    client: Client, database_url: str
) -> None:
    owner, org, _ = await team(client, database_url)
    guarded = payment()
    guarded["transitions"][1]["roles"] = ["approver"]
    badly_named = payment()
    badly_named["transitions"][1]["message"] = "Payment Declined!"
    by_task = payment()
    by_task["states"][0]["onEnter"] = [
        {
            "kind": "createTask",
            "name": "Check the payment",
            "roles": ["approver"],
            "outcomes": {"decline": {"transition": "declined"}},
        }
    ]
    for definition, path in (
        (guarded, "definition.transitions[1].roles"),
        (badly_named, "definition.transitions[1].message"),
        (by_task, "definition.states[0].onEnter[0].outcomes.decline.transition"),
    ):
        r = await publish(client, owner, org, key="payment", definition=definition)
        assert (r.status_code, problem(r)["code"]) == (422, "invalid_definition"), r.text
        assert path in [e["field"] for e in r.json()["errors"]], r.json()["errors"]
    r = await client.get(f"{API}/workflows", params={"organisationId": org}, headers=owner.auth)
    assert r.json()["items"] == []


def order(**overrides: Any) -> dict[str, Any]:
    """Started by the message ``order.placed``; received → shipped (``order.shipped``)."""
    body: dict[str, Any] = {
        "states": [
            {"name": "received", "initial": True},
            {"name": "shipped", "final": True},
        ],
        "transitions": [
            {"name": "ship", "from": "received", "to": "shipped", "message": "order.shipped"}
        ],
        "triggers": [{"message": "order.placed"}],
    }
    body.update(overrides)
    return body


async def test_a_message_nobody_waits_for_starts_the_workflow_that_starts_on_it(
    client: Client, database_url: str
) -> None:
    owner, org, people = await team(client, database_url)
    await published(client, owner, org, key="order", definition=order())
    relay = {
        "X-API-Key": (await api_key(client, owner, ["workflow.messages.correlate"], org))["key"]
    }
    body: dict[str, Any] = {
        "correlation": {"reference": "PO-4711"},
        "variables": {"total": 250, "currency": "EUR"},
    }
    retry = {**relay, "Idempotency-Key": "po-4711-placed"}
    r = await message(client, retry, org, "order.placed", **body)
    assert r.status_code == 200, r.text
    answer = r.json()
    (placed,) = answer["instances"]
    assert answer["started"] == [placed["id"]]
    assert (placed["workflowKey"], placed["state"], placed["subject"]["reference"]) == (
        "order",
        "received",
        "PO-4711",
    )
    assert placed["variables"] == {"total": 250, "currency": "EUR"}
    assert placed["messages"] == ["order.shipped"]
    (step,) = await history(client, owner, placed["id"])
    assert (step["kind"], step["actorType"], step["data"]) == (
        "started",
        "api_key",
        {"message": "order.placed"},
    )
    (event,) = await outbox(database_url, "workflow.message.correlated")
    assert (event["instanceId"], event["message"], event["transition"]) == (
        placed["id"],
        "order.placed",
        None,
    )
    # The relay's retry gets the same answer and starts nothing more.
    again = await message(client, retry, org, "order.placed", **body)
    assert (again.status_code, again.json()) == (200, answer)
    assert again.headers["idempotent-replayed"] == "true"
    r = await client.get(INSTANCES, params={"organisationId": org}, headers=owner.auth)
    assert [i["id"] for i in r.json()["items"]] == [placed["id"]]

    # The next message of the order reaches it by its reference.
    r = await message(client, relay, org, "order.shipped", correlation={"reference": "PO-4711"})
    assert [(i["id"], i["state"]) for i in r.json()["instances"]] == [(placed["id"], "shipped")]
    assert r.json()["started"] == []

    # A start needs a subject the sender names, and one the caller may use; a message
    # about a running instance (its id, its variables) starts nothing.
    for correlation in ({}, {"reference": "PO-1", "variables": {"total": 1}}):
        r = await message(client, relay, org, "order.placed", correlation=correlation)
        assert (r.status_code, problem(r)["code"]) == (404, "no_instance_waiting"), correlation
    r = await message(
        client,
        relay,
        org,
        "order.placed",
        correlation={"documentId": "00000000-0000-7000-8000-000000000000"},
    )
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "correlation.documentId")
    # Two workflows starting on it: name one, or start both with `all`.
    await published(client, owner, org, key="audit", definition=order())
    r = await message(client, relay, org, "order.placed", correlation={"reference": "PO-9"})
    assert (r.status_code, problem(r)["code"]) == (409, "ambiguous_correlation")
    assert r.json()["extra"]["workflowKeys"] == ["audit", "order"]
    r = await message(
        client, relay, org, "order.placed", correlation={"reference": "PO-9"}, all=True
    )
    assert sorted(i["workflowKey"] for i in r.json()["instances"]) == ["audit", "order"]
    # A plain member may not send messages.
    r = await message(
        client, people["cy"].auth, org, "order.placed", correlation={"reference": "PO-10"}
    )
    assert (r.status_code, problem(r)["code"]) == (403, "permission_denied")


async def test_a_message_sent_too_early_is_kept_for_the_instance_that_comes_to_wait(
    client: Client,
    app: Litestar,
    database_url: str,
    events: InProcessWorker,
    settings: Settings,
) -> None:
    owner, org, _ = await team(client, database_url)
    clock = MovableClock(datetime.now(UTC))
    use_clock(clock, app, events)
    await published(client, owner, org, key="payment", definition=payment())
    relay = {
        "X-API-Key": (await api_key(client, owner, ["workflow.messages.correlate"], org))["key"]
    }
    early: dict[str, Any] = {
        "correlation": {"reference": "INV-7"},
        "variables": {"amount": 100},
        "timeToLiveSeconds": 3600,
    }
    r = await message(client, relay, org, "payment.received", **early)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["instances"], answer["started"]) == ([], [])
    kept = answer["buffered"]
    assert (kept["name"], kept["reference"], kept["variables"], kept["senderType"]) == (
        "payment.received",
        "INV-7",
        {"amount": 100},
        "api_key",
    )
    r = await client.get(MESSAGES, params={"organisationId": org}, headers=owner.auth)
    assert [m["id"] for m in r.json()["items"]] == [kept["id"]]

    # Another order's instance does not take it; INV-7's does, as soon as it waits.
    other = await started(
        client, owner, org, key="payment", subject={"reference": "INV-8"}, variables={"due": 1}
    )
    invoice = await started(
        client, owner, org, key="payment", subject={"reference": "INV-7"}, variables={"due": 100}
    )
    await events.drain()
    assert (await instance(client, owner, other["id"]))["state"] == "awaiting"
    paid = await instance(client, owner, invoice["id"])
    assert (paid["state"], paid["variables"]["amount"]) == ("paid", 100)
    step = (await history(client, owner, invoice["id"]))[-1]
    assert (step["transition"], step["actorType"], step["actorId"]) == (
        "paid",
        "api_key",
        owner.user_id,
    )
    r = await client.get(MESSAGES, params={"organisationId": org}, headers=owner.auth)
    assert r.json()["items"] == []
    (event,) = await outbox(database_url, "workflow.message.correlated")
    assert (event["instanceId"], event["transition"]) == (invoice["id"], "paid")

    # One its condition refuses stays kept for another instance, until it expires.
    short = {**early, "correlation": {"reference": "INV-9"}, "variables": {"amount": 1}}
    kept = (await message(client, relay, org, "payment.received", **short)).json()["buffered"]
    owing = await started(
        client, owner, org, key="payment", subject={"reference": "INV-9"}, variables={"due": 50}
    )
    await events.drain()
    assert (await instance(client, owner, owing["id"]))["state"] == "awaiting"
    r = await client.get(MESSAGES, params={"organisationId": org}, headers=owner.auth)
    assert [m["id"] for m in r.json()["items"]] == [kept["id"]]
    clock.advance(seconds=3601)
    late = await started(
        client, owner, org, key="payment", subject={"reference": "INV-9"}, variables={"due": 0}
    )
    await events.drain()
    assert (await instance(client, owner, late["id"]))["state"] == "awaiting"
    r = await client.get(MESSAGES, params={"organisationId": org}, headers=owner.auth)
    assert r.json()["items"] == []
    async with periodic_kernel(settings, clock) as kernel:  # the daily job, run here
        assert await kernel.services["workflow_messages"].purge_expired() == 1

    # Kept messages go to one instance: not with `all`. One may be forgotten by hand.
    r = await message(client, relay, org, "payment.received", **early, all=True)
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "timeToLiveSeconds")
    again = (await message(client, relay, org, "payment.declined", **early)).json()["buffered"]
    stranger = await person(client, database_url, "stranger@example.com")
    r = await client.delete(f"{MESSAGES}/{again['id']}", headers=stranger.auth)
    assert (r.status_code, problem(r)["code"]) == (404, "not_found")
    r = await client.delete(f"{MESSAGES}/{again['id']}", headers=owner.auth)
    assert r.status_code == 204
    r = await client.delete(f"{MESSAGES}/{again['id']}", headers=owner.auth)
    assert r.status_code == 404
