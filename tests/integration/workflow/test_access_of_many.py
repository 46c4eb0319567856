"""``setAccess`` with a ``documents`` selector (every document sharing the subject's value
of a custom field, of one type): its bad shapes are refused at save with every problem
named, and nothing is stored. The procurement story (tests/integration/packs) runs it: the
deadline opens a consultation's offers to the committee."""

from __future__ import annotations

from typing import Any

from tests.integration.content.support import custom_fields
from tests.integration.identity.support import fetch
from tests.integration.workflow.support import Client, publish, team


def two_states(actions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "states": [{"name": "open", "initial": True}, {"name": "done", "final": True}],
        "transitions": [{"name": "finish", "from": "open", "to": "done", "actions": actions}],
    }


async def test_bad_document_selectors_are_refused_with_every_problem(
    client: Client, database_url: str
) -> None:
    owner, org, _ = await team(client, database_url)
    await custom_fields(client, owner, org, reference="text")
    grant = {"roles": ["owner"], "access": "view"}
    body = two_states(
        [
            {"kind": "setAccess", "grant": grant, "documents": "reference"},
            {"kind": "setAccess", "grant": grant, "documents": {"field": "missing"}},
            {
                "kind": "setAccess",
                "grant": grant,
                "documents": {"field": "reference", "documentType": "Nonexistent", "x": 1},
            },
        ]
    )
    r = await publish(client, owner, org, definition=body)
    assert r.status_code == 422, r.text
    at = "definition.transitions[0].actions"
    assert {e["field"] for e in r.json()["errors"]} == {
        f"{at}[0].documents",
        f"{at}[1].documents.field",
        f"{at}[2].documents.documentType",
        f"{at}[2].documents.x",
    }
    rows = await fetch(database_url, "SELECT count(*) AS n FROM workflow.definitions")
    assert rows[0]["n"] == 0


async def test_a_well_formed_selector_is_accepted(client: Client, database_url: str) -> None:
    owner, org, _ = await team(client, database_url)
    await custom_fields(client, owner, org, reference="text")
    action = {
        "kind": "setAccess",
        "grant": {"roles": ["owner"], "access": "view"},
        "documents": {"field": "reference"},
    }
    r = await publish(client, owner, org, definition=two_states([action]))
    assert r.status_code == 201, r.text
