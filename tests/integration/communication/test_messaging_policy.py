"""An organisation's messaging policy by role: set over HTTP (tenant isolation, 422s),
then enforced when a conversation is started or people are added to one."""

from __future__ import annotations

from typing import Any

from tests.integration.communication.support import Client
from tests.integration.communication.support_conversations import CONVERSATIONS
from tests.integration.content.support import role
from tests.integration.identity.support import API
from tests.integration.identity.support_orgs import create_org, join, person
from tests.support import problem

RULES = {"rules": [{"role": "patient", "mayMessage": ["doctor"]}]}


async def start(client: Client, who: Any, org: str, *others: Any, **fields: Any) -> Any:
    body = {"organisationId": org, "participantIds": [p.user_id for p in others], **fields}
    return await client.post(CONVERSATIONS, json=body, headers=who.auth)


async def test_patients_message_doctors_not_one_another(client: Client, database_url: str) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    await role(client, owner, org, "doctor", ["identity.org.read"])
    await role(client, owner, org, "patient", ["identity.org.read"])
    doctor = await join(client, database_url, org, owner, "doctor@example.com", ["doctor"])
    ann = await join(client, database_url, org, owner, "ann@example.com", ["patient"])
    bob = await join(client, database_url, org, owner, "bob@example.com", ["patient"])
    stranger = await person(client, database_url, "stranger@example.com")
    url = f"{API}/orgs/{org}/messaging-policy"

    # no rule yet: anyone messages anyone
    assert (await client.get(url, headers=ann.auth)).json() == {"rules": []}
    r = await start(client, ann, org, bob)
    assert r.status_code == 201, r.text
    before = r.json()["id"]

    r = await client.put(url, json=RULES, headers=owner.auth)
    assert r.status_code == 200, r.text
    assert r.json() == {"rules": [{"role": "patient", "mayMessage": ["doctor"]}]}
    assert (await client.get(url, headers=ann.auth)).json() == r.json()
    # only communication.settings.manage sets it; outsiders see nothing; names are checked
    assert (await client.put(url, json={"rules": []}, headers=ann.auth)).status_code == 403
    assert (await client.get(url, headers=stranger.auth)).status_code == 404
    assert (await client.put(url, json=RULES, headers=stranger.auth)).status_code == 404
    r = await client.put(
        url, json={"rules": [{"role": "patient", "mayMessage": ["nurse"]}]}, headers=owner.auth
    )
    assert r.status_code == 422
    assert problem(r)["errors"][0]["field"] == "rules[0].mayMessage[0]"
    r = await client.put(
        url, json={"rules": [{"role": "patient", "mayMessage": []}]}, headers=owner.auth
    )
    assert r.status_code == 400  # the schema: at least one role

    # enforced: a patient with another patient, in any conversation, whoever starts it
    r = await start(client, ann, org, bob)
    assert (r.status_code, problem(r)["code"]) == (403, "messaging_not_allowed")
    assert problem(r)["errors"][0]["field"] == "participantIds[0]"
    r = await start(client, doctor, org, ann, bob, kind="group", title="Patients")
    assert (r.status_code, problem(r)["code"]) == (403, "messaging_not_allowed")
    assert (await start(client, ann, org, doctor)).status_code == 201
    r = await start(client, doctor, org, ann, kind="group", title="Follow-up")
    assert r.status_code == 201, r.text
    group = r.json()["id"]
    r = await client.post(
        f"{CONVERSATIONS}/{group}/participants",
        json={"userIds": [bob.user_id]},
        headers=doctor.auth,
    )
    assert (r.status_code, problem(r)["code"]) == (403, "messaging_not_allowed")
    assert problem(r)["errors"][0]["field"] == "userIds[0]"
    # the owner holds a role without a rule: not restricted, but a patient may not reach them
    assert (await start(client, ann, org, owner)).status_code == 403
    # a conversation started before the rule is left as it is
    r = await client.post(
        f"{CONVERSATIONS}/{before}/messages", json={"body": "still here"}, headers=bob.auth
    )
    assert r.status_code == 201, r.text

    # lifted: the rules replaced by none
    r = await client.put(url, json={"rules": []}, headers=owner.auth)
    assert r.json() == {"rules": []}
    r = await start(client, doctor, org, ann, bob, kind="group", title="Patients")
    assert r.status_code == 201, r.text

    # another organisation's rules are its own
    other = (await create_org(client, stranger, "Other"))["id"]
    assert (
        await client.get(f"{API}/orgs/{other}/messaging-policy", headers=stranger.auth)
    ).json() == {"rules": []}
