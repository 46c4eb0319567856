"""The document permission rule on every read and write path, and in lists and counts.

Two documents owned by a writer (a member whose role may only upload): ``open`` is an
ordinary document, ``closed`` is restricted and shared with one user (view) and one role
(edit). Each caller below tries each path; what it may not read does not exist for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.content.support import DOCS, add_version, member_with, pdf, role, upload
from tests.integration.content.support import uploaded as uploaded_doc
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import Person, api_key, create_org, join, person

Client = AsyncTestClient[Litestar]


@dataclass
class World:
    org: str
    admin: Person  # the organisation's owner: content.admin
    writer: Person  # content.documents.write only; owns both documents
    reader: Person  # built-in member: content.documents.read
    deleter: Person  # read + delete
    nobody: Person  # a member with no content permission
    shared_user: Person  # nobody's role, plus a view share of `closed`
    reviewer: Person  # nobody's role plus the "reviewers" role, which `closed` is shared with
    outsider: Person  # another organisation
    open: dict[str, Any]
    closed: dict[str, Any]
    reviewers: str


@pytest.fixture
async def world(client: Client, database_url: str) -> World:
    admin = await person(client, database_url, "admin@example.com")
    org = (await create_org(client, admin))["id"]
    await role(client, admin, org, "writers", ["content.documents.write"])
    await role(
        client, admin, org, "deleters", ["content.documents.read", "content.documents.delete"]
    )
    await role(client, admin, org, "plain", ["identity.org.read"])
    reviewers = await role(client, admin, org, "reviewers", ["identity.org.read"])
    writer = await member_with(client, database_url, org, admin, "writer@example.com", ["writers"])
    reader = await join(client, database_url, org, admin, "reader@example.com")
    deleter = await member_with(
        client, database_url, org, admin, "deleter@example.com", ["deleters"]
    )
    nobody = await member_with(client, database_url, org, admin, "nobody@example.com", ["plain"])
    shared_user = await member_with(
        client, database_url, org, admin, "shared@example.com", ["plain"]
    )
    reviewer = await member_with(
        client, database_url, org, admin, "reviewer@example.com", ["plain", "reviewers"]
    )
    outsider = await person(client, database_url, "outsider@example.com")
    await create_org(client, outsider, "Elsewhere")

    open_doc = await uploaded_doc(client, writer, org, pdf(b"open"), tags=["alpha"])
    closed = await uploaded_doc(client, writer, org, pdf(b"closed"), tags=["alpha", "secret"])
    r = await client.put(
        f"{DOCS}/{closed['id']}/permissions",
        json={
            "restricted": True,
            "shares": [
                {"userId": shared_user.user_id, "access": "view"},
                {"roleId": reviewers, "access": "edit"},
            ],
        },
        headers=writer.auth,
    )
    assert r.status_code == 200, r.text
    return World(
        org,
        admin,
        writer,
        reader,
        deleter,
        nobody,
        shared_user,
        reviewer,
        outsider,
        open_doc,
        closed,
        reviewers,
    )


READERS = {
    # caller: (may read open, may read closed)
    "admin": (True, True),
    "writer": (True, True),
    "reader": (True, False),
    "deleter": (True, False),
    "nobody": (False, False),
    "shared_user": (False, True),
    "reviewer": (False, True),
    "outsider": (False, False),
}


async def test_every_read_path_applies_the_same_rule(client: Client, world: World) -> None:
    for name, (open_ok, closed_ok) in READERS.items():
        who: Person = getattr(world, name)
        for doc, ok in ((world.open, open_ok), (world.closed, closed_ok)):
            for path in ("", "/content", "/content?version=1", "/versions", "/permissions"):
                r = await client.get(f"{DOCS}/{doc['id']}{path}", headers=who.auth)
                expected = 200 if ok else 404
                assert r.status_code == expected, (name, doc["title"], path, r.text)
                if not ok:
                    assert r.json()["detail"] == "No such document."


async def test_lists_and_counts_show_only_what_the_caller_may_read(
    client: Client, world: World
) -> None:
    for name, (open_ok, closed_ok) in READERS.items():
        who: Person = getattr(world, name)
        r = await client.get(
            f"{DOCS}?organisationId={world.org}&facets=tags,types", headers=who.auth
        )
        if name == "outsider":
            assert r.status_code == 404
            continue
        assert r.status_code == 200, (name, r.text)
        ids = {d["id"] for d in r.json()["items"]}
        expected = {d["id"] for d, ok in ((world.open, open_ok), (world.closed, closed_ok)) if ok}
        assert ids == expected, name
        counts = {t["name"]: t["count"] for t in r.json()["facets"]["tags"]}
        assert counts == {
            **({"alpha": int(open_ok) + int(closed_ok)} if open_ok or closed_ok else {}),
            **({"secret": 1} if closed_ok else {}),
        }, name
        # filtering by a tag the caller cannot see on any readable document finds nothing
        secret = next(t["id"] for t in world.closed["tags"] if t["name"] == "secret")
        r = await client.get(f"{DOCS}?organisationId={world.org}&tag={secret}", headers=who.auth)
        assert [d["id"] for d in r.json()["items"]] == ([world.closed["id"]] if closed_ok else [])


async def test_writes_follow_the_rule(client: Client, world: World) -> None:
    async def patch(who: Person, doc: dict[str, Any], body: dict[str, Any]) -> int:
        r = await client.patch(f"{DOCS}/{doc['id']}", json=body, headers=who.auth)
        return r.status_code

    # edit: owner, admin, edit share; a reader may look but not touch; view share likewise
    assert await patch(world.writer, world.open, {"title": "by owner"}) == 200
    assert await patch(world.admin, world.closed, {"title": "by admin"}) == 200
    assert await patch(world.reviewer, world.closed, {"title": "by reviewer"}) == 200
    assert await patch(world.reader, world.open, {"title": "no"}) == 403
    assert await patch(world.shared_user, world.closed, {"title": "no"}) == 403
    assert await patch(world.reader, world.closed, {"title": "no"}) == 404
    assert await patch(world.outsider, world.open, {"title": "no"}) == 404
    r = await add_version(client, world.reviewer, world.closed["id"], pdf(b"v2"))
    assert r.status_code == 201
    r = await add_version(client, world.shared_user, world.closed["id"], pdf(b"v3"))
    assert (r.status_code, r.json()["extra"]["permission"]) == (403, "content.documents.write")

    # legal hold: content.admin only, not even the owner
    assert await patch(world.writer, world.open, {"legalHold": True}) == 403
    assert await patch(world.admin, world.open, {"legalHold": True}) == 200
    assert (
        await client.delete(f"{DOCS}/{world.open['id']}", headers=world.admin.auth)
    ).status_code == 409
    assert await patch(world.admin, world.open, {"legalHold": False}) == 200

    # sharing: owner (or content.documents.share); a reader may not
    r = await client.put(
        f"{DOCS}/{world.open['id']}/permissions",
        json={"restricted": False, "shares": []},
        headers=world.reader.auth,
    )
    assert r.status_code == 403
    # deleting: delete permission on unrestricted documents, the owner, the admin
    assert (
        await client.delete(f"{DOCS}/{world.open['id']}", headers=world.reader.auth)
    ).status_code == 403
    assert (
        await client.delete(f"{DOCS}/{world.closed['id']}", headers=world.deleter.auth)
    ).status_code == 404
    assert (
        await client.delete(f"{DOCS}/{world.open['id']}", headers=world.deleter.auth)
    ).status_code == 204
    r = await client.post(f"{DOCS}/{world.open['id']}/restore", headers=world.deleter.auth)
    assert r.status_code == 200
    assert (
        await client.delete(f"{DOCS}/{world.closed['id']}", headers=world.writer.auth)
    ).status_code == 204

    # uploading needs content.documents.write in the organisation
    assert (await upload(client, world.reader, world.org, pdf())).status_code == 403
    assert (await upload(client, world.outsider, world.org, pdf())).status_code == 404


async def test_api_keys_are_held_to_their_scopes(
    client: Client, world: World, database_url: str
) -> None:
    def key_of(created: dict[str, Any]) -> dict[str, str]:
        return {"X-API-Key": created["key"]}

    reading = key_of(await api_key(client, world.reader, ["content.documents.read"]))
    r = await client.get(f"{DOCS}?organisationId={world.org}", headers=reading)
    assert [d["id"] for d in r.json()["items"]] == [world.open["id"]]
    r = await client.patch(f"{DOCS}/{world.open['id']}", json={"title": "x"}, headers=reading)
    assert r.status_code == 403

    # the admin's key without content.admin sees no restricted document
    admin_reading = key_of(await api_key(client, world.admin, ["content.documents.read"]))
    assert (
        await client.get(f"{DOCS}/{world.closed['id']}", headers=admin_reading)
    ).status_code == 404
    assert (
        await client.get(f"{DOCS}/{world.open['id']}", headers=admin_reading)
    ).status_code == 200

    # the owner's upload-only key can upload but not read, even what its owner owns
    uploading = key_of(await api_key(client, world.writer, ["content.documents.write"]))
    assert (await client.get(f"{DOCS}/{world.closed['id']}", headers=uploading)).status_code == 404
    r = await client.get(f"{DOCS}?organisationId={world.org}", headers=uploading)
    assert r.json()["items"] == []
    r = await upload(client, uploading, world.org, pdf(b"by key"))
    assert r.status_code == 201, r.text
    assert r.json()["ownerId"] == world.writer.user_id


async def test_shares_are_checked_and_published(
    client: Client, world: World, database_url: str
) -> None:
    url = f"{DOCS}/{world.open['id']}/permissions"
    for bad in (
        {"userId": world.outsider.user_id, "access": "view"},
        {"roleId": "0190a000-0000-7000-8000-00000000ffff", "access": "view"},
        {"userId": world.reader.user_id, "roleId": world.reviewers, "access": "view"},
        {"access": "view"},
    ):
        r = await client.put(
            url, json={"restricted": True, "shares": [bad]}, headers=world.writer.auth
        )
        assert r.status_code == 422, bad
    r = await client.get(url, headers=world.writer.auth)
    assert r.json() == {"restricted": False, "shares": []}  # nothing changed

    r = await client.put(
        url,
        json={"restricted": True, "shares": [{"userId": world.nobody.user_id, "access": "view"}]},
        headers=world.writer.auth,
    )
    assert r.json() == {
        "restricted": True,
        "shares": [{"userId": world.nobody.user_id, "access": "view"}],
    }
    assert (
        await client.get(f"{DOCS}/{world.open['id']}", headers=world.nobody.auth)
    ).status_code == 200
    assert (
        await client.get(f"{DOCS}/{world.open['id']}", headers=world.reader.auth)
    ).status_code == 404
    rows = await fetch(
        database_url,
        "SELECT payload FROM content.outbox WHERE event_type = 'content.document.shared' "
        "ORDER BY position",
    )
    assert '"restricted": true' in rows[-1]["payload"].replace('":true', '": true')
    assert world.nobody.user_id in rows[-1]["payload"]


async def test_the_permissions_are_in_the_catalogue(client: Client, world: World) -> None:
    r = await client.get(f"{API}/permissions", headers=world.admin.auth)
    keys = (
        {p["key"] for p in r.json()["items"]}
        if "items" in r.json()
        else {p["key"] for p in r.json()}
    )
    assert {
        "content.documents.read",
        "content.documents.write",
        "content.documents.delete",
        "content.documents.share",
        "content.admin",
    } <= keys
