"""``GET /workflow-instances``: instances on documents the caller may not read are left
out in SQL-sized batches, so a page is full whenever more readable instances exist."""

from __future__ import annotations

from tests.integration.content.support import uploaded
from tests.integration.identity.support import API
from tests.integration.workflow.support import INSTANCES, Client, published, started, team


async def test_pages_are_full_despite_unreadable_instances(
    client: Client, database_url: str
) -> None:
    owner, org, people = await team(client, database_url)
    await published(client, owner, org)
    secret = await uploaded(client, owner, org, b"secret", file_name="s.txt", title="Secret")
    r = await client.put(
        f"{API}/documents/{secret['id']}/permissions",
        json={"restricted": True, "shares": []},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    older = [await started(client, owner, org, subject={"reference": f"REF-{n}"}) for n in range(2)]
    for _ in range(3):  # the newest instances: on a document cy may not read
        await started(client, owner, org, subject={"documentId": secret["id"]})
    cy = people["cy"]
    expected = [older[1]["id"], older[0]["id"]]

    r = await client.get(INSTANCES, params={"organisationId": org, "limit": 2}, headers=cy.auth)
    assert r.status_code == 200, r.text
    assert [i["id"] for i in r.json()["items"]] == expected
    assert r.json()["nextCursor"] is None

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(3):
        params: dict[str, str | int] = {"organisationId": org, "limit": 1}
        if cursor is not None:
            params["cursor"] = cursor
        r = await client.get(INSTANCES, params=params, headers=cy.auth)
        assert r.status_code == 200, r.text
        assert len(r.json()["items"]) == 1  # never a short (or empty) page midway
        seen += [i["id"] for i in r.json()["items"]]
        cursor = r.json()["nextCursor"]
        if cursor is None:
            break
    assert seen == expected

    r = await client.get(INSTANCES, params={"organisationId": org, "limit": 10}, headers=owner.auth)
    assert len(r.json()["items"]) == 5  # the owner reads every one
