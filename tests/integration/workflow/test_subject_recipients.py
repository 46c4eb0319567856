"""``notify`` to people the subject document names: ``subjectOwner`` (its uploader) and
``fieldUsers`` (members held in its custom fields, such as a patient). Refused at save
when malformed; at run time only those people are told, current members only."""

from __future__ import annotations

import json
from typing import Any

from tests.integration.content.support import custom_fields, uploaded
from tests.integration.identity.support import fetch
from tests.integration.workflow.support import (
    Client,
    approval,
    move,
    publish,
    published,
    started,
    team,
    titles,
)


async def test_bad_subject_recipients_are_refused(client: Client, database_url: str) -> None:
    owner, org, _ = await team(client, database_url)
    await custom_fields(client, owner, org, reviewer="member")
    body = approval()
    body["transitions"][0]["actions"] = [
        {"kind": "notify", "templateKey": "general.announcement", "to": to}
        for to in (
            {"subjectOwner": "yes"},
            {"fieldUsers": ["missing"]},
            {"fieldUsers": "reviewer"},
            {"subjectOwner": False, "fieldUsers": []},
        )
    ]
    r = await publish(client, owner, org, definition=body)
    assert r.status_code == 422, r.text
    at = "definition.transitions[0].actions"
    assert {
        f"{at}[0].to.subjectOwner",
        f"{at}[1].to.fieldUsers[0]",
        f"{at}[2].to.fieldUsers",
        f"{at}[3].to",
    } <= {e["field"] for e in r.json()["errors"]}
    rows = await fetch(database_url, "SELECT count(*) AS n FROM workflow.definitions")
    assert rows[0]["n"] == 0


async def test_the_subjects_owner_and_the_member_its_field_names_are_told(
    client: Client, database_url: str, events: Any
) -> None:
    owner, org, people = await team(client, database_url)
    await custom_fields(client, owner, org, reviewer="member")
    body = approval()
    body["transitions"][0]["actions"] = [
        {
            "kind": "notify",
            "templateKey": "general.announcement",
            "to": {"subjectOwner": True, "fieldUsers": ["reviewer"]},
            "payload": {"title": "Approved", "text": "The invoice was approved."},
        }
    ]
    await published(client, owner, org, definition=body)
    doc = await uploaded(
        client,
        owner,
        org,
        b"invoice 8",
        title="Invoice 8",
        custom_fields=json.dumps({"reviewer": people["bob"].user_id}),
    )
    ann = people["ann"]
    instance = await started(
        client, ann, org, subject={"documentId": doc["id"]}, variables={"amount": 5}
    )
    r = await move(client, ann, instance, "approve")
    assert r.status_code == 200, r.text
    await events.drain()
    assert await titles(client, owner) == ["Approved"]  # the document's owner
    assert await titles(client, people["bob"]) == ["Approved"]  # named by its field
    assert await titles(client, ann) == []  # the starter is not named
    assert await titles(client, people["cy"]) == []
