"""The actions reaching beyond the instance: ``setType``, ``setField`` (a value or a CEL
expression), ``setAccess`` (sealed bids: a supplier's offer readable only by them until
the deadline, then by the evaluation committee) and ``startWorkflow`` (same subject,
variables, one transaction). Refused at save with every problem listed; effects run
after the transition committed, through ``hub.content.api``."""

from __future__ import annotations

from typing import Any

from tests.integration.content.support import custom_fields, document_type, uploaded
from tests.integration.identity.support import API, fetch
from tests.integration.workflow.support import (
    INSTANCES,
    Client,
    move,
    publish,
    published,
    role,
    started,
    team,
)


def two_states(actions: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "states": [{"name": "open", "initial": True}, {"name": "done", "final": True}],
        "transitions": [{"name": "finish", "from": "open", "to": "done", "actions": actions}],
        **extra,
    }


async def test_bad_actions_are_refused_with_every_problem(
    client: Client, database_url: str
) -> None:
    owner, org, _ = await team(client, database_url)
    await custom_fields(client, owner, org, dueOn="date")
    body = two_states(
        [
            {"kind": "setType", "documentType": "Nonexistent"},
            {"kind": "setField", "field": "missing", "value": 1},
            {"kind": "setField", "field": "dueOn", "value": "x", "expression": "1"},
            {"kind": "setField", "field": "dueOn", "expression": "vars."},
            {"kind": "setAccess"},
            {"kind": "setAccess", "grant": {"roles": ["nobody"], "access": "admin"}},
            {"kind": "setAccess", "revoke": {"userIds": ["not-a-uuid"]}, "restricted": "yes"},
            {"kind": "startWorkflow", "workflowKey": "elsewhere"},
            {"kind": "startWorkflow", "workflowKey": "invoice", "variables": {"a": "__import__"}},
        ]
    )
    r = await publish(client, owner, org, definition=body)
    assert r.status_code == 422, r.text
    fields = {e["field"] for e in r.json()["errors"]}
    at = "definition.transitions[0].actions"
    assert {
        f"{at}[0].documentType",
        f"{at}[1].field",
        f"{at}[2]",
        f"{at}[3].expression",
        f"{at}[4]",
        f"{at}[5].grant.roles[0]",
        f"{at}[5].grant.access",
        f"{at}[6].revoke.userIds[0]",
        f"{at}[6].restricted",
        f"{at}[7].workflowKey",
        f"{at}[8].variables.a",
    } <= fields
    rows = await fetch(database_url, "SELECT count(*) AS n FROM workflow.definitions")
    assert rows[0]["n"] == 0  # nothing stored


async def test_set_type_and_fields_of_the_subject(
    client: Client, database_url: str, events: Any
) -> None:
    owner, org, _ = await team(client, database_url)
    invoice = await document_type(client, owner, org, "Invoice")
    await custom_fields(client, owner, org, approvedOn="date", amount="integer", note="string")
    body = two_states(
        [
            {"kind": "setType", "documentType": "invoice"},
            {"kind": "setField", "field": "approvedOn", "value": "2026-03-02"},
            {"kind": "setField", "field": "amount", "expression": "vars.amount * 2"},
            {"kind": "setField", "field": "note", "value": None},
        ]
    )
    await published(client, owner, org, definition=body)
    doc = await uploaded(client, owner, org, b"inv", file_name="inv.txt", title="Inv")
    r = await client.patch(
        f"{API}/documents/{doc['id']}", json={"customFields": {"note": "x"}}, headers=owner.auth
    )
    assert r.status_code == 200, r.text
    instance = await started(client, owner, org, subject={"documentId": doc["id"]})
    assert (await move(client, owner, instance, "finish")).status_code == 200
    await events.drain()
    r = await client.get(f"{API}/documents/{doc['id']}", headers=owner.auth)
    assert r.json()["documentTypeId"] == invoice
    assert r.json()["customFields"] == {"approvedOn": "2026-03-02", "amount": 200}
    rows = await fetch(database_url, "SELECT kind, status FROM workflow.effects ORDER BY kind")
    assert {(row["kind"], row["status"]) for row in rows} == {
        ("setField", "done"),
        ("setType", "done"),
    }


async def test_an_effect_content_refuses_fails_with_its_reason(
    client: Client, database_url: str, events: Any
) -> None:
    owner, org, _ = await team(client, database_url)
    await custom_fields(client, owner, org, amount="integer")
    body = two_states([{"kind": "setField", "field": "amount", "value": "many"}])
    await published(client, owner, org, definition=body)
    doc = await uploaded(client, owner, org, b"inv", file_name="inv.txt", title="Inv")
    instance = await started(client, owner, org, subject={"documentId": doc["id"]})
    assert (await move(client, owner, instance, "finish")).status_code == 200
    await events.drain()
    rows = await fetch(database_url, "SELECT status, error FROM workflow.effects")
    assert rows[0]["status"] == "failed"
    assert "amount" in rows[0]["error"]
    r = await client.get(f"{API}/documents/{doc['id']}", headers=owner.auth)
    assert r.json()["customFields"] == {}


async def test_sealed_bids_open_to_the_committee_at_the_deadline(
    client: Client, database_url: str, events: Any
) -> None:
    owner, org, people = await team(client, database_url)
    await role(client, owner, org, "Committee", ["content.documents.read"])
    await role(client, owner, org, "Supplier", ["content.documents.write"])
    cy, supplier = people["cy"], people["ann"]
    for who, roles in ((cy, ["Committee"]), (supplier, ["Approver", "Supplier"])):
        r = await client.patch(
            f"{API}/orgs/{org}/members/{who.user_id}", json={"roles": roles}, headers=owner.auth
        )
        assert r.status_code == 200, r.text
    body = {
        "states": [
            {
                "name": "sealed",
                "initial": True,
                "onEnter": [{"kind": "setAccess", "restricted": True}],
            },
            {"name": "opened", "final": True},
        ],
        "transitions": [
            {
                "name": "open",
                "from": "sealed",
                "to": "opened",
                "actions": [
                    {
                        "kind": "setAccess",
                        "grant": {"roles": ["committee"], "access": "view"},
                        "revoke": {"userIds": [people["bob"].user_id]},
                    }
                ],
            }
        ],
    }
    await published(client, owner, org, key="offer", definition=body)
    offer = await uploaded(client, supplier, org, b"bid", file_name="bid.txt", title="Bid")
    r = await client.put(
        f"{API}/documents/{offer['id']}/permissions",
        json={"restricted": False, "shares": [{"userId": people["bob"].user_id, "access": "view"}]},
        headers=supplier.auth,
    )
    assert r.status_code == 200, r.text
    doc_url = f"{API}/documents/{offer['id']}"
    assert (await client.get(doc_url, headers=cy.auth)).status_code == 200  # not yet sealed
    instance = await started(client, owner, org, key="offer", subject={"documentId": offer["id"]})
    await events.drain()
    assert (await client.get(doc_url, headers=supplier.auth)).status_code == 200
    assert (await client.get(doc_url, headers=cy.auth)).status_code == 404  # sealed
    assert (await client.get(doc_url, headers=people["bob"].auth)).status_code == 200  # share

    r = await client.get(f"{INSTANCES}/{instance['id']}", headers=owner.auth)
    assert (await move(client, owner, r.json(), "open")).status_code == 200
    await events.drain()
    assert (await client.get(doc_url, headers=cy.auth)).status_code == 200  # the committee
    assert (await client.get(doc_url, headers=people["bob"].auth)).status_code == 404  # revoked
    assert (await client.get(doc_url, headers=supplier.auth)).status_code == 200
    r = await client.get(f"{doc_url}/permissions", headers=supplier.auth)
    assert r.json()["restricted"] is True
    assert [s["access"] for s in r.json()["shares"]] == ["view"]
    rows = await fetch(
        database_url,
        "SELECT payload FROM content.outbox WHERE event_type = 'content.document.shared'",
    )
    assert len(rows) == 3  # the supplier's share, the seal, the opening


async def test_start_workflow_on_the_same_subject_in_the_same_step(
    client: Client, database_url: str
) -> None:
    owner, org, _ = await team(client, database_url)
    archive = two_states([])
    await published(client, owner, org, key="archive", definition=archive)
    body = two_states(
        [
            {
                "kind": "startWorkflow",
                "workflowKey": "archive",
                "variables": {"amount": "vars.amount + 1", "by": "data.who"},
            }
        ]
    )
    await published(client, owner, org, key="invoice", definition=body)
    instance = await started(client, owner, org, variables={"amount": 41})
    r = await move(client, owner, instance, "finish", {"who": "ann"})
    assert r.status_code == 200, r.text
    r = await client.get(
        INSTANCES, params={"organisationId": org, "workflowKey": "archive"}, headers=owner.auth
    )
    (child,) = r.json()["items"]
    assert child["subject"] == {"documentId": None, "reference": "INV-1"}
    assert child["variables"] == {"amount": 42, "by": "ann"}
    steps = await fetch(
        database_url,
        "SELECT actor_type, data FROM workflow.history h JOIN workflow.instances i "
        "ON i.id = h.instance_id WHERE i.workflow_key = 'archive'",
    )
    assert steps[0]["actor_type"] == "system"
    assert "parentInstanceId" in str(steps[0]["data"])


async def test_a_workflow_starting_itself_stops_at_the_chain_limit(
    client: Client, database_url: str
) -> None:
    owner, org, _ = await team(client, database_url)
    body = {
        "states": [
            {
                "name": "open",
                "initial": True,
                "onEnter": [{"kind": "startWorkflow", "workflowKey": "invoice"}],
            },
            {"name": "done", "final": True},
        ],
        "transitions": [{"name": "finish", "from": "open", "to": "done"}],
    }
    await published(client, owner, org, definition=body)  # may name itself
    r = await client.post(
        INSTANCES,
        json={"organisationId": org, "workflowKey": "invoice", "subject": {"reference": "x"}},
        headers=owner.auth,
    )
    assert r.status_code == 422
    assert r.json()["code"] == "action_failed"
    rows = await fetch(database_url, "SELECT count(*) AS n FROM workflow.instances")
    assert rows[0]["n"] == 0  # nothing half-started
