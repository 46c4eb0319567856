"""Definitions through HTTP: publish versions, read them, every problem in one 422, the
permission rule."""

from __future__ import annotations

from tests.integration.workflow.support import (
    WORKFLOWS,
    Client,
    approval,
    publish,
    published,
    team,
)


async def test_publish_versions_and_read_them(client: Client, database_url: str) -> None:
    owner, org, people = await team(client, database_url)
    v1 = await published(client, owner, org)
    assert (v1["key"], v1["version"]) == ("invoice", 1)
    assert v1["publishedBy"] == owner.user_id
    v2 = await published(client, owner, org, definition=approval(description="second"))
    assert v2["version"] == 2
    await published(client, owner, org, key="leave")

    ann = people["ann"]
    r = await client.get(WORKFLOWS, params={"organisationId": org}, headers=ann.auth)
    assert r.status_code == 200, r.text
    assert [(w["key"], w["version"]) for w in r.json()["items"]] == [("invoice", 2), ("leave", 1)]
    r = await client.get(WORKFLOWS, params={"organisationId": org, "limit": 1}, headers=ann.auth)
    cursor = r.json()["nextCursor"]
    r = await client.get(
        WORKFLOWS, params={"organisationId": org, "limit": 1, "cursor": cursor}, headers=ann.auth
    )
    assert [w["key"] for w in r.json()["items"]] == ["leave"]
    assert r.json()["nextCursor"] is None

    r = await client.get(f"{WORKFLOWS}/invoice", params={"organisationId": org}, headers=ann.auth)
    assert r.status_code == 200
    assert r.json()["version"] == 2
    assert r.json()["definition"]["description"] == "second"
    r = await client.get(
        f"{WORKFLOWS}/invoice/versions", params={"organisationId": org}, headers=ann.auth
    )
    assert [v["version"] for v in r.json()["items"]] == [2, 1]
    r = await client.get(f"{WORKFLOWS}/nope", params={"organisationId": org}, headers=ann.auth)
    assert r.status_code == 404
    r = await client.get(
        f"{WORKFLOWS}/nope/versions", params={"organisationId": org}, headers=ann.auth
    )
    assert r.status_code == 404


async def test_every_problem_is_listed_in_one_422(client: Client, database_url: str) -> None:
    owner, org, _ = await team(client, database_url)
    body = approval()
    body["states"].append({"name": "limbo"})
    body["states"].append({"name": "draft", "initial": True})
    body["states"][0]["onEnter"] = [{"kind": "launchRockets"}]
    body["transitions"][0]["roles"] = ["approver", "ghosts"]
    body["transitions"][0]["condition"] = "vars.amount.__class__"
    body["transitions"][1]["permission"] = "no.such.permission"
    body["transitions"].append({"name": "reopen", "from": "approved", "to": "review"})
    r = await publish(client, owner, org, definition=body)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "invalid_definition"
    assert r.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"]: e["message"] for e in problem["errors"]}
    assert "ghosts" in fields["definition.transitions[0].roles[1]"]
    assert "__" in fields["definition.transitions[0].condition"]
    assert "no.such.permission" in fields["definition.transitions[1].permission"]
    assert "final state" in fields["definition.transitions[2].from[0]"]
    assert "launchRockets" in fields["definition.states[0].onEnter[0].kind"]
    messages = [e["message"] for e in problem["errors"]]
    assert any("several initial states" in m for m in messages)
    assert any("'limbo' is unreachable" in m for m in messages)
    assert len(problem["errors"]) >= 7
    # nothing was stored
    r = await client.get(WORKFLOWS, params={"organisationId": org}, headers=owner.auth)
    assert r.json()["items"] == []


async def test_expressions_that_try_to_reach_python_are_refused(
    client: Client, database_url: str
) -> None:
    owner, org, _ = await team(client, database_url)
    for source in ['__import__("os").system("id")', "vars.x.__globals__", "open('/etc/passwd')"]:
        body = approval()
        body["transitions"][0]["condition"] = source
        r = await publish(client, owner, org, definition=body)
        assert r.status_code == 422, (source, r.text)
        assert r.json()["errors"][0]["field"] == "definition.transitions[0].condition"


async def test_the_permission_rule(client: Client, database_url: str) -> None:
    owner, org, people = await team(client, database_url)
    r = await publish(client, people["ann"], org)
    assert r.status_code == 403
    assert r.json()["extra"]["permission"] == "workflow.definitions.manage"
    stranger_org = org[:-1] + ("0" if org[-1] != "0" else "1")
    r = await publish(client, owner, stranger_org)
    assert r.status_code == 404
    r = await client.get(WORKFLOWS, params={"organisationId": org})
    assert r.status_code == 401


YAML = """
states:
  - {name: review, initial: true, slaMinutes: 60}
  - {name: approved, final: true}
transitions:
  - name: approve
    from: review
    to: approved
    roles: [approver]
    condition: vars.amount < 1000
"""


async def test_definitions_written_as_yaml(client: Client, database_url: str) -> None:
    owner, org, _ = await team(client, database_url)
    v1 = await published(client, owner, org, definition=YAML)
    assert v1["definition"]["transitions"][0]["roles"] == ["approver"]
    assert v1["definition"]["states"][0] == {"name": "review", "initial": True, "slaMinutes": 60}

    r = await publish(client, owner, org, definition=YAML.replace("approver", "ghosts"))
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["definition.transitions[0].roles[0]"]
    r = await publish(client, owner, org, definition="states: [unclosed")
    assert r.status_code == 422
    assert "not valid YAML" in r.json()["errors"][0]["message"]
    bomb = 'a: &a ["x", "x"]\nb: &b [*a, *a]\nc: &c [*b, *b]\nstates: [*c, *c]\n'
    r = await publish(client, owner, org, definition=bomb)
    assert r.status_code == 422
    assert "aliases" in r.json()["errors"][0]["message"]
    r = await publish(client, owner, org, definition="- just\n- a list\n")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "definition"
