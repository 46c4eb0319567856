"""Duplicates: the same file flagged at upload (similarity 1.0), near-duplicate texts
found once extracted (MinHash), unrelated documents not listed, and only duplicates the
caller may read listed (the document list's own SQL rule)."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.content.domain.extraction import MIN_SIMILARITY
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.integration.content.support import DOCS, add_version, member_with, role, uploaded
from tests.integration.content.support_extraction import extraction_settings, words
from tests.integration.identity.support_orgs import Person, create_org, join, person

Client = AsyncTestClient[Litestar]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return extraction_settings(settings)


@pytest.fixture
async def owner(client: Client, database_url: str) -> tuple[Person, str]:
    who = await person(client, database_url, "owner@example.com")
    return who, (await create_org(client, who))["id"]


def text_of(ws: list[str]) -> bytes:
    return " ".join(ws).encode()


def changed(ws: list[str], *positions: int) -> list[str]:
    out = list(ws)
    for p in positions:
        out[p] = "different"
    return out


async def duplicates(client: Client, who: Person, document_id: str) -> dict[str, float]:
    r = await client.get(f"{DOCS}/{document_id}", headers=who.auth)
    assert r.status_code == 200, r.text
    return {d["id"]: d["similarity"] for d in r.json()["duplicates"]}


async def test_the_same_file_is_flagged_at_upload(
    client: Client, owner: tuple[Person, str]
) -> None:
    who, org = owner
    first = await uploaded(client, who, org, b"the very same bytes", file_name="a.txt")
    assert first["duplicates"] == []
    second = await uploaded(client, who, org, b"the very same bytes", file_name="copy.txt")
    assert second["duplicates"] == [{"id": first["id"], "similarity": 1.0}]
    assert await duplicates(client, who, first["id"]) == {second["id"]: 1.0}
    other_org = (await create_org(client, who, "Other"))["id"]
    elsewhere = await uploaded(client, who, other_org, b"the very same bytes", file_name="b.txt")
    assert elsewhere["duplicates"] == []  # another organisation's document is not listed
    # the list shows them too
    r = await client.get(DOCS, params={"organisationId": org}, headers=who.auth)
    listed = {d["id"]: d["duplicates"] for d in r.json()["items"]}
    assert listed[first["id"]] == [{"id": second["id"], "similarity": 1.0}]
    # a new version with other bytes is no longer a duplicate; a trashed one is not listed
    r = await add_version(client, who, second["id"], b"now different", file_name="c.txt")
    assert r.status_code == 201, r.text
    assert await duplicates(client, who, first["id"]) == {}
    third = await uploaded(client, who, org, b"the very same bytes", file_name="d.txt")
    assert (await client.delete(f"{DOCS}/{third['id']}", headers=who.auth)).status_code == 204
    assert await duplicates(client, who, first["id"]) == {}


async def test_near_duplicates_are_listed_with_their_similarity(
    client: Client, events: InProcessWorker, owner: tuple[Person, str]
) -> None:
    who, org = owner
    base = words(1)
    original = await uploaded(client, who, org, text_of(base), file_name="contract.txt")
    edited = await uploaded(
        client, who, org, text_of(changed(base, 20, 90, 160)), file_name="contract-v2.txt"
    )
    unrelated = await uploaded(client, who, org, text_of(words(2)), file_name="other.txt")
    await events.drain()
    found = await duplicates(client, who, original["id"])
    assert set(found) == {edited["id"]}
    assert MIN_SIMILARITY <= found[edited["id"]] < 1.0
    assert await duplicates(client, who, edited["id"]) == {original["id"]: found[edited["id"]]}
    assert await duplicates(client, who, unrelated["id"]) == {}
    # a new version with other text drops the pair (and finds none)
    r = await add_version(client, who, edited["id"], text_of(words(3)), file_name="v3.txt")
    assert r.status_code == 201, r.text
    await events.drain()
    assert await duplicates(client, who, original["id"]) == {}


async def test_a_duplicate_the_caller_may_not_read_is_not_listed(
    client: Client, events: InProcessWorker, database_url: str, owner: tuple[Person, str]
) -> None:
    who, org = owner
    await role(client, who, org, "writers", ["content.documents.write"])
    writer = await member_with(client, database_url, org, who, "writer@example.com", ["writers"])
    reader = await join(client, database_url, org, who, "reader@example.com")
    base = words(5)
    public = await uploaded(client, who, org, text_of(base), file_name="public.txt")
    # the writer's own near copy, restricted: only the writer (and admins) may read it
    private = await uploaded(
        client, writer, org, text_of(changed(base, 7, 77)), file_name="private.txt"
    )
    r = await client.put(
        f"{DOCS}/{private['id']}/permissions",
        json={"restricted": True, "shares": []},
        headers=writer.auth,
    )
    assert r.status_code == 200, r.text
    # and an exact copy, restricted too
    same = await uploaded(client, writer, org, text_of(base), file_name="same.txt")
    r = await client.put(
        f"{DOCS}/{same['id']}/permissions",
        json={"restricted": True, "shares": []},
        headers=writer.auth,
    )
    assert r.status_code == 200, r.text
    await events.drain()
    assert set(await duplicates(client, who, public["id"])) == {private["id"], same["id"]}
    assert await duplicates(client, reader, public["id"]) == {}
    r = await client.get(DOCS, params={"organisationId": org}, headers=reader.auth)
    assert [d["duplicates"] for d in r.json()["items"]] == [[]]
