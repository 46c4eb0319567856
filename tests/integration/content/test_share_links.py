"""Share links: made with content.documents.share, the URL shown once and only the
token's SHA-256 stored, downloads without an account (same headers as the document's
content route), version pins, expiry on a moved clock, revocation, the trash, and an
event for every use that never carries the token."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.kernel.clock import MovableClock
from tests.integration.content.support import DOCS, add_version, pdf, role, uploaded
from tests.integration.identity.support import fetch
from tests.integration.identity.support_orgs import Person, create_org, join, person

Client = AsyncTestClient[Litestar]
PUBLIC = "http://127.0.0.1:8000/api/v1/share/"


async def _events(database_url: str, event_type: str) -> list[dict[str, Any]]:
    rows = await fetch(
        database_url,
        "SELECT payload FROM content.outbox WHERE event_type = $1 ORDER BY position",
        event_type,
    )
    return [json.loads(r["payload"]) for r in rows]


def _path(url: str) -> str:
    assert url.startswith(PUBLIC), url
    return "/api/v1/share/" + url.removeprefix(PUBLIC)


def _clock(app: Litestar) -> MovableClock:
    """The running app's share-link service on a clock the test moves."""
    clock = MovableClock(datetime.now(UTC))
    app.state["kernel"].services["share_links"].clock = clock
    return clock


async def _owner(client: Client, database_url: str) -> tuple[Person, str]:
    owner = await person(client, database_url, "owner@example.com")
    return owner, (await create_org(client, owner))["id"]


async def test_link_downloads_without_an_account(client: Client, database_url: str) -> None:
    owner, org = await _owner(client, database_url)
    body = pdf(b"shared bytes " * 100)
    doc = await uploaded(client, owner, org, body, file_name="report.pdf")
    links = f"{DOCS}/{doc['id']}/share-links"

    r = await client.post(links, headers=owner.auth)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["version"] is None
    assert created["useCount"] == 0
    assert created["revokedAt"] is None
    made = datetime.fromisoformat(created["createdAt"])
    assert datetime.fromisoformat(created["expiresAt"]) - made == timedelta(days=7)
    token = created["url"].removeprefix(PUBLIC)
    assert len(token) >= 43

    # the token is not stored in clear: only its SHA-256
    rows = await fetch(database_url, "SELECT * FROM content.share_links")
    assert len(rows) == 1
    assert rows[0]["token_sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps([dict(r) for r in rows], default=str)

    # the URL is shown once: the list never carries it
    listed = (await client.get(links, headers=owner.auth)).json()
    assert [i["id"] for i in listed["items"]] == [created["id"]]
    assert "url" not in listed["items"][0]
    assert token not in json.dumps(listed)

    # no account: byte-exact, with the download headers
    r = await client.get(_path(created["url"]))
    assert r.status_code == 200
    assert r.content == body
    etag = f'"{hashlib.sha256(body).hexdigest()}"'
    assert r.headers["etag"] == etag
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"].endswith("filename*=UTF-8''report.pdf")
    r = await client.get(_path(created["url"]), headers={"Range": "bytes=5-9"})
    assert (r.status_code, r.content) == (206, body[5:10])
    assert r.headers["content-range"] == f"bytes 5-9/{len(body)}"
    r = await client.get(_path(created["url"]), headers={"If-None-Match": etag})
    assert r.status_code == 304

    # every use is an event, with ids only
    used = await _events(database_url, "content.document.share_link_used")
    assert len(used) == 3
    assert {(u["documentId"], u["linkId"], u["version"]) for u in used} == {
        (doc["id"], created["id"], 1)
    }
    outbox = await fetch(database_url, "SELECT payload FROM content.outbox")
    assert all(token not in str(o["payload"]) for o in outbox)
    (made_event,) = await _events(database_url, "content.document.share_link_created")
    assert made_event["linkId"] == created["id"]
    listed = (await client.get(links, headers=owner.auth)).json()
    assert listed["items"][0]["useCount"] == 3
    assert listed["items"][0]["lastUsedAt"] is not None

    # a forged token and a non-token answer the same 404
    assert (await client.get("/api/v1/share/" + "A" * 43)).status_code == 404
    assert (await client.get("/api/v1/share/x")).status_code == 404


async def test_version_pin_and_current(client: Client, database_url: str) -> None:
    owner, org = await _owner(client, database_url)
    doc = await uploaded(client, owner, org, pdf(b"one"))
    links = f"{DOCS}/{doc['id']}/share-links"
    pinned = (await client.post(links, json={"version": 1}, headers=owner.auth)).json()
    current = (await client.post(links, json={}, headers=owner.auth)).json()
    assert pinned["version"] == 1
    r = await add_version(client, owner, doc["id"], pdf(b"two"))
    assert r.status_code == 201, r.text

    assert (await client.get(_path(pinned["url"]))).content == pdf(b"one")
    assert (await client.get(_path(current["url"]))).content == pdf(b"two")
    used = await _events(database_url, "content.document.share_link_used")
    assert [(u["linkId"], u["version"]) for u in used] == [
        (pinned["id"], 1),
        (current["id"], 2),
    ]
    # a version the document does not have
    r = await client.post(links, json={"version": 9}, headers=owner.auth)
    assert r.status_code == 422
    # out of bounds: the body does not match its schema (400, as every body)
    r = await client.post(links, json={"expiresInDays": 0}, headers=owner.auth)
    assert r.status_code == 400
    assert "expiresInDays" in r.text


async def test_expiry_on_the_clock(client: Client, app: Litestar, database_url: str) -> None:
    clock = _clock(app)
    owner, org = await _owner(client, database_url)
    doc = await uploaded(client, owner, org, pdf(b"x"))
    links = f"{DOCS}/{doc['id']}/share-links"
    week = (await client.post(links, headers=owner.auth)).json()
    day = (await client.post(links, json={"expiresInDays": 1}, headers=owner.auth)).json()
    assert datetime.fromisoformat(day["expiresAt"]) == clock() + timedelta(days=1)

    clock.advance(days=1, seconds=-1)
    assert (await client.get(_path(day["url"]))).status_code == 200
    clock.advance(seconds=1)
    assert (await client.get(_path(day["url"]))).status_code == 404
    assert (await client.get(_path(week["url"]))).status_code == 200
    clock.advance(days=6)
    assert (await client.get(_path(week["url"]))).status_code == 404
    assert len(await _events(database_url, "content.document.share_link_used")) == 2


async def test_revoke_and_trash(client: Client, database_url: str) -> None:
    owner, org = await _owner(client, database_url)
    doc = await uploaded(client, owner, org, pdf(b"x"))
    links = f"{DOCS}/{doc['id']}/share-links"
    a = (await client.post(links, headers=owner.auth)).json()
    b = (await client.post(links, headers=owner.auth)).json()

    assert (await client.delete(f"{links}/{a['id']}", headers=owner.auth)).status_code == 204
    assert (await client.get(_path(a["url"]))).status_code == 404
    assert (await client.get(_path(b["url"]))).status_code == 200
    # again: nothing changes, no second event
    assert (await client.delete(f"{links}/{a['id']}", headers=owner.auth)).status_code == 204
    revoked = await _events(database_url, "content.document.share_link_revoked")
    assert [(e["linkId"], e["revokedBy"]) for e in revoked] == [(a["id"], owner.user_id)]
    listed = (await client.get(links, headers=owner.auth)).json()["items"]
    assert [(i["id"], i["revokedAt"] is not None) for i in listed] == [
        (b["id"], False),
        (a["id"], True),
    ]
    unknown = "00000000-0000-7000-8000-000000000000"
    assert (await client.delete(f"{links}/{unknown}", headers=owner.auth)).status_code == 404

    # the trash stops every link; restoring brings the unrevoked one back
    assert (await client.delete(f"{DOCS}/{doc['id']}", headers=owner.auth)).status_code == 204
    assert (await client.get(_path(b["url"]))).status_code == 404
    r = await client.post(links, headers=owner.auth)
    assert (r.status_code, r.json()["code"]) == (409, "document_trashed")
    await client.post(f"{DOCS}/{doc['id']}/restore", headers=owner.auth)
    assert (await client.get(_path(b["url"]))).status_code == 200


async def test_permission_matrix(client: Client, database_url: str) -> None:
    owner, org = await _owner(client, database_url)
    await role(client, owner, org, "sharers", ["content.documents.read", "content.documents.share"])
    sharer = await join(client, database_url, org, owner, "sharer@example.com", ["sharers"])
    reader = await join(client, database_url, org, owner, "reader@example.com")
    outsider = await person(client, database_url, "outsider@example.com")
    await create_org(client, outsider, "Elsewhere")
    doc = await uploaded(client, owner, org, pdf(b"x"))
    links = f"{DOCS}/{doc['id']}/share-links"

    r = await client.post(links, headers=sharer.auth)
    assert r.status_code == 201, r.text
    link = r.json()
    assert link["createdBy"] == sharer.user_id
    for method, url in (
        ("POST", links),
        ("GET", links),
        ("DELETE", f"{links}/{link['id']}"),
    ):
        r = await client.request(method, url, headers=reader.auth)
        assert (r.status_code, r.json()["extra"]["permission"]) == (
            403,
            "content.documents.share",
        ), (method, url)
        r = await client.request(method, url, headers=outsider.auth)
        assert r.status_code == 404, (method, url)
        r = await client.request(method, url)
        assert r.status_code == 401, (method, url)
    assert (await client.get(links, headers=sharer.auth)).status_code == 200
    r = await client.delete(f"{links}/{link['id']}", headers=sharer.auth)
    assert r.status_code == 204
