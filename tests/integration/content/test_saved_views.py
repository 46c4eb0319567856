"""Saved views: a member's named document queries, personal or shared, run with the
reader's own permissions; checked when saved, never widened when what they name goes."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.content.handlers import on_member_removed
from hub.identity.api import MemberRemoved
from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from tests.integration.communication.support_periodic import periodic_kernel
from tests.integration.content.support import (
    DOCS,
    custom_fields,
    document_type,
    pdf,
    role,
    uploaded,
)
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import Person, create_org, invite, join, person

Client = AsyncTestClient[Litestar]


def _views(org: str) -> str:
    return f"{API}/orgs/{org}/saved-views"


async def _tag(client: Client, owner: Person, org: str, name: str) -> str:
    r = await client.post(f"{API}/orgs/{org}/tags", json={"name": name}, headers=owner.auth)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _save(client: Any, who: Person, org: str, **body: Any) -> dict[str, Any]:
    r = await client.post(_views(org), json=body, headers=who.auth)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _titles(client: Client, who: Person, org: str, view_id: str, query: str = "") -> Any:
    r = await client.get(f"{_views(org)}/{view_id}/documents{query}", headers=who.auth)
    assert r.status_code == 200, r.text
    return [d["title"] for d in r.json()["items"]]


async def _count(database_url: str) -> int:
    (row,) = await fetch(database_url, "SELECT count(*) AS n FROM content.saved_views")
    return int(row["n"])


async def _org_with_reader(client: Any, database_url: str) -> tuple[Person, Person, str]:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    await role(client, owner, org, "readers", ["content.documents.read"])
    reader = await join(client, database_url, org, owner, "reader@example.com", ["readers"])
    return owner, reader, org


async def test_a_view_keeps_the_lists_filters_and_runs_them(
    client: Client, database_url: str
) -> None:
    owner, _, org = await _org_with_reader(client, database_url)
    invoices = await _tag(client, owner, org, "Invoices")
    urgent = await _tag(client, owner, org, "Urgent")
    kind = await document_type(client, owner, org)
    await custom_fields(client, owner, org, amount="integer")
    for title, tags, amount in (
        ("small", ["Invoices", "Urgent"], 50),
        ("big", ["Invoices", "Urgent"], 500),
        ("calm", ["Invoices"], 900),
    ):
        await uploaded(
            client,
            owner,
            org,
            pdf(title.encode()),
            title=title,
            tags=tags,
            document_type_id=kind,
            custom_fields=json.dumps({"amount": amount}),
        )
    await uploaded(client, owner, org, pdf(b"other"), title="untyped", tags=["Invoices"])
    view = await _save(
        client,
        owner,
        org,
        name="  Urgent invoices ",
        filters={
            "tags": [urgent, urgent],
            "tagTrees": [invoices],
            "documentTypeId": kind,
            "fields": ["amount:gte:100"],
        },
        sort="title",
        showInSidebar=True,
    )
    assert view["name"] == "Urgent invoices"
    assert view["filters"]["tags"] == [urgent]  # folded
    assert (view["ownerId"], view["shared"], view["showInSidebar"]) == (
        owner.user_id,
        False,
        True,
    )
    assert view["sort"] == "title"
    assert await _titles(client, owner, org, view["id"]) == ["big"]
    # the same answer as the list with the same filters
    r = await client.get(
        f"{DOCS}?organisationId={org}&tag={urgent}&tagTree={invoices}&documentTypeId={kind}"
        "&field=amount:gte:100&sort=title",
        headers=owner.auth,
    )
    assert [d["title"] for d in r.json()["items"]] == ["big"]
    # facets and pages work as on the list
    wide = await _save(client, owner, org, name="All invoices", filters={"tags": [invoices]})
    r = await client.get(
        f"{_views(org)}/{wide['id']}/documents?limit=2&facets=tags,types", headers=owner.auth
    )
    body = r.json()
    assert len(body["items"]) == 2
    assert body["nextCursor"]
    assert {f["name"]: f["count"] for f in body["facets"]["tags"]} == {
        "Invoices": 4,
        "Urgent": 2,
    }
    r = await client.get(
        f"{_views(org)}/{wide['id']}/documents?limit=2&cursor={body['nextCursor']}",
        headers=owner.auth,
    )
    assert len(r.json()["items"]) == 2
    r = await client.get(_views(org), headers=owner.auth)
    assert [v["name"] for v in r.json()["items"]] == ["Urgent invoices", "All invoices"]
    events = await fetch(
        database_url,
        "SELECT event_type, payload FROM content.outbox"
        " WHERE event_type LIKE 'content.saved_view.%' ORDER BY position",
    )
    assert [e["event_type"] for e in events] == ["content.saved_view.created"] * 2
    assert json.loads(events[0]["payload"])["name"] == "Urgent invoices"


async def test_personal_views_are_private_and_shared_ones_never_show_more_than_the_reader_may(
    client: Client, database_url: str
) -> None:
    owner, reader, org = await _org_with_reader(client, database_url)
    await uploaded(client, owner, org, pdf(b"1"), title="open")
    hidden = await uploaded(client, owner, org, pdf(b"2"), title="hidden")
    r = await client.put(
        f"{DOCS}/{hidden['id']}/permissions",
        json={"restricted": True, "shares": []},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    private = await _save(client, owner, org, name="Mine")
    team = await _save(client, owner, org, name="Everything", shared=True)

    # The reader sees the shared view only, and through it only what they may read.
    r = await client.get(_views(org), headers=reader.auth)
    assert [v["name"] for v in r.json()["items"]] == ["Everything"]
    assert sorted(await _titles(client, owner, org, team["id"])) == ["hidden", "open"]
    assert await _titles(client, reader, org, team["id"]) == ["open"]
    for method, suffix in (("GET", ""), ("GET", "/documents"), ("PATCH", ""), ("DELETE", "")):
        r = await client.request(
            method,
            f"{_views(org)}/{private['id']}{suffix}",
            json={"name": "x"} if method == "PATCH" else None,
            headers=reader.auth,
        )
        assert r.status_code == 404, (method, suffix, r.text)
    # Seen but not theirs: 403, nothing changes.
    r = await client.patch(
        f"{_views(org)}/{team['id']}", json={"name": "Mine now"}, headers=reader.auth
    )
    assert (r.status_code, r.json()["code"]) == (403, "not_view_owner")
    r = await client.delete(f"{_views(org)}/{team['id']}", headers=reader.auth)
    assert r.status_code == 403
    # Sharing needs content.taxonomy.manage, whether at creation or later.
    r = await client.post(_views(org), json={"name": "Ours", "shared": True}, headers=reader.auth)
    assert (r.status_code, r.json()["code"]) == (403, "share_view_forbidden")
    own = await _save(client, reader, org, name="Reader's")
    r = await client.patch(f"{_views(org)}/{own['id']}", json={"shared": True}, headers=reader.auth)
    assert r.status_code == 403
    r = await client.get(f"{_views(org)}/{own['id']}", headers=reader.auth)
    assert (r.json()["name"], r.json()["shared"]) == ("Reader's", False)
    # An organisation's curator changes a shared view someone else made.
    await role(
        client, owner, org, "curators", ["content.documents.read", "content.taxonomy.manage"]
    )
    curator = await join(client, database_url, org, owner, "curator@example.com", ["curators"])
    r = await client.patch(
        f"{_views(org)}/{team['id']}", json={"name": "All documents"}, headers=curator.auth
    )
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["ownerId"]) == ("All documents", owner.user_id)
    # Outside the organisation every route is a 404.
    stranger = await person(client, database_url, "stranger@example.com")
    r = await client.get(f"{_views(org)}/{team['id']}/documents", headers=stranger.auth)
    assert r.status_code == 404
    r = await client.get(_views(org), headers=stranger.auth)
    assert r.status_code == 404


async def test_bad_filters_are_refused_naming_the_field_and_store_nothing(
    client: Client, database_url: str
) -> None:
    owner, _, org = await _org_with_reader(client, database_url)
    elsewhere = (await create_org(client, owner, "Elsewhere"))["id"]
    foreign_tag = await _tag(client, owner, elsewhere, "Theirs")
    foreign_type = await document_type(client, owner, elsewhere)
    await custom_fields(client, owner, org, amount="integer", note="string")
    base = _views(org)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"tags": [foreign_tag]}, 422, "filters.tags"),
        ({"tagTrees": [str(uuid.uuid4())]}, 422, "filters.tagTrees"),
        ({"documentTypeId": foreign_type}, 422, "filters.documentTypeId"),
        ({"fields": ["missing:eq:1"]}, 422, "filters.fields"),
        ({"fields": ["note:gt:1"]}, 422, "filters.fields"),  # strings are not ordered
        ({"fields": ["amount:eq:many"]}, 422, "filters.fields"),
        (
            {"createdFrom": "2026-02-01T00:00:00Z", "createdTo": "2026-01-01T00:00:00Z"},
            422,
            "filters.createdTo",
        ),
    ]
    for filters, status, field in cases:
        r = await client.post(base, json={"name": "v", "filters": filters}, headers=owner.auth)
        assert r.status_code == status, (filters, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in r.json()["errors"]] == [field], r.json()
    # Off the documented shapes: refused before anything is looked up.
    for body in (
        {"name": "v", "filters": {"fields": ["amount gte 1"]}},
        {"name": "v", "filters": {"tags": [str(uuid.uuid4()) for _ in range(11)]}},
        {"name": "v", "filters": {"createdWithinDays": 0}},
        {"name": "v", "filters": {"createdFrom": "2026-01-01T00:00:00"}},  # no offset
        {"name": "v", "sort": "size"},
        {"name": ""},
        {"name": "bad\x00name"},
        {"name": "x" * 300},
    ):
        r = await client.post(base, json=body, headers=owner.auth)
        assert r.status_code in (400, 422), (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    # A patch with a bad filter leaves the view as it was.
    view = await _save(client, owner, org, name="Kept", filters={"fields": ["amount:gt:5"]})
    r = await client.patch(
        f"{base}/{view['id']}", json={"filters": {"tags": [foreign_tag]}}, headers=owner.auth
    )
    assert r.status_code == 422
    r = await client.get(f"{base}/{view['id']}", headers=owner.auth)
    assert r.json()["filters"]["fields"] == ["amount:gt:5"]
    assert await _count(database_url) == 1


async def test_what_a_view_names_going_away_narrows_it_to_nothing(
    client: Client, database_url: str
) -> None:
    owner, _, org = await _org_with_reader(client, database_url)
    tag = await _tag(client, owner, org, "Projects")
    await custom_fields(client, owner, org, amount="integer")
    await uploaded(
        client,
        owner,
        org,
        pdf(b"p"),
        title="plan",
        tags=["Projects"],
        custom_fields=json.dumps({"amount": 3}),
    )
    await uploaded(client, owner, org, pdf(b"q"), title="other")
    by_tag = await _save(client, owner, org, name="Projects", filters={"tagTrees": [tag]})
    by_field = await _save(client, owner, org, name="Amounts", filters={"fields": ["amount:eq:3"]})
    assert await _titles(client, owner, org, by_tag["id"]) == ["plan"]
    assert await _titles(client, owner, org, by_field["id"]) == ["plan"]
    r = await client.delete(f"{API}/orgs/{org}/tags/{tag}", headers=owner.auth)
    assert r.status_code == 204
    fields = await client.get(f"{API}/orgs/{org}/custom-fields", headers=owner.auth)
    (field,) = fields.json()["items"]
    r = await client.delete(f"{API}/orgs/{org}/custom-fields/{field['id']}", headers=owner.auth)
    assert r.status_code == 204
    # Not "every document": the conditions still stand and match nothing.
    assert await _titles(client, owner, org, by_tag["id"]) == []
    r = await client.get(
        f"{_views(org)}/{by_field['id']}/documents?facets=tags", headers=owner.auth
    )
    assert (r.json()["items"], r.json()["facets"]) == ([], {"tags": []})


async def test_created_within_days_is_read_on_the_clock_each_time_the_view_runs(
    app: Litestar, client: Client, database_url: str
) -> None:
    clock = MovableClock(datetime(2027, 3, 1, 9, tzinfo=UTC))
    app.state.kernel.clock = clock
    owner, _, org = await _org_with_reader(client, database_url)
    await uploaded(client, owner, org, pdf(b"a"), title="older")
    clock.advance(days=10)
    await uploaded(client, owner, org, pdf(b"b"), title="newer")
    view = await _save(client, owner, org, name="This week", filters={"createdWithinDays": 7})
    assert await _titles(client, owner, org, view["id"]) == ["newer"]
    clock.advance(days=8)
    assert await _titles(client, owner, org, view["id"]) == []
    # with an absolute bound too, the later of the two applies
    r = await client.patch(
        f"{_views(org)}/{view['id']}",
        json={"filters": {"createdWithinDays": 30, "createdFrom": "2027-03-05T00:00:00Z"}},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    assert await _titles(client, owner, org, view["id"]) == ["newer"]


async def test_patches_publish_what_changed_and_deletion_is_final(
    client: Client, database_url: str
) -> None:
    owner, _, org = await _org_with_reader(client, database_url)
    view = await _save(client, owner, org, name="Inbox")
    url = f"{_views(org)}/{view['id']}"
    r = await client.patch(url, json={"name": "Inbox", "sort": "created"}, headers=owner.auth)
    assert r.status_code == 200
    assert r.json()["updatedAt"] == view["updatedAt"]
    r = await client.patch(
        url, json={"sort": "updated", "showOnDashboard": True}, headers=owner.auth
    )
    assert (r.json()["sort"], r.json()["showOnDashboard"]) == ("updated", True)
    r = await client.delete(url, headers=owner.auth)
    assert r.status_code == 204
    assert (await client.get(url, headers=owner.auth)).status_code == 404
    assert (await client.delete(url, headers=owner.auth)).status_code == 404
    events = await fetch(
        database_url,
        "SELECT event_type, payload FROM content.outbox"
        " WHERE event_type LIKE 'content.saved_view.%' ORDER BY position",
    )
    assert [e["event_type"] for e in events] == [
        "content.saved_view.created",
        "content.saved_view.updated",
        "content.saved_view.deleted",
    ]
    assert json.loads(events[1]["payload"])["changed"] == ["sort", "showOnDashboard"]


async def test_a_member_keeps_at_most_a_hundred_views_even_when_saving_at_once(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    # A real server: the in-process test client handles one request at a time.
    client = live_client
    owner, reader, org = await _org_with_reader(client, database_url)
    await fetch(
        database_url,
        "INSERT INTO content.saved_views (id, organisation_id, owner_id, name, filters, sort,"
        " created_at, updated_at) SELECT gen_random_uuid(), $1::uuid, $2::uuid, 'v' || i,"
        " '{}'::jsonb, 'created', now(), now() FROM generate_series(1, 97) AS i",
        org,
        owner.user_id,
    )
    answers = await asyncio.gather(
        *(client.post(_views(org), json={"name": f"new {i}"}, headers=owner.auth) for i in range(5))
    )
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [201, 201, 201, 409, 409], [r.text for r in answers]
    assert {r.json()["code"] for r in answers if r.status_code == 409} == {"too_many_saved_views"}
    assert await _count(database_url) == 100
    # another member's allowance is their own
    await _save(client, reader, org, name="Reader's")


async def test_someone_removed_loses_their_personal_views_there_and_shared_ones_stay(
    client: Client, database_url: str, events: Any
) -> None:
    owner, reader, org = await _org_with_reader(client, database_url)
    await role(
        client, owner, org, "curators", ["content.documents.read", "content.taxonomy.manage"]
    )
    curator = await join(client, database_url, org, owner, "curator@example.com", ["curators"])
    elsewhere = (await create_org(client, owner, "Elsewhere"))["id"]
    token = await invite(client, database_url, elsewhere, owner, "curator@example.com")
    r = await client.post(f"{API}/invitations/{token}/accept", headers=curator.auth)
    assert r.status_code == 200, r.text
    mine = await _save(client, curator, org, name="Mine")
    team = await _save(client, curator, org, name="Team", shared=True)
    kept_elsewhere = await _save(client, curator, elsewhere, name="Mine elsewhere")
    readers = await _save(client, reader, org, name="Reader's")

    r = await client.delete(f"{API}/orgs/{org}/members/{curator.user_id}", headers=owner.auth)
    assert r.status_code == 204, r.text
    await events.drain()

    rows = await fetch(database_url, "SELECT id FROM content.saved_views")
    assert {str(r["id"]) for r in rows} == {team["id"], kept_elsewhere["id"], readers["id"]}
    r = await client.get(f"{_views(org)}/{team['id']}", headers=reader.auth)
    assert (r.json()["name"], r.json()["ownerId"]) == ("Team", curator.user_id)
    deleted = await fetch(
        database_url,
        "SELECT payload FROM content.outbox WHERE event_type = 'content.saved_view.deleted'",
    )
    assert [
        (p["id"], p["organisationId"], p["actorId"])
        for p in (json.loads(d["payload"]) for d in deleted)
    ] == [(mine["id"], org, owner.user_id)]


async def test_a_removal_handled_once_the_person_is_back_keeps_their_views(
    client: Client, settings: Settings, database_url: str
) -> None:
    """No worker here: the removal's event is handled by hand, after the person was
    invited back (as a busy worker could handle it)."""
    owner, reader, org = await _org_with_reader(client, database_url)
    view = await _save(client, reader, org, name="Mine")
    r = await client.delete(f"{API}/orgs/{org}/members/{reader.user_id}", headers=owner.auth)
    assert r.status_code == 204, r.text
    token = await invite(client, database_url, org, owner, "reader@example.com", ["readers"])
    r = await client.post(f"{API}/invitations/{token}/accept", headers=reader.auth)
    assert r.status_code == 200, r.text

    removed = MemberRemoved(
        organisation_id=uuid.UUID(org), user_id=uuid.UUID(reader.user_id), reason="removed"
    )
    async with periodic_kernel(settings, MovableClock(datetime.now(UTC))) as kernel:
        views = kernel.services["saved_views"]
        async with views.store.uow() as uow:
            await on_member_removed(
                removed, uow, saved_views=views, identity_api=kernel.services["identity_api"]
            )
            await uow.commit()
    r = await client.get(f"{_views(org)}/{view['id']}", headers=reader.auth)
    assert r.status_code == 200, r.text
